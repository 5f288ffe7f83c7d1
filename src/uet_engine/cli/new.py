"""``uet new phase``: a new phase spec, a commented skeleton (``planning.scaffold.phase_skeleton``) or one
from a phase template (``patterns.templates.instantiate``).

What the command does for a user is its ``HELP`` texts.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import yaml

import uet_contracts
from uet_contracts import PhaseSpec
from uet_engine.cli import Subparsers, add_action, add_group
from uet_engine.errors import NewPhaseRefused
from uet_engine.patterns.templates import TemplateLibrary, instantiate
from uet_engine.planning import scaffold
from uet_engine.saving.atomic import write_atomic

HELP = """\
Write a new contract file. "uet new phase" writes a phase spec: a commented skeleton to fill in, or one
from a phase template.
"""

PHASE_HELP = f"""\
Write a new phase spec.

Without --template: a commented skeleton for PHASE_ID, carried out by the workstream --workstream, that
validates, plans and runs as it is. Its one step writes {scaffold.NOTES_DIR}/PHASE_ID.md (the one file its
file_scope lets it create) and its check reads the note back; replace the title, objective, file_scope,
steps and acceptance with the phase's real work. Each --depends-on names a phase that must succeed first.
When FILE's folder already holds phase specs, the new spec must fit the set "uet plan" reads there: its
phase id and workstream id must be new to it, and each --depends-on must be one of its phases
(--allow-unknown writes one that is not, for a phase still to be written).

With --template NAME: the spec a phase template writes, one of DIR/templates/phase_templates/NAME.template.yaml
or a built-in one ("uet templates list" shows them). Each --set gives one of the template's parameters;
PHASE_ID, --workstream and --title are short for --set phase_id=, --set workstream_id= and --set title=
(a template without such a parameter refuses it). Values are read as the parameter's type (42, 1.5, true
or false); parameters with a default may be left out. --depends-on and --allow-unknown do not go with
--template. The spec names its template and pattern (template_id, pattern_id), so the execution logs of
its runs name the pattern.

The spec goes to FILE (YAML, or JSON for a .json name), written atomically (its folder is created when
missing), or to stdout; an existing FILE is replaced only with --force.

Exit status: 0 written; 1 a missing, unknown or ill-typed template parameter, or a spec that does not
validate (each problem on its own line; nothing written); 2 a usage error (an id that is not valid or
already used, an unknown --depends-on, an unknown template, a malformed --set, an existing FILE; nothing
written).
"""


def register(subparsers: Subparsers) -> None:
    kinds = add_group(subparsers, "new", "write a new phase spec (a skeleton, or from a template)", HELP)
    phase = add_action(kinds, "phase", "a phase spec: a skeleton to fill in, or from a phase template", PHASE_HELP)
    phase.add_argument("phase_id", metavar="PHASE_ID", nargs="?", help="the new phase's id, e.g. PH-10")
    phase.add_argument("--workstream", metavar="WS_ID", help="the workstream that carries it out, e.g. ws-parser")
    phase.add_argument(
        "--depends-on",
        metavar="PH_ID",
        action="append",
        default=[],
        help="a phase that must succeed first (repeatable)",
    )
    phase.add_argument("--title", metavar="TEXT", help="a short title for the phase")
    phase.add_argument(
        "--allow-unknown", action="store_true", help="accept a --depends-on that no spec in FILE's folder defines"
    )
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


def _write(output: Path | None, text: str, done: str) -> int:
    """``text`` to stdout, or atomically to ``output`` (then ``done`` is said on stderr); missing folders of
    ``output`` are created, and removed again when the write fails."""
    if output is None:
        sys.stdout.write(text)
        return 0
    missing = [folder for folder in output.parents if not folder.exists()]
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(output, text)
    except OSError as exc:
        with contextlib.suppress(OSError):
            for folder in missing:  # innermost first
                folder.rmdir()
        return _usage(f"cannot write {output}: {exc.strerror or exc}")
    print(f"uet new phase: wrote {output} {done}", file=sys.stderr)
    return 0


def _as_text(output: Path | None, data: dict[str, Any]) -> str:
    """A spec's text for ``output``: JSON for a .json name, YAML otherwise."""
    if output is not None and output.suffix == ".json":
        return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=120)


def _output(args: argparse.Namespace) -> Path | None:
    output = Path(args.output) if args.output else None
    if output is not None and output.exists() and not args.force:
        raise NewPhaseRefused(f"{output} exists; pass --force to replace it")
    return output


def run(args: argparse.Namespace) -> int:
    if args.template is None:
        return _skeleton(args)
    if args.depends_on or args.allow_unknown:
        option = "--depends-on" if args.depends_on else "--allow-unknown"
        return _usage(f"{option} does not go with --template (write depends_on into the spec it writes)")
    values: dict[str, str] = {}
    for item in args.values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            return _usage(f"--set {item!r}: write KEY=VALUE")
        if key in values:
            return _usage(f"--set {key}: given twice")
        values[key] = value
    for option, key, given in (
        ("PHASE_ID", "phase_id", args.phase_id),
        ("--workstream", "workstream_id", args.workstream),
        ("--title", "title", args.title),
    ):
        if given is None:
            continue
        if key in values and values[key] != given:
            return _usage(f"{option} {given} and --set {key}={values[key]} disagree")
        values[key] = given
    output = _output(args)
    library = TemplateLibrary(args.repo)
    names = library.names("phase")
    if args.template not in names:
        return _usage(f"no phase template {args.template!r} (known: {', '.join(names) or 'none'})")
    found = library.get("phase", args.template)
    spec = instantiate(found, values, label=str(output or "<stdout>"))
    text = _as_text(output, uet_contracts.to_dict(spec))
    return _write(output, text, f"from template {args.template} ({found.source})")


def _skeleton(args: argparse.Namespace) -> int:
    """The template-less form: a commented skeleton, checked against the folder it goes into."""
    if args.phase_id is None:
        return _usage("PHASE_ID is needed (or --template NAME; see: uet templates list)")
    if args.workstream is None:
        return _usage("--workstream WS_ID is needed, e.g. --workstream ws-parser (or --template NAME)")
    if args.values:
        return _usage("--set goes with --template only")
    output = _output(args)
    folder = output.parent if output is not None else None
    specs = folder.as_posix() if folder is not None else scaffold.SPECS_DIR
    text = scaffold.phase_skeleton(args.phase_id, args.workstream, args.depends_on, args.title, specs=specs)
    if folder is not None:
        scaffold.check_folder(
            folder, args.phase_id, args.workstream, args.depends_on, replacing=output, allow_unknown=args.allow_unknown
        )
    spec = uet_contracts.loads(text, PhaseSpec, "yaml", file=str(output or "<stdout>"))  # the skeleton is valid
    if output is not None and output.suffix == ".json":
        text = _as_text(output, uet_contracts.to_dict(spec))
    return _write(output, text, f"(a skeleton for {args.phase_id}: replace its parts marked 'replace')")
