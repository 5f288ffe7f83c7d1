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
from pathlib import Path

from uet_contracts import ContractError
from uet_engine.cli import Subparsers, add_command, print_plan_problems
from uet_engine.cli.options import add_planning_options, load_for
from uet_engine.detection.hooks import DEFAULT_BUDGET_S, installed_hooks, load_hook
from uet_engine.errors import GitError, PlanError
from uet_engine.execution import isolation
from uet_engine.execution.coordinator import execute_run
from uet_engine.execution.executors import DaskExecutor, Executor
from uet_engine.execution.progress import reporter
from uet_engine.execution.selection import Options, plan_lines
from uet_engine.patterns.templates import TemplateLibrary
from uet_engine.planning import profiles

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

On a terminal each running workstream shows its current step and how long it has been running; in a
pipe or a CI log there is one line per change of state. -q prints only the summary, -v also each step
as it starts and ends. NO_COLOR=1 turns every style off; FORCE_COLOR=1 keeps the styles in a pipe.

--dask-scheduler ADDRESS runs each workstream as a task on that existing Dask cluster instead of on
local threads (needs the dask and distributed packages). This process stays the only writer of the
records and the tree; the workers must see DIR at the same path (the same machine or a shared
filesystem). --jobs defaults to the cluster's total threads. A workstream's step progress arrives when
it ends, not live. On Ctrl-C or SIGTERM waiting tasks are cancelled and running ones are asked to kill
their processes.

--hook MODULE:ATTR adds a hook (a class or factory called with no arguments, or a hook object) that is
told of every workstream's start and end, every try's start and completion and every error recorded;
hooks installed as uet.hooks entry points are always added. A hook that raises or takes longer than
--hook-budget seconds a call (default 2) is recorded as an error event and disabled; it never changes an
outcome. A hook that cannot be loaded is a usage error: nothing runs. A failed workstream shows the
issues the error plugins found in its output and the last lines of the failing command's output.

Exit status: 0 every selected workstream succeeded; 1 one failed, was skipped, crashed or was
cancelled, or the specs have problems (printed as PATH:LINE:COL: JSON-PATH: message, as by "uet
plan"); 2 a usage error: unreadable specs, an unknown workstream or run, a folder that is not a git
repository, a --hook that cannot be loaded, or another "uet run" holding the repository.
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
    except ContractError as exc:
        print_plan_problems(PlanError(exc.errors))
        return _usage(f"{exc.errors[0].file} is not a valid RepoConfig; nothing run")
    except PlanError as exc:
        print_plan_problems(exc)
        print(f"uet run: {len(exc.problems)} problem(s) in {args.specs_dir}; nothing run", file=sys.stderr)
        return exc.exit_code
    sys.stderr.write("".join(problem.format() + "\n" for problem in phase_set.warnings))
    options = Options(
        ws_ids=args.ws_ids,
        no_deps=args.no_deps,
        jobs=args.jobs or os.cpu_count() or 1,
        resume=args.resume,
        project_id=config.project_id if config is not None else None,
        profiles=profiles.profiles(config),
        hook_budget_s=args.hook_budget,
    )
    if args.dry_run:
        sys.stdout.write("".join(line + "\n" for line in plan_lines(phase_set, options, root)))
        return 0
    with contextlib.ExitStack() as stack:
        executor: Executor | None = None
        if args.dask_scheduler:
            dask = stack.enter_context(DaskExecutor.connect(args.dask_scheduler))
            if args.jobs is None:
                threads = dask.threads
                if threads < 1:
                    return _usage(f"the Dask cluster at {args.dask_scheduler} has no workers")
                options = dataclasses.replace(options, jobs=threads)
            executor = dask
        with reporter(verbosity=-1 if args.quiet else int(args.verbose)) as progress:
            outcome = execute_run(root, phase_set, options, progress, executor, hooks)
            progress.close()
            progress.summary(outcome.records, outcome.failures)
    for problem in outcome.problems:
        print(f"uet run: {problem}", file=sys.stderr)
    if os.environ.get("UET_PROFILE"):
        print(f"uet-profile: git {isolation.GIT_TIME.calls} calls {isolation.GIT_TIME.seconds:.6f} s", file=sys.stderr)
    return 0 if outcome.succeeded else 1
