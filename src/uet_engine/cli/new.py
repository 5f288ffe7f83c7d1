"""``uet new phase``: a new phase spec from a phase template (``patterns.templates.instantiate``).

What the command does for a user is its ``HELP`` texts.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

import uet_contracts
from uet_engine.cli import Subparsers, add_action, add_group
from uet_engine.patterns.templates import TemplateLibrary, instantiate
from uet_engine.saving.atomic import write_atomic

HELP = """\
Write a new contract file from a template. "uet new phase" writes a phase spec from a phase template.
"""

PHASE_HELP = """\
Write a new phase spec from a phase template: one of DIR/templates/phase_templates/NAME.template.yaml or
a built-in one ("uet templates list" shows them). Each --set gives one of the template's parameters;
PHASE_ID is short for --set phase_id=PHASE_ID. Values are read as the parameter's type (42, 1.5, true or
false); parameters with a default may be left out. The spec goes to FILE (YAML, or JSON for a .json
name), written atomically, or to stdout; an existing FILE is replaced only with --force. The spec names
its template and pattern (template_id, pattern_id), so the execution logs of its runs name the pattern.

Exit status: 0 written; 1 a missing, unknown or ill-typed parameter, or a spec that does not validate
(each problem on its own line; nothing written); 2 a usage error (an unknown template, a malformed --set,
an existing FILE).
"""


def register(subparsers: Subparsers) -> None:
    kinds = add_group(subparsers, "new", "write a new phase spec from a template", HELP)
    phase = add_action(kinds, "phase", "a phase spec, from a phase template", PHASE_HELP)
    phase.add_argument("phase_id", metavar="PHASE_ID", nargs="?", help="the new phase's id (= --set phase_id=...)")
    phase.add_argument("--template", metavar="NAME", help="the phase template to fill in (see: uet templates list)")
    phase.add_argument(
        "--set", metavar="KEY=VALUE", action="append", default=[], dest="values", help="a parameter (repeatable)"
    )
    phase.add_argument("-o", "--output", metavar="FILE", help="write the spec to FILE instead of stdout")
    phase.add_argument("--force", action="store_true", help="replace FILE when it exists")
    phase.add_argument(
        "--repo", metavar="DIR", default=".", type=Path, help="the repository whose templates to use (default: .)"
    )
    phase.set_defaults(handler=run)


def _usage(message: str) -> int:
    print(f"uet new phase: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    if args.template is None:
        return _usage("--template NAME is needed (see: uet templates list)")
    values: dict[str, str] = {}
    for item in args.values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            return _usage(f"--set {item!r}: write KEY=VALUE")
        if key in values:
            return _usage(f"--set {key}: given twice")
        values[key] = value
    if args.phase_id is not None:
        if "phase_id" in values and values["phase_id"] != args.phase_id:
            return _usage(f"PHASE_ID {args.phase_id} and --set phase_id={values['phase_id']} disagree")
        values["phase_id"] = args.phase_id
    output = Path(args.output) if args.output else None
    if output is not None and output.exists() and not args.force:
        return _usage(f"{output} exists; pass --force to replace it")
    library = TemplateLibrary(args.repo)
    names = library.names("phase")
    if args.template not in names:
        return _usage(f"no phase template {args.template!r} (known: {', '.join(names) or 'none'})")
    found = library.get("phase", args.template)
    spec = instantiate(found, values, label=str(output or "<stdout>"))
    data = uet_contracts.to_dict(spec)
    if output is not None and output.suffix == ".json":
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    else:
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)
    if output is None:
        sys.stdout.write(text)
        return 0
    try:
        write_atomic(output, text)
    except OSError as exc:
        return _usage(f"cannot write {output}: {exc.strerror or exc}")
    print(f"uet new phase: wrote {output} from template {args.template} ({found.source})", file=sys.stderr)
    return 0
