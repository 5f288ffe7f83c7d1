"""``uet plan``: phase specs to a DagSnapshot, a diagram, or a check of a committed snapshot.

What the command does for a user is its ``HELP`` text below; the work is in ``uet_engine.planning``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import uet_contracts
from uet_contracts import ContractError, DagSnapshot, Problem
from uet_engine.cli import Subparsers, add_command, print_plan_problems, sorted_problems
from uet_engine.cli.options import add_planning_options, load_for
from uet_engine.cli.output import add_json_option, emit, problem_json, status
from uet_engine.errors import PlanError
from uet_engine.patterns import advice
from uet_engine.patterns.templates import TemplateLibrary
from uet_engine.planning.phase_set import PhaseSet
from uet_engine.planning.snapshot import build_snapshot, compare_snapshots
from uet_engine.planning.views import to_dot, to_mermaid
from uet_engine.saving.atomic import write_atomic

FORMATS = ("json", "mermaid", "dot")

HELP = """\
Load and check every phase spec under SPECS_DIR as a set: unique phase and workstream ids, known
dependencies, no cycle (each one named in full), and no two phases that may run at the same time
writing the same path. Then print the DAG snapshot as JSON (or, with --format, the DAG as a Mermaid or
Graphviz DOT diagram with the critical path highlighted), or write it to FILE with -o.

--check FILE compares a committed snapshot with the specs instead (ignoring when it was generated) and
names every difference, so CI can fail when someone forgets to regenerate it.

--assume-done PH-... declares a phase outside the set done: it satisfies the external_depends_on that
name it. Steps may name the built-in tool profiles and those of --config FILE (default: uet.config.yaml
in the current folder, when there is one). Acceptance checks written "verify: NAME" are filled in from
the verification templates of --repo DIR ("uet templates list" shows them), and a step or check that
matches an anti-pattern mined there ("uet patterns mine") is a warning naming it and what to do instead.

Problems and warnings go to stderr as PATH:LINE:COL: JSON-PATH: message; stdout carries only the output.
With --json, stdout holds one JSON document instead: "status", "problems", "warnings", and the
"snapshot" (or "output", or the "differences" of --check). On failure nothing is written.

