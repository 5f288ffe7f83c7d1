"""``uet run``: plan a phase set and hand it to the coordinator, with live progress and a summary.

What the command does for a user is its ``HELP`` text below (shown by ``uet run --help`` and on the CLI
reference page); this module only checks the options, picks the executor and the reporter, and maps the
outcome to an exit status.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
import time
from pathlib import Path
from typing import get_args

import uet_contracts
from uet_contracts import ContractError, DurabilityMode, ModuleTasks, RepoConfig
from uet_engine.cli import Subparsers, add_command, print_plan_problems
from uet_engine.cli.options import add_planning_options, load_for, load_manifests
from uet_engine.cli.plan import stale
from uet_engine.detection.hooks import DEFAULT_BUDGET_S, installed_hooks, load_hook
from uet_engine.errors import GitError, PlanError
from uet_engine.execution import isolation, sandbox
from uet_engine.execution.coordinator import execute_run
from uet_engine.execution.executors import DaskExecutor, Executor
from uet_engine.execution.progress import reporter
from uet_engine.execution.sandbox import MODES, Sandbox
from uet_engine.execution.selection import Options, plan_lines
from uet_engine.patterns.templates import TemplateLibrary
from uet_engine.planning import profiles
from uet_engine.planning.phase_set import PhaseSet
from uet_engine.planning.snapshot import build_module_tasks, build_snapshot

HELP = """\
Plan the phase specs under SPECS_DIR, then run their workstreams in dependency order, up to N at once,
each in its own git worktree of DIR. DIR is the git repository holding the current folder unless --repo
says otherwise; it needs at least one commit (--init makes a folder such a repository). The patches of
the workstreams that succeed land in DIR's working tree; everything is recorded in DIR/.runs/uet.sqlite,
DIR/.runs/audit.jsonl and DIR/.ledger/patches/.

--ws-id ID runs that workstream (a workstream id such as ws-docs, or the id of its phase such as PH-01)
and, unless --no-deps, its prerequisites that have not succeeded in an earlier run. --resume RUN_ID
reruns what in that run did not succeed and reuses its successes; RUN_ID may be "latest" or the start
of a run id, as "uet runs list" prints them. --dry-run prints the levels, what would run and why
anything is left out, and writes nothing.

A phase whose status is done or complete, or named by --assume-done, is not run and does not hold back
what depends on it; a phase waiting for a phase outside the set (external_depends_on) is left out until
that one is declared done with --assume-done. Acceptance checks written "verify: NAME" are filled in from
DIR's verification templates. Steps with an AI tool (tool: aider, codex, claude-code, copilot, or a
profile of DIR/uet.config.yaml or --config FILE) run through its tool profile.

A workstream whose last success ran the same spec on the same inputs (its file-scope files and its
prerequisites' results; see the "Re-run incrementally" guide) is up to date: it is recorded as
reused from that run with reason "up to date" and does not run; what changed and its dependants run. A
second run of an unchanged set runs nothing, exits 0 and writes no patch. --force runs everything.

--snapshot FILE runs a reviewed plan: a committed pipeline DAG snapshot ("uet plan -o FILE") or task tier
("uet plan --tier task -o FILE"), given once each at most. The file's graph is checked, then compared
with what the specs give now; a stale file is refused (exit 1), each difference named, and nothing runs.
The run's first record names the snapshot it executed. Module manifests (--modules DIR, default the
modules folder beside SPECS_DIR) are checked as by "uet plan", and each task's request names the
modules its phase writes.

On a terminal each running workstream shows its current step and how long it has been running; in a
pipe or a CI log there is one line per change of state. -q prints only the summary, -v also each step
as it starts and ends. NO_COLOR=1 turns every style off; FORCE_COLOR=1 keeps the styles in a pipe.

--sandbox MODE confines every step and check to its own worktree with the operating system's sandbox:
auto (the default) uses bubblewrap, else Landlock (Linux), else Seatbelt (macOS), and runs unconfined
with a warning when none works; required refuses to run without one; off never confines; bubblewrap,
landlock or seatbelt requires that one. --no-network takes the network away from every step and check
(a phase's no_network does it for that phase). Both may be set in DIR/uet.config.yaml (sandbox,
no_network); the command line wins. Without a sandbox the engine still checks, after each step, the
user's working tree, .git/config, .git/hooks and its own records, and fails the workstream naming any
change. A repository in the middle of a merge, rebase, cherry-pick, revert or bisect is refused.

--durability normal (the default) writes every record so that a crash of uet (even kill -9) at any moment
leaves records the next run recovers from, and syncs them to disk when the run ends; a power loss during
the run can lose its last moments, as it can the run store's own commits. --durability full also syncs
each workstream's patch file, audit lines and final state to disk as it ends (slower: three syncs per
workstream). It
may be set in DIR/uet.config.yaml (durability); the command line wins.

