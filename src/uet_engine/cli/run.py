"""``uet run SPECS_DIR [--repo DIR] [--init] [--ws-id ID]… [--no-deps] [--jobs N] [--dry-run] [--resume RUN_ID]
[--force] [--snapshot FILE]… [--modules DIR] [--hook MODULE:ATTR]… [--hook-budget SECONDS] [--executor local|dask]
[--remote URL]``.

Plans the phase specs under SPECS_DIR (``verify: NAME`` checks filled in from DIR's verification
templates), then runs the workstreams in dependency order, up to N at once,
each in its own git worktree of DIR (default: the current folder, which must be a git repository
with at least one commit; --init makes it one). Succeeded workstreams' patches land in DIR's working tree; everything is
recorded in DIR/.runs/uet.sqlite, DIR/.runs/audit.jsonl and DIR/.ledger/patches/.

--ws-id ID runs that workstream and, unless --no-deps, its prerequisites that have not succeeded in an
earlier run. --resume RUN_ID reruns what in that run did not succeed, reusing its successes.
--dry-run prints the levels, what would run and why anything is left out, and writes nothing.
A phase whose status is done or complete, or named by --assume-done, is not run and does not hold back
what depends on it; a phase waiting for a phase outside the set (external_depends_on) is left out until
that one is declared done with --assume-done. Steps with an AI tool (tool: aider, codex, claude-code,
copilot, or a profile of DIR/uet.config.yaml or --config FILE) run through its tool profile.

A workstream whose last success ran the same spec on the same inputs (its file-scope files and its
prerequisites' results, see docs/guides/incremental-runs.md) is up to date: it is recorded as reused
from that run with reason "up to date" and does not run; what changed and its dependants run. A second
run of an unchanged set runs nothing, exits 0 and writes no patch. --force runs everything.
--snapshot FILE runs a reviewed plan: a committed pipeline DagSnapshot (``uet plan -o FILE``) or task tier
(``uet plan --tier task -o FILE``), given once each at most. The file's graph is checked, then compared
with what the specs give now; a stale file is refused (exit 1), each difference named, and nothing runs.
The run's first record names the snapshot it executed. Module manifests (``--modules DIR``, default the
``modules`` folder beside SPECS_DIR) are checked as by ``uet plan``, and each task's request names the
modules its phase writes.

--dask-scheduler ADDRESS runs each workstream as a task on that existing Dask cluster instead of on
local threads (needs the dask extra); --executor dask without an address starts a LocalCluster of
--jobs worker processes on this machine. This process stays the only writer of the records and the
tree. The workers must see DIR at the same path (same machine or a shared filesystem) unless --remote
URL names a git remote that this machine and every worker can push to and fetch from: the run's
commits travel through it (docs/guides/dask-cluster.md). --jobs defaults to the cluster's total
threads. A workstream's step progress arrives when it ends, not live. A worker that dies in the middle
of a workstream makes it crashed (--resume runs it again). On Ctrl-C/SIGTERM waiting tasks are
cancelled and running ones are asked to kill their processes (best effort).

--hook MODULE:ATTR adds a hook (a class or factory called with no arguments, or a hook object) that is
told of every workstream's start and end, every try's start and completion and every error recorded;
hooks of the uet.hooks entry points are always added. A hook that raises or takes longer than
--hook-budget seconds a call (default 2) is recorded as an ErrorEvent and disabled; it never changes an
outcome. A hook that cannot be loaded is a usage error: nothing runs. A failed workstream shows the
issues the error plugins found in its output and the last lines of the failing command's output.

Exit 0 when every selected workstream succeeded; 1 when one failed, was skipped, crashed or was
cancelled, or when the specs have problems (printed as PATH:LINE:COL: JSON-PATH: message, as by
``uet plan``); 2 for usage errors: unreadable specs, an unknown workstream or run, a folder that is not a
git repository, a --hook that cannot be loaded, or another ``uet run`` holding the repository.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
from pathlib import Path

import uet_contracts
from uet_contracts import ContractError, ModuleTasks
from uet_engine.cli import Subparsers, add_command, print_plan_problems
from uet_engine.cli.options import add_planning_options, load_for, load_manifests
from uet_engine.cli.plan import stale
from uet_engine.detection.hooks import DEFAULT_BUDGET_S, installed_hooks, load_hook
from uet_engine.errors import GitError, PlanError
from uet_engine.execution import isolation
from uet_engine.execution.coordinator import execute_run
from uet_engine.execution.executors import DaskExecutor, Executor
from uet_engine.execution.progress import reporter
from uet_engine.execution.selection import Options, plan_lines
from uet_engine.patterns.templates import TemplateLibrary
from uet_engine.planning import profiles
from uet_engine.planning.phase_set import PhaseSet
from uet_engine.planning.snapshot import build_module_tasks, build_snapshot


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers, "run", "run the workstreams of a phase set in isolated git worktrees and record everything", __doc__
    )
    parser.add_argument("specs_dir", metavar="SPECS_DIR", help="folder searched for *.yaml, *.yml and *.json specs")
    parser.add_argument("--repo", metavar="DIR", default=".", help="the git repository to work in (default: .)")
    parser.add_argument(
        "--ws-id", metavar="ID", action="append", default=[], dest="ws_ids", help="run this workstream (repeatable)"
    )
    parser.add_argument("--no-deps", action="store_true", help="with --ws-id: do not run prerequisites")
    parser.add_argument(
        "--jobs", metavar="N", type=int, default=None, help="workstreams at once (default: the number of CPUs)"
    )
    parser.add_argument(
        "--init",
        action="store_true",
        help="make DIR a git repository with a first commit when it is not one yet (created if missing)",
    )
    add_planning_options(parser, "DIR")
    parser.add_argument("--dry-run", action="store_true", help="print what would run; write nothing")
    parser.add_argument("--force", action="store_true", help="run every selected workstream, even one up to date")
    parser.add_argument("--resume", metavar="RUN_ID", help="rerun what did not succeed in RUN_ID, reuse its successes")
    parser.add_argument(
        "--snapshot",
        metavar="FILE",
        action="append",
        default=[],
        help="run only if FILE (a pipeline DagSnapshot or a task-tier ModuleTasks) is current for the specs",
    )
    parser.add_argument(
        "--dask-scheduler",
        metavar="ADDRESS",
        help="run the workstreams on the Dask cluster at ADDRESS (e.g. tcp://127.0.0.1:8786) instead of local "
        "threads; workers must see DIR at the same path; step progress arrives when each workstream ends",
    )
    parser.add_argument(
        "--hook",
        metavar="MODULE:ATTR",
        action="append",
        default=[],
        dest="hooks",
        help="observe the run with this hook: a class or factory (called with no arguments) or a hook object "
        "(repeatable; the uet.hooks entry points are always added)",
    )
    parser.add_argument(
        "--hook-budget",
        metavar="SECONDS",
        type=float,
        default=DEFAULT_BUDGET_S,
        help=f"seconds a hook call may take before the hook is disabled (default: {DEFAULT_BUDGET_S:g})",
    )
    parser.add_argument(
        "--executor",
        choices=("local", "dask"),
        default=None,
        help="where workstreams run: local threads (default), or Dask (a LocalCluster of --jobs worker "
        "processes unless --dask-scheduler names a cluster)",
    )
    parser.add_argument(
        "--remote",
        metavar="URL",
        help="with Dask: a git remote the workers fetch the run's commits from and push theirs to, so they "
        "need no shared filesystem",
    )
    parser.set_defaults(handler=run)


MAX_HOOK_BUDGET_S = 3600


def _usage(message: str) -> int:
    print(f"uet run: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    if args.jobs is not None and args.jobs < 1:
        return _usage("--jobs must be at least 1")
    if args.no_deps and not args.ws_ids:
        return _usage("--no-deps needs --ws-id")
    if args.resume and args.ws_ids:
        return _usage("--resume reruns the workstreams of that run; it cannot be combined with --ws-id")
    if args.init and args.dry_run:
        return _usage("--init writes a repository; it cannot be combined with --dry-run")
    if args.executor == "local" and args.dask_scheduler:
        return _usage("--dask-scheduler runs on Dask; it cannot be combined with --executor local")
    on_dask = bool(args.dask_scheduler) or args.executor == "dask"
    if args.remote and not on_dask:
        return _usage("--remote needs Dask: add --executor dask or --dask-scheduler ADDRESS")
    if not 0 < args.hook_budget <= MAX_HOOK_BUDGET_S:  # also refuses nan and inf
        return _usage(f"--hook-budget must be more than 0 and at most {MAX_HOOK_BUDGET_S} seconds")
    hooks = [*installed_hooks(), *(load_hook(spec) for spec in args.hooks)]  # BadHook: exit 2, nothing run
    try:
        if args.init:
            isolation.init_repo(Path(args.repo))
        root = isolation.repo_root(Path(args.repo))
    except (GitError, OSError) as exc:
        return _usage(f"cannot prepare {args.repo}: {exc}")
    try:
        phase_set, config = load_for(args, root, TemplateLibrary(root).resolver())
        phase_set, _ = load_manifests(args, phase_set)
    except ContractError as exc:
        print_plan_problems(PlanError(exc.errors))
        return _usage(f"{exc.errors[0].file} is not a valid RepoConfig; nothing run")
    except PlanError as exc:
        print_plan_problems(exc)
        print(f"uet run: {len(exc.problems)} problem(s) in {args.specs_dir}; nothing run", file=sys.stderr)
        return exc.exit_code
    sys.stderr.write("".join(problem.format() + "\n" for problem in phase_set.warnings))
    executed = reviewed_plan(args.snapshot, phase_set, args.specs_dir)
    if isinstance(executed, int):
        return executed
    options = Options(
        ws_ids=args.ws_ids,
        no_deps=args.no_deps,
        jobs=args.jobs or os.cpu_count() or 1,
        resume=args.resume,
        project_id=config.project_id if config is not None else None,
        profiles=profiles.profiles(config),
        hook_budget_s=args.hook_budget,
        force=args.force,
        snapshot=executed,
    )
    if args.dry_run:
        sys.stdout.write("".join(line + "\n" for line in plan_lines(phase_set, options, root)))
        return 0
    with contextlib.ExitStack() as stack:
        executor: Executor | None = None
        if on_dask:
            if args.dask_scheduler:
                dask = stack.enter_context(DaskExecutor.connect(args.dask_scheduler))
            else:
                dask = stack.enter_context(DaskExecutor.local_cluster(options.jobs))
            dask.remote = args.remote
            if args.jobs is None and args.dask_scheduler:
                threads = dask.threads
                if threads < 1:
                    return _usage(f"the Dask cluster at {args.dask_scheduler} has no workers")
                options = dataclasses.replace(options, jobs=threads)
            executor = dask
        with reporter() as progress:
            outcome = execute_run(root, phase_set, options, progress, executor, hooks)
            progress.close()
            progress.summary(outcome.records, outcome.failures)
    for problem in outcome.problems:
        print(f"uet run: {problem}", file=sys.stderr)
    if os.environ.get("UET_PROFILE"):
        print(f"uet-profile: git {isolation.GIT_TIME.calls} calls {isolation.GIT_TIME.seconds:.6f} s", file=sys.stderr)
    return 0 if outcome.succeeded else 1


def reviewed_plan(files: list[str], phase_set: PhaseSet, specs_dir: str) -> str | int | None:
    """What ``--snapshot`` names, once each file is checked current for the specs: a line for the run's
    records naming the files and their hashes (None without ``--snapshot``), or the exit code after
    printing why a file is refused (unreadable or given twice 2; not a sound snapshot, of a tier that
    does not run, or stale 1)."""
    if not files:
        return None
    seen: dict[str, str] = {}
    named = []
    for name in files:
        path = Path(name)
        if not path.is_file() or not os.access(path, os.R_OK):
            return _usage(f"--snapshot {name}: {'cannot read file' if path.is_file() else 'no such file'}")
        kind = _kind_of(path)
        if kind in ("module", "task"):
            print(
                f"uet run: --snapshot {name}: a {kind}-tier DagSnapshot does not say what runs; give the pipeline"
                f" snapshot (uet plan {specs_dir} -o FILE) or the task tier (uet plan {specs_dir} --tier task -o FILE)",
                file=sys.stderr,
            )
            return 1
        if kind in seen:
            return _usage(f"--snapshot {name}: a second {kind} file (the first is {seen[kind]})")
        seen[kind] = name
        current = build_module_tasks(phase_set) if kind == "task tier" else build_snapshot(phase_set)
        differences = stale(path, current, "run")
        if differences is None:
            return 1
        if differences:
            sys.stderr.write("".join(problem.format() + "\n" for problem in differences))
            again = " --tier task" if kind == "task tier" else ""
            print(
                f"uet run: {name} is out of date with {specs_dir} ({len(differences)} difference(s)); nothing run."
                f" Review the plan again: uet plan {specs_dir}{again} -o {name}",
                file=sys.stderr,
            )
            return 1
        named.append(f"{name} ({kind}, {current.source_hash})")
    return "snapshot " + ", ".join(named)


def _kind_of(path: Path) -> str:
    """``task tier`` for a ModuleTasks file (it lists workstreams), else the ``dag_type`` a DagSnapshot
    claims (``pipeline`` when it claims none: checking it as a DagSnapshot then says what is wrong)."""
    try:
        data, _ = uet_contracts.check_text(uet_contracts.read_text(path), ModuleTasks, uet_contracts.format_of(path))
    except ContractError:
        return "pipeline"
    if isinstance(data, dict) and "workstreams" in data:
        return "task tier"
    dag_type = data.get("dag_type") if isinstance(data, dict) else None
    return dag_type if dag_type in ("module", "task") else "pipeline"
