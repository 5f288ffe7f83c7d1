"""``uet plan``: phase specs to the DAG of one tier, a diagram, or a check of a committed file.

What the command does for a user is its ``HELP`` text below; the work is in ``uet_engine.planning``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import uet_contracts
from uet_contracts import ContractError, DagSnapshot, ModuleTasks, Problem
from uet_engine.cli import Subparsers, add_command, print_plan_problems, sorted_problems
from uet_engine.cli.options import add_planning_options, load_for, load_manifests
from uet_engine.cli.output import add_json_option, emit, problem_json, status
from uet_engine.errors import PlanError
from uet_engine.patterns import advice
from uet_engine.patterns.templates import TemplateLibrary
from uet_engine.planning import integrity, modules
from uet_engine.planning.phase_set import PhaseSet, gc_paused
from uet_engine.planning.snapshot import build_module_tasks, build_snapshot, compare_module_tasks, compare_snapshots
from uet_engine.planning.tasks import step_node
from uet_engine.planning.views import tasks_to_dot, tasks_to_mermaid, to_dot, to_mermaid
from uet_engine.saving.atomic import write_atomic

FORMATS = ("json", "mermaid", "dot")
TIERS: Final = ("pipeline", "module", "task")

HELP = """\
Load and check every phase spec under SPECS_DIR as a set: unique phase and workstream ids, known
dependencies, no cycle (each one named in full), and no two phases that may run at the same time
writing the same path. When there are module manifests (--modules DIR, default: the modules folder
beside SPECS_DIR, one MODULE_ID/module.manifest.yaml per module), every path a phase may write must
belong to exactly one module. Then print the DAG of one tier as JSON (or, with --format, as a Mermaid or
Graphviz DOT diagram with the critical path highlighted), or write it to FILE with -o. The tiers
(--tier):

  pipeline  the phases and what each waits for (the default): a DagSnapshot
  module    the modules, their declared dependencies plus those the phases
            imply: a DagSnapshot of dag_type module; needs manifests
  task      each workstream's steps as a DAG, and the batches they run in:
            a ModuleTasks

