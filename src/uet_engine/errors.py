"""The engine's exception family: one base, ``EngineError``, and a subclass per kind of refusal.

Why one module: the CLI maps failures to exit codes and one-line messages in one place
(``uet_engine.cli.report_failure``), which needs every kind of failure to be known and to carry what a
person needs to act — the path, the run id, the phase. A stage raises the subclass that fits; nothing
below the CLI prints or exits. ``uet_contracts`` keeps its own ``ContractError`` (invalid contract data);
the engine's errors are about everything else: plans, runs, records, git, locks, backends.

Each class says in its docstring when it is raised and what the message names.
"""

from __future__ import annotations

from pathlib import Path

from uet_contracts import Problem


class EngineError(Exception):
    """Base of every failure the engine reports to a person instead of a traceback.

    ``exit_code`` is what ``uet`` exits with when this reaches the command line: 2 (usage, unreadable
    input, a refused run) unless a subclass says otherwise.
    """

    exit_code: int = 2


# -- planning -----------------------------------------------------------------------------------------------


class PlanError(EngineError):
    """A phase set that cannot be planned. ``problems`` lists every problem of the set, each naming its
    file; ``warnings`` those found alongside. ``unreadable`` is true when input could not be read at all
    (no such folder, no spec files, a file without read permission): the CLI exits 2 then, not 1."""

    def __init__(self, problems: list[Problem], *, warnings: list[Problem] | None = None, unreadable: bool = False):
        if not problems:
            raise ValueError("PlanError needs at least one problem")
        self.problems = problems
        self.warnings = warnings or []
        self.unreadable = unreadable
        self.exit_code = 2 if unreadable else 1
        super().__init__(problems[0].format())


class NewPhaseRefused(EngineError):
    """``uet new phase`` cannot write the spec asked for: an output file that exists (without --force), or,
    for the skeleton, an id that does not match its schema pattern, a dependency on itself or given twice,
    an id already used in the target folder, a dependency no spec there defines. The message names the
    option and the value; nothing was written."""


# -- execution ----------------------------------------------------------------------------------------------


class RunRefused(EngineError):
    """The run cannot start as asked (unknown workstream, unknown run to resume, …); nothing was run."""


class GitError(EngineError):
    """A git command failed; the message names the command and git's own one-line explanation."""


class MergeConflict(GitError):
    """The changes of a workstream's prerequisites cannot be merged: they change the same lines. Names the paths."""


class NotAGitRepo(EngineError):
    """The folder cannot host a run: not a git repository, or one without a commit. Says how to fix it."""


class BackendError(EngineError):
    """The chosen backend cannot be used (package missing, scheduler unreachable); nothing was run."""


class BadHook(EngineError):
    """A hook (``--hook MODULE:ATTR`` or a ``uet.hooks`` entry point) that cannot be imported, names a missing
    attribute, fails to be made, or is not a Hook; the message names it. Nothing was run."""


# -- saving -------------------------------------------------------------------------------------------------


class StoreError(EngineError):
    """A store operation refused for a reason a person can act on."""


class StoreMissing(StoreError):
    """There is no run store in the repository (nothing has been run there yet)."""


class RecordsUnwritable(StoreError):
    """The run's records could not be written or read: disk full, a read-only or immutable ``.runs/``, an
    unwritable audit log, a damaged store. The message names the file and the system's reason."""


class UnknownRun(StoreError):
    """A run named on the command line (a run id, ``latest`` or the start of a run id) that matches no
    recorded run, or more than one; the message says where it looked and lists the matching runs."""


class IllegalTransition(StoreError):
    """A status change the state machine does not allow, or for a workstream not in the run."""


class SavingInvariantError(StoreError):
    """Marking a workstream succeeded without the records that prove it; ``problems`` lists what is missing."""

    def __init__(self, run_id: str, workstream_id: str, problems: list[str]) -> None:
        self.run_id = run_id
        self.workstream_id = workstream_id
        self.problems = problems
        super().__init__(f"{run_id} {workstream_id}: cannot mark succeeded: " + "; ".join(problems))


class LockHeld(EngineError):
    """Another live process holds the repository's run lock; names the holder's run id and pid."""

    def __init__(self, repo: Path, holder_run_id: str | None, holder_pid: int | None) -> None:
        self.repo = repo
        self.run_id = holder_run_id
        self.pid = holder_pid
        who = holder_run_id or "unknown run"
        pid = f"pid {holder_pid}" if holder_pid is not None else "pid unknown"
        super().__init__(f"another uet run ({who}, {pid}) is using this repo: {repo}")


# -- patterns -----------------------------------------------------------------------------------------------


class PatternNotFound(EngineError):
    """No pattern candidate or anti-pattern has the id asked for; names the id and where it looked."""


class ReviewRefused(EngineError):
    """An approval or rejection that cannot be done as asked (a name already taken, rejecting an approved
    pattern); nothing was changed. Exit 1."""

    exit_code = 1


class ProblemsFound(EngineError):
    """Input the patterns stage reads is invalid: ``problems`` lists each, located (file, line, JSON path)
    where possible; the message is the first. Nothing was written. Exit 1."""

    exit_code = 1

    def __init__(self, problems: list[Problem], summary: str) -> None:
        if not problems:
            raise ValueError(f"{type(self).__name__} needs at least one problem")
        self.problems = problems
        self.summary = summary
        super().__init__(summary)


class RegistryError(ProblemsFound):
    """The pattern registry (``patterns/registry/PATTERN_INDEX.yaml``) is broken; it is left as it is."""


class TemplateError(ProblemsFound):
    """A template that cannot be found, loaded or filled in (missing, unknown or ill-typed parameters)."""
