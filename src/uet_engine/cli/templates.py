"""``uet templates list``: the phase and verification templates a repository can use (``patterns.templates``).

What the command does for a user is its ``HELP`` text.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import uet_contracts
from uet_engine.cli import Subparsers, add_action, add_group, print_table
from uet_engine.cli.output import add_json_option, emit, problem_json
from uet_engine.errors import TemplateError
from uet_engine.patterns.templates import Found, Kind, TemplateLibrary, Value

HELP = """\
Show the templates new phase specs and acceptance checks can be written from: "uet new phase --template
NAME" fills in a phase template, and an acceptance check written "verify: NAME" a verification template.
"""

LIST_HELP = """\
Print every template a repository can use: those in DIR/templates/phase_templates/ and
DIR/templates/verification_templates/ (files named NAME.template.yaml) and the built-in ones (a
repository's template replaces a built-in one of the same name), each with its kind, where it comes
from, what it is for and its parameters ("name" required, "name=default" optional). A template file that
does not validate is reported as PATH:LINE:COL: JSON-PATH: message and makes the exit status 1. --json
prints {"phase_templates": [...], "verification_templates": [...], "problems": [...]}: each template as
{"source", "template"} with the template as its contract record, and the problems of the files that do
not validate.
"""


def register(subparsers: Subparsers) -> None:
    actions = add_group(subparsers, "templates", "list the phase and verification templates", HELP)
    listing = add_action(actions, "list", "every template, its source and its parameters", LIST_HELP)
    listing.add_argument(
        "--repo", metavar="DIR", default=".", type=Path, help="the repository whose templates to list (default: .)"
    )
    add_json_option(listing, "the templates and the problems")
    listing.set_defaults(handler=run)


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
        emit({**document, "problems": [problem_json(p) for error in broken for p in error.problems]})
    else:
        print_table(["TEMPLATE", "KIND", "SOURCE", "DESCRIPTION", "PARAMETERS"], rows)
    return 1 if broken else 0
