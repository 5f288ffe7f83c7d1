"""``uet templates list [--repo DIR] [--json]``: the phase and verification templates a repository can use.

Lists DIR/templates/phase_templates/*.template.yaml, DIR/templates/verification_templates/*.template.yaml
and the built-in templates (a repository's template replaces a built-in one of the same name), each with
its source, description and parameters (``name`` required, ``name=default`` optional). ``--json`` prints
``{"phase_templates": [...], "verification_templates": [...]}``, each item ``{"source": …, "template": {…}}``
with the template as its contract record. A template file that does not validate is reported as
PATH:LINE:COL: JSON-PATH: message and makes the exit code 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import uet_contracts
from uet_engine.cli import Subparsers, add_command, print_table
from uet_engine.errors import TemplateError
from uet_engine.patterns.templates import Found, Kind, TemplateLibrary, Value


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "templates", "list the phase and verification templates", __doc__)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="every template, its source and its parameters")
    listing.add_argument("--repo", default=".", type=Path, help="the repository whose templates to list (default: .)")
    listing.add_argument("--json", action="store_true", help="print the templates as contract records")
    parser.set_defaults(handler=run)


def _text(value: Value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _parameters(found: Found) -> str:
    declared = found.template.parameters or {}
    return " ".join(name if p.default is None else f"{name}={_text(p.default)}" for name, p in sorted(declared.items()))


def run(args: argparse.Namespace) -> int:
    library = TemplateLibrary(args.repo)
    document: dict[str, list[dict[str, Any]]] = {"phase_templates": [], "verification_templates": []}
    rows: list[list[str]] = []
    broken: list[TemplateError] = []
    kinds: tuple[Kind, ...] = ("phase", "verification")
    for kind in kinds:
        for found in library.all(kind):
            if isinstance(found, TemplateError):
                broken.append(found)
                continue
            template = found.template
            document[f"{kind}_templates"].append({"source": found.source, "template": uet_contracts.to_dict(template)})
            rows.append([template.template_id, kind, found.source, template.description, _parameters(found)])
    for error in broken:
        sys.stderr.write("".join(problem.format() + "\n" for problem in error.problems))
        print(f"uet templates list: {error}", file=sys.stderr)
    if args.json:
        print(json.dumps(document, indent=2, ensure_ascii=False))
    else:
        print_table(["TEMPLATE", "KIND", "SOURCE", "DESCRIPTION", "PARAMETERS"], rows)
    return 1 if broken else 0
