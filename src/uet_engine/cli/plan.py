"""``uet plan SPECS_DIR [--tier pipeline|module|task] [--modules DIR] [-o FILE] [--format json|mermaid|dot]
[--check FILE] [--repo DIR]``: phase specs → the DAG of one tier.

Loads and checks every phase spec under SPECS_DIR, and the module manifests of ``--modules`` (default: the
``modules`` folder beside SPECS_DIR, one ``<module_id>/module.manifest.yaml`` per module) when there are
any: then every path a phase may write must belong to exactly one module. Prints (or writes to FILE,
atomically), as JSON or as a Mermaid or Graphviz DOT diagram with the critical path highlighted, the DAG
of one tier (``--tier``):

- ``pipeline`` (the default): the DagSnapshotV1 of the phases;
- ``module``: the DagSnapshotV1 of the modules (``dag_type: module``), their declared dependencies plus
  those the phases imply; needs manifests;
- ``task``: the ModuleTasksV1 of the set, each workstream's steps as a DagSnapshot (``dag_type: task``)
  and the batches they run in.

``--check FILE`` compares a committed file of that tier with the specs instead (ignoring
``generated_at``; the file's own graph is checked first) and names what changed. ``--assume-done PH-…``
declares a phase outside the set done (it satisfies the ``external_depends_on`` that name it); the tool
profiles steps may name are the built-in ones and those of ``--config FILE`` (default: ``uet.config.yaml``
in the current folder, when present).

Acceptance checks written ``verify: NAME`` are filled in from DIR's verification templates (default: the
current folder; see ``uet templates list``). A step or check that matches an active anti-pattern mined in
DIR (``uet patterns mine``) is a warning naming the anti-pattern and its recommendation.

Problems and warnings go to stderr as ``PATH:LINE:COL: JSON-PATH: message``; stdout carries only the
output. Exit 0 planned (or up to date), 1 problems in the set (or a stale file), 2 usage errors
and input that cannot be read; on failure nothing is written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Final

import uet_contracts
from uet_contracts import ContractError, DagSnapshot, ModuleTasks, Problem
from uet_engine.cli import Subparsers, add_command, print_plan_problems
from uet_engine.cli.options import add_planning_options, load_for, load_manifests
from uet_engine.errors import PlanError
from uet_engine.patterns import advice
from uet_engine.patterns.templates import TemplateLibrary
from uet_engine.planning import integrity, modules
from uet_engine.planning.phase_set import PhaseSet
from uet_engine.planning.snapshot import build_module_tasks, build_snapshot, compare_module_tasks, compare_snapshots
from uet_engine.planning.tasks import step_node
from uet_engine.planning.views import tasks_to_dot, tasks_to_mermaid, to_dot, to_mermaid
from uet_engine.saving.atomic import write_atomic

FORMATS = ("json", "mermaid", "dot")
TIERS: Final = ("pipeline", "module", "task")


def register(subparsers: Subparsers) -> None:
    parser = add_command(subparsers, "plan", "check a folder of phase specs and derive its DAG snapshot", __doc__)
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
        "--repo", metavar="DIR", default=".", type=Path, help="where templates and mined anti-patterns are (default: .)"
    )
    parser.set_defaults(handler=run)


def _print(problems: list[Problem]) -> None:
    sys.stderr.write("".join(problem.format() + "\n" for problem in problems))


def run(args: argparse.Namespace) -> int:
    if args.check is not None and args.format is not None:
        print("uet plan: --format applies to the output; --check writes none", file=sys.stderr)
        return 2
    try:
        phase_set, _ = load_for(args, Path.cwd(), TemplateLibrary(args.repo).resolver())
        phase_set, module_set = load_manifests(args, phase_set)
    except ContractError as exc:
        _print(exc.errors)
        print(f"uet plan: {exc.errors[0].file} is not a valid RepoConfig; nothing written", file=sys.stderr)
        return 2
    except PlanError as exc:
        print_plan_problems(exc)
        print(
            f"uet plan: {len(exc.problems)} problem(s), {len(exc.warnings)} warning(s) in {args.specs_dir};"
            " nothing written",
            file=sys.stderr,
        )
        return exc.exit_code
    phase_set.warnings.extend(advice.warnings(phase_set, advice.active_anti_patterns(args.repo)))
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
        return _check(Path(args.check), derived, args.specs_dir, args.tier)
    text = render(derived, args.format or "json", phase_set, module_set)
    if args.output is None:
        sys.stdout.write(text)
    else:
        try:
            write_atomic(args.output, text)
        except OSError as exc:
            print(f"uet plan: cannot write {args.output}: {exc.strerror or exc}", file=sys.stderr)
            return 2
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
        titles = {phase: spec.title for phase, spec in phase_set.specs.items()}
    return to_mermaid(derived, titles) if format == "mermaid" else to_dot(derived, titles)


def _check(path: Path, current: DagSnapshot | ModuleTasks, specs_dir: str, tier: str) -> int:
    if not path.is_file() or not os.access(path, os.R_OK):
        reason = "cannot read file" if path.is_file() else "no such file"
        print(f"uet plan: {path}: {reason}", file=sys.stderr)
        return 2
    differences = stale(path, current)
    if differences is None:
        return 1
    if differences:
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


def stale(path: Path, current: DagSnapshot | ModuleTasks, command: str = "plan") -> list[Problem] | None:
    """How a committed file of ``current``'s kind differs from it; None (after printing why) when the file
    is not a valid, sound file of that kind."""
    cls: Any = type(current)
    try:
        committed = integrity.load_checked(path, cls)
    except ContractError as exc:
        _print(exc.errors)
        print(f"uet {command}: {path} is not a valid {cls.__name__}", file=sys.stderr)
        return None
    if isinstance(current, ModuleTasks):
        return compare_module_tasks(committed, current, file=str(path))
    return compare_snapshots(committed, current, file=str(path))