Exit status: 0 planned (or up to date), 1 problems in the set (or a stale snapshot), 2 a usage error or
input that cannot be read.
"""


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "plan", "check a folder of phase specs and derive its DAG snapshot", HELP)
    parser.add_argument(
        "specs_dir", metavar="SPECS_DIR", help="folder searched for *.yaml, *.yml and *.json phase specs"
    )
    target = parser.add_mutually_exclusive_group()
    target.add_argument(
        "-o", "--output", metavar="FILE", help="write the output to FILE (atomically) instead of stdout"
    )
    target.add_argument(
        "--check", metavar="FILE", help="exit 1 when the committed snapshot FILE no longer matches the specs"
    )
    parser.add_argument("--format", choices=FORMATS, default=None, help="output format (default: json)")
    add_planning_options(parser, "the current folder")
    parser.add_argument(
        "--repo",
        metavar="DIR",
        default=".",
        type=Path,
        help="where the verification templates and mined anti-patterns are (default: .)",
    )
    add_json_option(parser, "the problems, warnings and snapshot")
    parser.set_defaults(handler=run)


def _print(problems: list[Problem]) -> None:
    sys.stderr.write("".join(problem.format() + "\n" for problem in problems))


def run(args: argparse.Namespace) -> int:
    if args.check is not None and args.format is not None:
        print("uet plan: --format applies to the output; --check writes none", file=sys.stderr)
        return 2
    if args.json and args.format not in (None, "json"):
        print(f"uet plan: --json reports in JSON; it cannot print a {args.format} diagram", file=sys.stderr)
        return 2
    try:
        phase_set, _ = load_for(args, Path.cwd(), TemplateLibrary(args.repo).resolver())
    except ContractError as exc:
        if args.json:
            emit(_report(True, exc.errors, []))
        else:
            _print(exc.errors)
        print(f"uet plan: {exc.errors[0].file} is not a valid RepoConfig; nothing written", file=sys.stderr)
        return 2
    except PlanError as exc:
        if args.json:
            emit(_report(True, sorted_problems(exc.problems), sorted_problems(exc.warnings)))
        else:
            print_plan_problems(exc)
        print(
            f"uet plan: {len(exc.problems)} problem(s), {len(exc.warnings)} warning(s) in {args.specs_dir};"
            " nothing written",
            file=sys.stderr,
        )
        return exc.exit_code
    phase_set.warnings.extend(advice.warnings(phase_set, advice.active_anti_patterns(args.repo)))
    if not args.json:
        _print(phase_set.warnings)
    snapshot = build_snapshot(phase_set)
    if args.check is not None:
        return _check(Path(args.check), snapshot, args.specs_dir, phase_set.warnings if args.json else None)
    text = render(snapshot, args.format or "json", phase_set)
    if args.output is None and args.json:
        emit(_report(False, [], phase_set.warnings, snapshot=uet_contracts.to_dict(snapshot)))
    elif args.output is None:
        sys.stdout.write(text)
    else:
        try:
            write_atomic(args.output, text)
        except OSError as exc:
            print(f"uet plan: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
            return 2
        if args.json:
            emit(_report(False, [], phase_set.warnings, output=args.output))
    where = f"; wrote {args.output}" if args.output else ""
    print(
        f"uet plan: {len(snapshot.nodes)} phase(s) in {len(snapshot.topo_levels)} level(s), critical path of"
        f" {len(snapshot.critical_path)} phase(s), {len(phase_set.warnings)} warning(s){where}",
        file=sys.stderr,
    )
    return 0


def render(snapshot: DagSnapshot, format: str, phase_set: PhaseSet) -> str:
    """The snapshot as JSON (fields in schema order), or the DAG as a diagram with the phases' titles."""
    if format == "json":
        return json.dumps(uet_contracts.to_dict(snapshot), indent=2, ensure_ascii=False) + "\n"
    titles = {phase: spec.title for phase, spec in phase_set.specs.items()}
    return to_mermaid(snapshot, titles) if format == "mermaid" else to_dot(snapshot, titles)


def _report(failed: bool, problems: list[Problem], warnings: list[Problem], **rest: object) -> dict[str, object]:
    """The ``--json`` document: status, problems and warnings (located problems), then ``rest``."""
    return {
        "status": status(failed),
        "problems": [problem_json(p) for p in problems],
        "warnings": [problem_json(p) for p in warnings],
        **rest,
    }


def _check(path: Path, current: DagSnapshot, specs_dir: str, json_warnings: list[Problem] | None) -> int:
    """``--check``; ``json_warnings`` is the set's warnings when the outcome is to be reported as JSON."""
    if not path.is_file() or not os.access(path, os.R_OK):
        reason = "cannot read file" if path.is_file() else "no such file"
        print(f"uet plan: {path}: {reason}", file=sys.stderr)
        return 2
    try:
        committed = uet_contracts.load(path, DagSnapshot)
    except ContractError as exc:
        if json_warnings is None:
            _print(exc.errors)
        else:
            emit(_report(True, exc.errors, json_warnings, check=str(path), differences=[]))
        print(f"uet plan: {path} is not a valid DagSnapshot", file=sys.stderr)
        return 1
    differences = compare_snapshots(committed, current, file=str(path))
    if json_warnings is not None:
        emit(
            _report(
                bool(differences),
                [],
                json_warnings,
                check=str(path),
                differences=[problem_json(d) for d in differences],
            )
        )
    if differences:
        if json_warnings is None:
            _print(differences)
        print(
            f"uet plan: {path} is out of date with {specs_dir} ({len(differences)} difference(s));"
            f" regenerate it with: uet plan {specs_dir} -o {path}",
            file=sys.stderr,
        )
        return 1
    print(f"uet plan: {path} is up to date with {specs_dir}", file=sys.stderr)
    return 0