--dask-scheduler ADDRESS runs each workstream as a task on that existing Dask cluster instead of on
local threads (needs the dask and distributed packages); --executor dask without an address starts a
local cluster of --jobs worker processes on this machine. This process stays the only writer of the
records and the tree. The workers must see DIR at the same path (the same machine or a shared
filesystem) unless --remote URL names a git remote that this machine and every worker can push to and
fetch from: the run's commits travel through it (see the "Run on several machines" guide). --jobs defaults
to the cluster's total threads. A workstream's step progress arrives when it ends, not live. A worker
that dies in the middle of a workstream makes it crashed (--resume runs it again). On Ctrl-C or SIGTERM
waiting tasks are cancelled and running ones are asked to kill their processes.

--hook MODULE:ATTR adds a hook (a class or factory called with no arguments, or a hook object) that is
told of every workstream's start and end, every try's start and completion and every error recorded;
hooks installed as uet.hooks entry points are always added. A hook that raises or takes longer than
--hook-budget seconds a call (default 2) is recorded as an error event and disabled; it never changes an
outcome. A hook that cannot be loaded is a usage error: nothing runs. A failed workstream shows the
issues the error plugins found in its output and the last lines of the failing command's output.

Exit status: 0 every selected workstream succeeded; 1 one failed, was skipped, crashed or was
cancelled, or the specs have problems (printed as PATH:LINE:COL: JSON-PATH: message, as by "uet
plan"); 2 a usage error: unreadable specs, an unknown workstream or run, a folder that is not a git
repository, a --hook that cannot be loaded, --sandbox required without a sandbox, a repository in the
middle of a merge (or rebase, ...), records that cannot be written, or another "uet run" holding the
repository.
"""


def register(subparsers: Subparsers) -> None:
    parser = add_command(
        subparsers, "run", "run the workstreams of a phase set in isolated git worktrees and record everything", HELP
    )
    parser.add_argument("specs_dir", metavar="SPECS_DIR", help="folder searched for *.yaml, *.yml and *.json specs")
    parser.add_argument(
        "--repo", metavar="DIR", default=".", help="the git repository to work in (default: the one holding .)"
    )
    parser.add_argument(
        "--ws-id",
        metavar="ID",
        action="append",
        default=[],
        dest="ws_ids",
        help="run this workstream, named by its workstream id or its phase id (repeatable)",
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
    parser.add_argument(
        "--resume",
        metavar="RUN_ID",
        help="rerun what did not succeed in RUN_ID (latest, a run id or its start), reuse its successes",
    )
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("-q", "--quiet", action="store_true", help="print only the summary at the end")
    loudness.add_argument(
        "-v", "--verbose", action="store_true", help="also print each step and check as it starts and ends"
    )
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
    parser.add_argument(
        "--sandbox",
        choices=MODES,
        default=None,
        help="confine steps and checks to their worktree: auto (default), required, off, or a mechanism's name",
    )
    parser.add_argument(
        "--no-network", action="store_true", default=None, help="take the network away from every step and check"
    )
    parser.add_argument(
        "--durability",
        choices=get_args(DurabilityMode),
        default=None,
        help="normal (default): records survive a crash of uet at every moment and are synced to disk when the "
        "run ends; full: also sync each workstream's patch and audit lines as it ends (safe against power loss)",
    )
    parser.set_defaults(handler=run)


MAX_HOOK_BUDGET_S = 3600


def _sandbox(args: argparse.Namespace, config: RepoConfig | None) -> Sandbox:
    """The run's sandbox from the command line, else the repository config, else auto; warnings on stderr."""
    mode = args.sandbox or (config.sandbox if config is not None and config.sandbox else "auto")
    configured = config.no_network if config is not None and config.no_network is not None else False
    no_network = bool(args.no_network) if args.no_network is not None else configured
    box = sandbox.choose(mode, network=not no_network)  # RunRefused (exit 2) when the mode cannot be met
    if box.mechanism == "none" and mode == "auto":
        print(f"uet run: warning: no sandbox, steps run unconfined ({box.why_none})", file=sys.stderr)
    if no_network and not box.can_remove_network():
        print(
            f"uet run: warning: no network needs a sandbox that can take it away; with {box.mechanism} the network "
            "stays on",
            file=sys.stderr,
        )
    return box


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
    box = _sandbox(args, config)
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
        sandbox=box,
        durability=args.durability or (config.durability if config is not None and config.durability else "normal"),
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
        with reporter(verbosity=-1 if args.quiet else int(args.verbose)) as progress:
            cpu_before = time.process_time()
            outcome = execute_run(root, phase_set, options, progress, executor, hooks)
            run_cpu = time.process_time() - cpu_before  # this process's threads only: git and the commands not
            progress.close()
            progress.summary(outcome.records, outcome.failures)
    for problem in outcome.problems:
        print(f"uet run: {problem}", file=sys.stderr)
    if os.environ.get("UET_PROFILE"):
        git = isolation.GIT_TIME
        print(f"uet-profile: git {git.calls} calls {git.seconds:.6f} s; run cpu {run_cpu:.6f} s", file=sys.stderr)
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