--check FILE compares a committed file of that tier with the specs instead (ignoring when it was
generated; the file's own graph is checked first) and names every difference, so CI can fail when
someone forgets to regenerate it.

--assume-done PH-... declares a phase outside the set done: it satisfies the external_depends_on that
name it. Steps may name the built-in tool profiles and those of --config FILE (default: uet.config.yaml
in the current folder, when there is one). Acceptance checks written "verify: NAME" are filled in from
the verification templates of --repo DIR ("uet templates list" shows them), and a step or check that
matches an anti-pattern mined there ("uet patterns mine") is a warning naming it and what to do instead.

Problems and warnings go to stderr as PATH:LINE:COL: JSON-PATH: message; stdout carries only the output.
With --json, stdout holds one JSON document instead: "status", "problems", "warnings", and the
"snapshot" (or "output", or the "differences" of --check). On failure nothing is written.

Exit status: 0 planned (or up to date), 1 problems in the set (or a stale file), 2 a usage error or
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
    parser.add_argument(
        "--tier", choices=TIERS, default="pipeline", help="which DAG: phases, modules or steps (default: pipeline)"
    )
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
    """The command, with the cyclic garbage collector paused throughout: the checked set is millions of
    objects that live until the process ends, so each collection while deriving and rendering the DAG
    walks them all and frees nothing (at 100,000 phases it made rendering the JSON four times slower)."""
    with gc_paused():
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    if args.check is not None and args.format is not None:
        print("uet plan: --format applies to the output; --check writes none", file=sys.stderr)
        return 2
    if args.json and args.format not in (None, "json"):
        print(f"uet plan: --json reports in JSON; it cannot print a {args.format} diagram", file=sys.stderr)
        return 2
    try:
        # Only the task tier and the anti-pattern advice read every spec; the DAG and the diagrams need what the
        # set checks read (a spec not kept would be read from its file again, one by one, in this process).
        resolver = TemplateLibrary(args.repo).resolver()
        anti_patterns = advice.active_anti_patterns(args.repo)
        keep = args.tier == "task" or bool(anti_patterns)
        phase_set, _ = load_for(args, Path.cwd(), resolver, keep_specs=keep)
        phase_set, module_set = load_manifests(args, phase_set)
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
    phase_set.warnings.extend(advice.warnings(phase_set, anti_patterns))
    if not args.json:
        _print(phase_set.warnings)
    if args.tier == "module" and module_set is None:
        print(
            f"uet plan: --tier module needs module manifests; none under"
            f" {modules.default_modules_dir(Path(args.specs_dir))}"
            f" (<module_id>/{modules.MANIFEST_NAME}.yaml), or name the folder with --modules",
            file=sys.stderr,
        )
        return 2
    derived: DagSnapshot | ModuleTasks
    if args.tier == "task":
        derived = build_module_tasks(phase_set)
    elif args.tier == "module" and module_set is not None:
        derived = modules.module_snapshot(module_set, phase_set)
    else:
        derived = build_snapshot(phase_set)
    if args.check is not None:
        return _check(Path(args.check), derived, args.specs_dir, args.tier, phase_set.warnings if args.json else None)
    text = render(derived, args.format or "json", phase_set, module_set)
    if args.output is None and args.json:
        emit(_report(False, [], phase_set.warnings, snapshot=uet_contracts.to_dict(derived)))
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
    print(f"uet plan: {_summary(derived)}, {len(phase_set.warnings)} warning(s){where}", file=sys.stderr)
    return 0


def _summary(derived: DagSnapshot | ModuleTasks) -> str:
    if isinstance(derived, ModuleTasks):
        steps = sum(len(item.snapshot.nodes) for item in derived.workstreams)
        batches = sum(len(item.batches) for item in derived.workstreams)
        return f"{steps} step(s) of {len(derived.workstreams)} workstream(s) in {batches} batch(es)"
    what = "phase(s)" if derived.dag_type == "pipeline" else "module(s)"
    return (
        f"{len(derived.nodes)} {what} in {len(derived.topo_levels)} level(s), critical path of"
        f" {len(derived.critical_path)} {what}"
    )


def render(
    derived: DagSnapshot | ModuleTasks, format: str, phase_set: PhaseSet, module_set: modules.ModuleSet | None = None
) -> str:
    """The snapshot as JSON (fields in schema order), or the DAG as a diagram with titles as labels: the
    phases' titles, the modules' titles, or each step's description (its operation and tool without one)."""
    if format == "json":
        return json.dumps(uet_contracts.to_dict(derived), indent=2, ensure_ascii=False) + "\n"
    if isinstance(derived, ModuleTasks):
        labels = {
            spec.workstream_id: {
                step_node(step, i): step.description or f"{step.operation_kind} ({step.tool})"
                for i, step in enumerate(spec.steps or [])
            }
            for spec in phase_set.specs.values()
        }
        return tasks_to_mermaid(derived, labels) if format == "mermaid" else tasks_to_dot(derived, labels)
    if derived.dag_type == "module" and module_set is not None:
        titles = {module: manifest.title for module, manifest in module_set.manifests.items()}
    else:
        titles = {phase: phase_set.specs.record(phase).title for phase in phase_set.specs}
    return to_mermaid(derived, titles) if format == "mermaid" else to_dot(derived, titles)


def _report(failed: bool, problems: list[Problem], warnings: list[Problem], **rest: object) -> dict[str, object]:
    """The ``--json`` document: status, problems and warnings (located problems), then ``rest``."""
    return {
        "status": status(failed),
        "problems": [problem_json(p) for p in problems],
        "warnings": [problem_json(p) for p in warnings],
        **rest,
    }


def _check(
    path: Path, current: DagSnapshot | ModuleTasks, specs_dir: str, tier: str, json_warnings: list[Problem] | None
) -> int:
    """``--check``; ``json_warnings`` is the set's warnings when the outcome is to be reported as JSON."""
    if not path.is_file() or not os.access(path, os.R_OK):
        reason = "cannot read file" if path.is_file() else "no such file"
        print(f"uet plan: {path}: {reason}", file=sys.stderr)
        return 2
    invalid: list[Problem] = []
    differences = stale(path, current, show=_print if json_warnings is None else invalid.extend)
    if json_warnings is not None:
        found = differences or []
        report = _report(bool(invalid or found), invalid, json_warnings, check=str(path))
        emit({**report, "differences": [problem_json(d) for d in found]})
    if differences is None:
        return 1
    if differences:
        if json_warnings is None:
            _print(differences)
        again = "" if tier == "pipeline" else f" --tier {tier}"
        print(
            f"uet plan: {path} is out of date with {specs_dir} ({len(differences)} difference(s));"
            f" regenerate it with: uet plan {specs_dir}{again} -o {path}",
            file=sys.stderr,
        )
        return 1
    print(f"uet plan: {path} is up to date with {specs_dir}", file=sys.stderr)
    return 0


def stale(
    path: Path,
    current: DagSnapshot | ModuleTasks,
    command: str = "plan",
    show: Callable[[list[Problem]], object] = _print,
) -> list[Problem] | None:
    r"""How a committed file of ``current``'s kind differs from it; None (after ``show``\ ing the problems
    and printing why) when the file is not a valid, sound file of that kind."""
    cls: Any = type(current)
    try:
        committed = integrity.load_checked(path, cls)
    except ContractError as exc:
        show(exc.errors)
        print(f"uet {command}: {path} is not a valid {cls.__name__}", file=sys.stderr)
        return None
    if isinstance(current, ModuleTasks):
        return compare_module_tasks(committed, current, file=str(path))
    return compare_snapshots(committed, current, file=str(path))
