"""One workstream, start to finish, inside its own git worktree: steps, file scope, acceptance, patch.

Why a module of its own: this is the part that runs on a pool thread, so it must not touch the run
store. Everything it learns goes to the coordinator through ``post`` (a StepAttempt when a try starts and
again when it ends, then the ErrorEvents of a failed try) and, at the end, the returned ``Finished``
message. The coordinator alone writes.

The order inside a workstream:

1. the worktree is a slot reset to the commit the workstream starts from: the run's base commit, or
   the commit of its one direct prerequisite that succeeded in this run, or the merge of several
   (``isolation.start_commit``);
2. the pre-flight checks run; a failing critical one fails the workstream (its fix hint in the reason)
   before any step, a failing other one is recorded as a warning; what they wrote is discarded;
3. the steps run in order (a runner's command, or an AI tool through its profile: ``agents``), or, when
   they declare ``depends_on``, in the batches of their task graph (``step_order``: steps whose declared
   ``writes`` do not overlap run side by side); every command is confined by the run's sandbox
   (``uet_engine.execution.sandbox``) when there is one, and after each try a write the sandbox blocked
   fails it, and without a sandbox the ``Guard`` looks for changes outside the worktree (the user's tree,
   git's config and hooks) before the engine runs git there again; after each step (or batch), what git
   would silently drop (a nested ``.git``, the worktree's ``.runs/``) is looked for, the worktree is staged
   and the paths it touched recorded, and a step that wrote outside the ``writes`` it declared fails the
   workstream;
4. the file scope is checked against everything the steps touched, and so is what the changes are (file
   types and modes: ``uet_engine.detection.patch_data``), then the expected artifacts must exist (any of
   these failing fails the workstream before any acceptance check runs);
5. the acceptance checks run in order: ``sh``, then ``python``, then ``powershell``; a failing check
   with ``required: false`` is recorded as a warning and the workstream goes on;
6. when a required check fails and the spec has ``on_failure``, the fix loop runs: the worktree goes back
   to what the steps left, the fix steps run with the failed try's ErrorEvents in the JSON file named by
   ``UET_FAILURE_FILE``, the scope is checked again, and every acceptance check runs again, up to
   ``max_fix_attempts`` times. A circuit breaker stops the loop as soon as one error fingerprint has been
   seen ``max_same_error`` times (the fix is going round in circles) and says so in the reason;
7. the workstream's patch is the diff between the tree it started from and the tree the steps (and
   fix steps) left, and its commit (that tree on top of the start) is what its dependants start from.
   Pre-flight and acceptance checks verify, they never contribute: files they create
   (caches, reports) are not part of the patch and are not subject to the scope check. A patch holding
   the value of a secret variable fails the workstream instead (it would be stored in ``.ledger/``).

A step, check or fix step with ``retry`` is tried up to ``max_attempts`` times, ``delay_s`` apart; a step
retried starts again from the tree before its first try. Every try is its own StepAttempt (``attempt``
1, 2, …) and every command sees ``UET_RUN_ID``, ``UET_PHASE_ID``, ``UET_WORKSTREAM_ID`` and ``UET_ATTEMPT``.
A failed try's ErrorEvents are the engine's own (what failed, its exit code, the tail of its stderr) plus
the error plugins' findings in its output (``uet_engine.detection.plugins``).

Worktrees are slots: a run keeps one per workstream running at the same time and resets it to a
pristine state for the next workstream (``slots.prepare``); slots are kept for the next run.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import posixpath
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal, NamedTuple, get_args

import uet_contracts
from uet_contracts import (
    AcceptanceCommand,
    ErrorEvent,
    ErrorType,
    ExecutionRequest,
    ExecutionResult,
    PhaseSpec,
    Retry,
    Runner,
    Step,
    StepAttempt,
    ToolProfile,
    VerificationRef,
)
from uet_engine import clock
from uet_engine.detection import blocked, patch_data
from uet_engine.detection.artifacts import missing_artifacts
from uet_engine.detection.error_codes import CANCELLED, failure_type
from uet_engine.detection.events import error_event
from uet_engine.detection.execution_log import ACCEPTANCE_KIND
from uet_engine.detection.failure_report import location
from uet_engine.detection.plugins.registry import registry
from uet_engine.detection.redact import DEFAULT_OUTPUT_LIMIT, Redactor
from uet_engine.detection.scope import describe, violations
from uet_engine.errors import GitError, MergeConflict
from uet_engine.execution import agents, inputs, isolation, slots
from uet_engine.execution.guard import Guard
from uet_engine.execution.process import LiveProcesses, execute
from uet_engine.execution.sandbox import UNCONFINED, Confinement, Sandbox
from uet_engine.execution.step_order import Stray, at_once, credit, run_batches, stray
from uet_engine.planning.profiles import is_runner
from uet_engine.planning.tasks import step_node
from uet_engine.states import WorkerStatus

# The order acceptance checks run in (and are numbered in): the schema's Runner enum, sh, python, powershell,
# which is also the order of Acceptance's fields (a test holds the two together).
ACCEPTANCE_RUNNERS: Final[tuple[Runner, ...]] = get_args(Runner)
PRE_FLIGHT_KIND = "PRE-FLIGHT-CHECK"
# A fix loop's limits when the spec leaves them out.
DEFAULT_MAX_FIX_ATTEMPTS: Final = 3
DEFAULT_MAX_SAME_ERROR: Final = 2
STDERR_TAIL: Final = 500

# What a worker posts while its workstream runs: the tries, and the errors of those that failed.
Report = StepAttempt | ErrorEvent
TaskKind = Literal["pre_flight", "step", "acceptance", "fix"]
# Tasks whose successful tries change the tree (the others only verify).
MUTATING: Final[frozenset[TaskKind]] = frozenset({"step", "fix"})


@dataclass(frozen=True)
class Job:
    """What a pool thread needs to run one workstream."""

    run_id: str
    spec: PhaseSpec
    root: Path
    base_commit: str
    parents: Sequence[str]  # the commits of its direct prerequisites that succeeded in this run, in order
    worktree: Path
    env: Mapping[str, str]
    live: LiveProcesses
    redact: Redactor
    output_limit: int = DEFAULT_OUTPUT_LIMIT
    profiles: Mapping[str, ToolProfile] = field(default_factory=dict)
    check_slot: bool = False  # a slot carried over from an earlier run: confirm it is pristine first
    key_scope: inputs.KeyScope = field(default_factory=inputs.KeyScope)  # the files of its inputs key (inputs.py)
    start_tree: str | None = None  # the tree of the base or of its one parent, when the coordinator knows it
    slot_at: str | None = None  # the commit its slot was left at unchanged, when the coordinator knows it
    modules: tuple[str, ...] = ()  # the modules the phase writes, when module manifests exist
    sandbox: Sandbox = UNCONFINED
    guard: Guard | None = None  # without a sandbox: the after-step watch outside the worktree


@dataclass
class Finished:
    """The message a pool thread sends when its workstream is over (the coordinator records it).

    ``errors`` are the ErrorEvents not posted with a try: a scope violation, a stopped fix loop, an
    internal error, a refusal of a remote executor.
    """

    workstream_id: str
    status: WorkerStatus
    reason: str | None = None
    errors: list[ErrorEvent] = field(default_factory=list)
    patch: bytes = b""
    changes: dict[str, str] = field(default_factory=dict)
    commit: str | None = None  # on success: the end tree as a commit on top of the start (dependants start here)
    scope_sha256: str | None = None  # on success: the digest of its file-scope files in that tree (inputs.py)
    tree: str | None = None  # on success: the tree it left (its commit's tree)


@dataclass(frozen=True)
class _Task:
    kind: TaskKind
    index: int
    request: ExecutionRequest
    expect_exit: int = 0
    success_pattern: str | None = None
    retry: Retry | None = None
    expect_output: str | None = None
    required: bool = True  # False: a failure is recorded as a warning and the workstream goes on
    fix_hint: str | None = None
    step: Step | None = None  # a step with a tool profile: its request is made when it runs
    failure_pattern: str | None = None

    @property
    def task_id(self) -> str:
        return f"{self.kind}/{self.index}"


def tasks_of(run_id: str, spec: PhaseSpec, modules: Sequence[str] = ()) -> tuple[list[_Task], list[_Task], list[_Task]]:
    """The workstream's steps (in the order listed), acceptance checks and fix steps as ExecutionRequests.

    Each request's context names its task, workstream, phase and (when manifests exist) modules; a spec
    written from a template carries its template and pattern ids into every request's context too, so the
    execution logs say which pattern each task came from.
    """
    where: dict[str, object] = {"workstream_id": spec.workstream_id, "phase_id": spec.phase_id}
    if modules:
        where["module_ids"] = list(modules)
    origin = {"template_id": spec.template_id, "pattern_id": spec.pattern_id}
    origin = {key: value for key, value in origin.items() if value is not None}

    def request(
        kind: TaskKind,
        operation: str,
        tool: str,
        run: str,
        index: int,
        timeout_s: float | None,
        more: Mapping[str, object] | None = None,
    ) -> ExecutionRequest:
        return ExecutionRequest(
            operation_kind=operation,
            tool=tool,
            run=run,
            file_scope=spec.file_scope,
            tools_used=[tool],
            context={"task_id": f"{kind}/{index}", "attempt": 1, **where, **origin, **(more or {})},
            run_id=run_id,
            workstream_id=spec.workstream_id,
            phase_id=spec.phase_id,
            timeout_s=timeout_s,
        )

    def steps_of(kind: TaskKind, steps: Sequence[Step]) -> list[_Task]:
        return [
            _Task(kind, i, request(kind, s.operation_kind, s.tool, s.run or s.tool, i, s.timeout_s), retry=s.retry)
            if is_runner(s.tool)
            else _Task(
                kind, i, request(kind, s.operation_kind, s.tool, s.prompt or s.tool, i, None), retry=s.retry, step=s
            )
            for i, s in enumerate(steps)
        ]

    checks: list[_Task] = []
    for runner in ACCEPTANCE_RUNNERS:
        for check in getattr(spec.acceptance, runner) or []:
            index = len(checks)
            if isinstance(check, AcceptanceCommand):
                optional = {"required": False} if check.required is False else {}
                checks.append(
                    _Task(
                        "acceptance",
                        index,
                        request("acceptance", ACCEPTANCE_KIND, runner, check.run, index, check.timeout_s, optional),
                        check.expect_exit or 0,
                        check.success_pattern,
                        check.retry,
                        check.expect_output,
                        check.required is not False,
                        failure_pattern=check.failure_pattern,
                    )
                )
            elif isinstance(check, VerificationRef):  # load_phase_set resolves these; a caller that did not, fails
                raise ValueError(f"acceptance check 'verify: {check.verify}' was not resolved into a command")
            else:
                checks.append(
                    _Task("acceptance", index, request("acceptance", ACCEPTANCE_KIND, runner, check, index, None))
                )
    fixes = steps_of("fix", spec.on_failure.steps) if spec.on_failure else []
    return steps_of("step", spec.steps or []), checks, fixes


def pre_flight_of(run_id: str, spec: PhaseSpec) -> list[_Task]:
    """The workstream's pre-flight checks as tasks, in order (a critical one is required)."""
    tasks = []
    for i, check in enumerate(spec.pre_flight or []):
        request = ExecutionRequest(
            operation_kind=PRE_FLIGHT_KIND,
            tool=check.tool or "sh",
            run=check.run,
            file_scope=spec.file_scope,
            tools_used=[check.tool or "sh"],
            context={
                "task_id": f"pre_flight/{i}",
                "attempt": 1,
                **({"required": False} if check.critical is False else {}),
            },
            run_id=run_id,
            workstream_id=spec.workstream_id,
            phase_id=spec.phase_id,
            timeout_s=check.timeout_s,
        )
        expect = (check.expect_exit or 0, check.success_pattern, check.expect_output, check.critical is not False)
        exit_code, pattern, output, required = expect
        tasks.append(_Task("pre_flight", i, request, exit_code, pattern, None, output, required, check.fix_hint))
    return tasks


def _error(job: Job, error_type: ErrorType, message: str, *, task_id: str | None = None, **more: object) -> ErrorEvent:
    """An ErrorEvent of this job's workstream; ``more`` goes to its context (``files`` to its files)."""
    files = more.pop("files", None)
    context = dict(more)
    return error_event(
        error_type,
        message,
        run_id=job.run_id,
        workstream_id=job.spec.workstream_id,
        phase_id=job.spec.phase_id,
        task_id=task_id,
        files=sorted(files) if isinstance(files, list | set | dict) else None,
        context=context,
    )


def not_run(job: Job, status: WorkerStatus, error_type: ErrorType, reason: str) -> Finished:
    """The Finished of a workstream that ended before its tasks could run (a remote executor's refusal or loss)."""
    return Finished(job.spec.workstream_id, status, reason, [_error(job, error_type, reason)])


def not_run_refusal(run_id: str, spec: PhaseSpec, what: str, items: Sequence[str]) -> Finished:
    """A workstream failed for a change outside its worktree found after it ended (the run's records)."""
    reason = f"{what}: " + "; ".join(items)
    event = error_event(
        "scope_violation", reason, run_id=run_id, workstream_id=spec.workstream_id, phase_id=spec.phase_id
    )
    return Finished(spec.workstream_id, "failed", reason, [event])


def environment_fault(run_id: str, spec: PhaseSpec, why: str) -> ErrorEvent:
    """The error event of a workstream ended by a fault of the environment (disk full, unwritable records)."""
    message = f"the run stopped: {why}"
    return error_event("environment", message, run_id=run_id, workstream_id=spec.workstream_id, phase_id=spec.phase_id)


def _scope_failure(job: Job, task: _Task, what: str, items: Sequence[str], files: Sequence[str] = ()) -> Finished:
    """A task that reached outside its worktree: ``items`` as a person reads them, ``files`` the repository paths."""
    reason = f"{task.task_id} ({task.request.tool}) {what}: " + "; ".join(items)
    error = _error(job, "scope_violation", reason, task_id=task.task_id, files=list(files) or None, outside=list(items))
    return Finished(job.spec.workstream_id, "failed", reason, [error])


def _after_task(job: Job, task: _Task, result: ExecutionResult, confinement: Confinement | None) -> Finished | None:
    """The failure of a task whose writes the sandbox blocked or that changed something outside its worktree."""
    if confinement is not None:
        paths, read_only_fs = blocked.blocked_writes(
            result.stdout + "\n" + result.stderr, confinement.worktree, confinement.may_write
        )
        if paths:
            root, wt = job.root.resolve(), confinement.worktree
            shown = [blocked.describe(p, root, wt) for p in paths]
            files = [
                (p.relative_to(wt) if wt in p.parents else p.relative_to(root)).as_posix()
                for p in paths
                if root in p.parents
            ]
            return _scope_failure(job, task, f"the {confinement.mechanism} sandbox blocked a write", shown, files)
        if read_only_fs and not result.success:
            what = f"the {confinement.mechanism} sandbox blocked a write"
            return _scope_failure(job, task, what, ["a read-only file system was reported"])
    if job.guard is not None:
        changed = job.guard.check(job.worktree)
        if changed:
            return _scope_failure(job, task, "changed files outside its worktree", changed)
    return None


Entries = isolation.Entries
HIDDEN = (
    "marked assume-unchanged or skip-worktree in the worktree's index (git update-index), which would hide its "
    "changes from the patch"
)


def _change_problems(
    job: Job, entries: Entries, reserved: set[str], hidden: set[str]
) -> tuple[Finished | None, dict[str, str]]:
    """The scope check of everything the steps changed (paths, then file types and modes, then what git would
    have dropped or would not see); the refusal, if any, and the changes."""
    changes = {p: kind for p, (kind, _mode, _target) in entries.items()}
    existed = {p for p, kind in changes.items() if kind in ("modified", "deleted")}
    problems = violations(job.spec.file_scope, changes, existed.__contains__)
    typed = patch_data.entry_problems({p: patch_data.Entry(mode, target) for p, (_k, mode, target) in entries.items()})
    messages = describe(changes, {p: why for p, why in problems.items() if p not in typed})
    messages += [f"{p}: {changes[p]}, but {why}" for p, why in typed.items()]
    messages += [f"{p}: written, but {patch_data.reserved_reason(p) or 'it is reserved'}" for p in sorted(reserved)]
    messages += [f"{p}: {HIDDEN}" for p in sorted(hidden)]
    if not messages:
        return None, changes
    reason = "file scope violated: " + "; ".join(sorted(messages))
    error = _error(job, "scope_violation", reason, files=sorted({*problems, *typed, *reserved, *hidden}) or None)
    return Finished(job.spec.workstream_id, "failed", reason, [error], changes=changes), changes


class _Started(NamedTuple):
    """A try that has run and is not recorded yet: its started attempt, the stored request, the result."""

    attempt: StepAttempt
    stored: ExecutionRequest
    result: ExecutionResult
    refusal: Finished | None = None  # the try reached outside its worktree (``_after_task``)
    since_ns: int = 0  # when it started, less a margin for coarse mtimes (where planted entries are looked for)


@dataclass
class _Failed:
    """A task whose last try failed: the reason it gives the workstream and that try's ErrorEvents."""

    task: _Task
    result: ExecutionResult
    events: list[ErrorEvent]
    refusal: Finished | None = None  # the try reached outside its worktree: the workstream ends so, no retry

    @property
    def cancelled(self) -> bool:
        return self.result.error == CANCELLED

    @property
    def final(self) -> bool:
        """No retry and no fix loop follows: the user cancelled, or the try was refused."""
        return self.cancelled or self.refusal is not None

    @property
    def reason(self) -> str:
        why = f"{self.task.task_id} ({self.task.request.tool}) failed: {self.result.error or 'failed'}"
        return why + (f"; fix: {self.task.fix_hint}" if self.task.fix_hint else "")

    def finished(self, workstream_id: str, *, more: str = "", errors: Sequence[ErrorEvent] = ()) -> Finished:
        if self.refusal is not None:
            return self.refusal
        if self.cancelled:
            return Finished(workstream_id, "cancelled", "cancelled by the user", list(errors))
        return Finished(workstream_id, "failed", self.reason + more, list(errors))


def _signature(events: Sequence[ErrorEvent]) -> set[str]:
    """The fingerprints a fix loop compares tries by: the plugins' findings, else the engine's own event."""
    findings = [e for e in events if e.plugin is not None]
    return {e.fingerprint for e in (findings or events) if e.fingerprint is not None}


def _with_parents(folders: set[str]) -> set[str]:
    """The folders and every folder above them (a step's new ``a/b/c.txt`` names ``a/b``; ``a`` is new too)."""
    found = set(folders)
    for folder in folders:
        while (folder := posixpath.dirname(folder)) and folder not in found:
            found.add(folder)
    return found


def run_workstream(job: Job, post: Callable[[Report], None]) -> Finished:
    """Run one workstream in its own worktree and describe the outcome; never raises for the work itself."""
    try:
        return _Run(job, post).run()
    except GitError as exc:
        conflict = isinstance(exc, MergeConflict) or "apply" in str(exc)
        error = _error(job, "patch_conflict" if conflict else "internal", str(exc))
        return Finished(job.spec.workstream_id, "failed", str(exc), [error])
    except Exception as exc:  # a bug must fail one workstream, not the coordinator
        message = f"internal error: {type(exc).__name__}: {exc}"
        return Finished(job.spec.workstream_id, "failed", message, [_error(job, "internal", message)])


class _Run:
    """One workstream's run inside its worktree: the state its tries share (tree, changes, try counters)."""

    def __init__(self, job: Job, post: Callable[[Report], None]) -> None:
        self.job = job
        self.post = post
        self.path = job.worktree
        self.ws = job.spec.workstream_id
        self.tries: Counter[str] = Counter()
        self.base_tree = ""
        self.tree = ""
        self.start = ""  # the commit it starts from
        self.scope: str | None = None  # the digest of its key's files in the tree the steps left
        self.mutations: list[dict[str, str]] = []  # what each successful step or fix step touched
        self.entries: list[Entries] = []  # the same, with git modes and symlink targets
        self.warnings: list[str] = []  # what the optional checks that failed said
        self.strays: Stray | None = None  # paths written outside the writes the steps declared
        self.confinement: Confinement | None = None
        self.known_dirs: set[str] = set()  # the worktree's folders, where a planted .git is looked for
        # How long before a try started a folder's time may already show the try's change: a file system's times
        # lag its clock by a tick, or are whole seconds (``clock.racy_window``). A folder changed since is looked in.
        self.margin_ns = clock.RACY_NS
        self.reserved: set[str] = set()  # what git would have dropped from the patch (a nested .git, .runs/…)
        self.planted: list[str] = []  # what the last staging found of those
        # The patch and commit of the tree the steps left, started while the acceptance checks run: (tree, both)
        self.ahead: tuple[str, tuple[isolation.Started, isolation.Started]] | None = None

    def run(self) -> Finished:
        steps, checks, fixes = tasks_of(self.job.run_id, self.job.spec, self.job.modules)
        job = self.job
        self.start = isolation.start_commit(job.root, job.base_commit, job.parents)
        known = job.start_tree if len(job.parents) < 2 else None
        # Checked first also whenever nothing confines the commands, on whichever executor: a command of the
        # slot's last workstream may have marked index entries assume-unchanged, which survives the slot's reset.
        check = job.check_slot or job.sandbox.mechanism == "none"
        self.base_tree = self.tree = slots.prepare(
            job.root, self.path, self.start, check=check, tree=known, at=job.slot_at
        )
        if job.guard is not None:
            job.guard.watch_slot(self.path)
        self.margin_ns = clock.racy_window(os.stat(self.path))
        if steps or fixes:
            self.known_dirs = set(isolation.tree_dirs(self.path, self.base_tree))
        read_only = [p for p in job.spec.file_scope.read_only if not any(c in p for c in "*?[")]
        self.confinement = job.sandbox.confine(
            self.path, job.root, read_only=read_only, network=not job.spec.no_network
        )
        try:
            return self._run(steps, checks, fixes)
        finally:
            self._drop_ahead()
            if self.confinement is not None:
                self.confinement.close()

    def _run(self, steps: list[_Task], checks: list[_Task], fixes: list[_Task]) -> Finished:
        for task in pre_flight_of(self.job.run_id, self.job.spec):
            failed = self._with_retries(task)
            if failed is not None:
                return failed.finished(self.ws)
        staged = isolation.stage_changes(self.path, self.start, self.base_tree) if self.job.spec.pre_flight else None
        if staged is not None and staged != self.base_tree:  # checks never contribute
            self.base_tree = self.tree = slots.prepare(self.job.root, self.path, self.start, tree=self.base_tree)
        stop = lambda: self.strays is not None or bool(self.reserved)  # noqa: E731 - the batches' stop signal
        failed = run_batches(self.job.spec, steps, self._alone, self._side_by_side, stop)
        if failed is not None:
            return failed.finished(self.ws)
        if self.strays is not None:
            error = _error(self.job, "scope_violation", self.strays.reason, files=self.strays.paths)
            changes = isolation.changes_between(self.path, self.base_tree, self.tree)
            return Finished(self.ws, "failed", self.strays.reason, [error], changes=changes)
        changes, refused = self._scope()
        if refused is not None:
            return refused
        missing = missing_artifacts(self.path, self.job.spec.expected_artifacts or [])
        if missing:
            reason = "expected artifacts missing after the steps: " + ", ".join(missing)
            error = _error(self.job, "artifact_missing", reason, files=missing)
            return Finished(self.ws, "failed", reason, [error], changes=changes)
        self._start_ahead(checks)
        failed = self._checks(checks)
        if failed is not None and fixes and not failed.final:
            return self._fix_loop(failed, checks, fixes)
        if failed is not None:
            return failed.finished(self.ws)
        return self._succeeded(changes)

    def _succeeded(self, changes: dict[str, str]) -> Finished:
        note = "; ".join(f"optional {warning}" for warning in self.warnings) or None
        if self.tree == self.base_tree:
            patch, commit = b"", self.start
        elif self.ahead is not None and self.ahead[0] == self.tree:
            started_patch, started_commit = self.ahead[1]
            patch = started_patch.result().stdout
            commit = started_commit.result().stdout.decode("utf-8").strip()
        else:
            patch = isolation.diff(self.path, self.base_tree, self.tree)
            commit = isolation.commit_result(self.path, self.tree, self.start)
        leaking = self.job.redact.files_with_secrets(patch)
        if leaking:
            reason = "its patch holds the value of a secret variable, in: " + ", ".join(leaking)
            error = _error(self.job, "secret_leak", reason, files=leaking)
            return Finished(self.ws, "failed", reason + "; the patch was not stored", [error], changes=changes)
        if commit != self.start:  # its dependants start from this tree: they need not list its folders again
            isolation.remember_tree_dirs(self.tree, frozenset(_with_parents(self.known_dirs)))
        return Finished(self.ws, "succeeded", note, [], patch, changes, commit, self.scope, self.tree)

    def _start_ahead(self, checks: Sequence[_Task]) -> None:
        """Before acceptance checks, start the patch and commit of the tree the steps (or fix steps) left: they
        depend on nothing the checks do, and in a chain of workstreams every millisecond here is on the path."""
        self._drop_ahead()
        if checks and self.tree != self.base_tree:
            self.ahead = (self.tree, isolation.result_started(self.path, self.base_tree, self.tree, self.start))

    def _drop_ahead(self) -> None:
        if self.ahead is not None:
            for started in self.ahead[1]:
                started.close()
            self.ahead = None

    def _scope(self) -> tuple[dict[str, str], Finished | None]:
        """Everything touched so far, and the Finished of a scope violation (None when the scope holds): paths,
        file types and modes, and what git would have dropped."""
        if len(self.entries) == 1:  # one step's changes are the workstream's: no second diff
            entries = self.entries[0]
        else:
            entries = isolation.diff_entries(self.path, self.base_tree, self.tree)
        # Index entries the steps marked so that git add -A skips their changes: read once, as the flags persist.
        # Confined steps cannot mark any: every mechanism keeps the worktree's index (in .git/worktrees/, outside
        # the worktree) read-only to them, so there the read would only cost a walk of the index.
        hidden = set(slots.hidden_entries(self.path)) if self.confinement is None else set()
        refused, changes = _change_problems(self.job, entries, self.reserved, hidden)
        if refused is None:
            # Now, before the acceptance checks (which may leave files behind): the key is of what the steps made.
            include = self.job.key_scope.include
            self.scope = inputs.scope_digest(
                inputs.blobs_after_steps(self.path, self.tree, include), self.job.key_scope
            )
            return changes, None
        return changes, refused

    # -- the steps, in the batches of their task graph (``step_order``) -----------------------------------------

    def _step(self, task: _Task) -> Step:
        return (self.job.spec.steps or [])[task.index]

    def _alone(self, task: _Task) -> _Failed | None:
        """One step on its own, with its retries; what it touched must lie in the writes it declared."""
        before = len(self.mutations)
        failed = self._with_retries(task)
        if failed is None and len(self.mutations) > before:
            credited = credit(self.mutations[-1], [self._step(task).writes])
            self.strays = stray([step_node(self._step(task), task.index)], credited)
        return failed

    def _side_by_side(self, batch: Sequence[_Task]) -> _Failed | None:
        """Steps with disjoint writes (and no retry) at the same time; the tree staged once after them all,
        each changed path credited to the step whose writes cover it. After a failure nothing is staged."""
        started = at_once(lambda task: self._start(task, None), batch)
        files: list[list[str]] = [[] for _ in batch]
        if all(begun.result.success and begun.refusal is None for begun in started):
            touched = self._stage(min(begun.since_ns for begun in started))
            credited = credit(touched, [self._step(task).writes for task in batch])
            files = credited.files
            self.strays = stray([step_node(self._step(task), task.index) for task in batch], credited)
        ended = [self._end(task, begun, paths) for task, begun, paths in zip(batch, started, files, strict=True)]
        return next((failed for failed in ended if failed is not None), None)

    def _checks(self, checks: Sequence[_Task]) -> _Failed | None:
        for task in checks:
            failed = self._with_retries(task)
            if failed is not None:
                return failed
        return None

    # -- one task, one try ------------------------------------------------------------------------------

    def _with_retries(self, task: _Task, env: Mapping[str, str] | None = None) -> _Failed | None:
        """Try ``task`` until it succeeds or its ``retry`` is spent; the last failed try, or None."""
        tries = task.retry.max_attempts if task.retry else 1
        delay = (task.retry.delay_s or 0) if task.retry else 0
        failed: _Failed | None = None
        for number in range(tries):
            if number:
                # Cancelled while waiting: the next try starts nothing and is recorded as cancelled.
                self.job.live.wait(delay)
                if task.kind != "acceptance":
                    isolation.restore(self.path, self.tree)
            failed = self._try(task, env)
            if failed is None or failed.final:
                return failed
        return failed

    def _try(self, task: _Task, env: Mapping[str, str] | None) -> _Failed | None:
        """One try of ``task``: its StepAttempt before and after, and its ErrorEvents when it fails.

        A failed optional check (``required: false``) posts its events as warnings and counts as passed.
        """
        return self._end(task, self._start(task, env), None)

    def _start(self, task: _Task, env: Mapping[str, str] | None) -> _Started:
        """A try up to its result: the started StepAttempt posted, the command run (not yet recorded)."""
        number = self.tries[task.task_id] = self.tries[task.task_id] + 1
        # The scratch folder holds a tool profile's prompt file; a runner's command (sh/python/powershell) has none,
        # and creating and removing a folder per command costs about a millisecond.
        folder = tempfile.TemporaryDirectory(prefix="uet-agent-") if task.step is not None else None
        with folder or contextlib.nullcontext() as scratch:
            if self.confinement is not None and scratch is not None:
                self.confinement.expose(Path(scratch))  # the prompt file lives there
            request = dataclasses.replace(task.request, context={**task.request.context, "attempt": number})
            command_env, refused = {**self.job.env, **(env or {}), "UET_ATTEMPT": str(number)}, None
            if task.step is not None:  # a tool profile's command line, made now (it names the worktree)
                assert scratch is not None
                prepared = agents.request_for(request, task.step, self.job.profiles, self.path, Path(scratch))
                if isinstance(prepared, str):
                    refused = prepared
                else:
                    request, command_env = prepared[0], {**command_env, **prepared[1]}
            argv = [self.job.redact(arg) for arg in request.argv] if request.argv else None
            stored = dataclasses.replace(request, run=self.job.redact(request.run), argv=argv)
            attempt = StepAttempt(
                run_id=self.job.run_id,
                workstream_id=self.ws,
                kind=task.kind,
                index=task.index,
                attempt=number,
                request=stored,
            )
            self.post(attempt)
            since_ns = time.time_ns() - self.margin_ns
            result = (
                agents.refused(refused)
                if refused is not None
                else execute(
                    request,
                    self.path,
                    expect_exit=task.expect_exit,
                    success_pattern=task.success_pattern,
                    expect_output=task.expect_output,
                    failure_pattern=task.failure_pattern,
                    env=command_env,
                    output_limit=self.job.output_limit,
                    live=self.job.live,
                    confinement=self.confinement,
                )
            )
        refusal = _after_task(self.job, task, result, self.confinement)
        return _Started(attempt, stored, result, refusal, since_ns)

    def _stage(self, since_ns: int) -> dict[str, str]:
        """Stage what the steps left (unless git would drop something: then nothing is staged and the scope check
        names it) and record what they touched; the touched paths."""
        found = patch_data.reserved_paths(self.path, self.known_dirs, since_ns)
        self.reserved.update(found)
        entries: Entries
        if found:
            after, entries = self.tree, {}
        else:
            after, entries = isolation.stage_and_diff(self.path, self.start, self.base_tree, self.tree)
        touched = {p: kind for p, (kind, _mode, _target) in entries.items()}
        if entries:
            self.entries.append(entries)
            self.mutations.append(touched)
        self.known_dirs.update(_with_parents({posixpath.dirname(p) for p in entries}))
        self.tree = after
        self.planted = found
        return touched

    def _end(self, task: _Task, started: _Started, credited: list[str] | None) -> _Failed | None:
        """A try's end: the tree staged and what it touched recorded (unless ``credited`` is given: the paths
        credited to it after a batch), the finished StepAttempt posted, its ErrorEvents when it failed."""
        attempt, stored, result, refusal, since_ns = started
        if refusal is not None:
            result = dataclasses.replace(result, success=False, error=refusal.reason)
            self.post(dataclasses.replace(attempt, result=result))
            return _Failed(task, result, [], refusal)
        if credited is not None:
            result = dataclasses.replace(result, files_touched=sorted(credited))
        elif task.kind in MUTATING and result.success:
            touched = self._stage(since_ns)
            result = dataclasses.replace(result, files_touched=sorted({*touched, *self.planted}))
        self.post(dataclasses.replace(attempt, result=result))
        if result.success:
            return None
        events = self._failure_events(task, stored, result)
        if not task.required and result.error != CANCELLED:
            events = [dataclasses.replace(event, severity="warning") for event in events]
            self.warnings.append(events[0].message)
            for event in events:
                self.post(event)
            return None
        for event in events:
            self.post(event)
        return _Failed(task, result, events)

    def _failure_events(self, task: _Task, request: ExecutionRequest, result: ExecutionResult) -> list[ErrorEvent]:
        """The engine's event for a failed try, then the error plugins' findings in its output."""
        why = result.error or "failed"
        attempt = request.context["attempt"]
        if why == CANCELLED:
            return [
                _error(self.job, "cancelled", f"{task.task_id} was interrupted", task_id=task.task_id, attempt=attempt)
            ]
        error_type = failure_type(task.kind, result) or "internal"
        own = _error(
            self.job,
            error_type,
            f"{task.task_id} ({task.request.tool}) failed: {why}"
            + (f"; fix: {task.fix_hint}" if task.fix_hint else ""),
            task_id=task.task_id,
            attempt=attempt,
            exit_code=result.exit_code,
            stderr_tail=result.stderr[-STDERR_TAIL:] if result.stderr else None,
        )
        if result.exit_code is None and not result.timed_out:
            return [own]  # it never ran: there is no output to read
        findings, broken = registry().findings(request, result, self.path)
        return [own, *findings, *broken]

    # -- the fix loop -----------------------------------------------------------------------------------

    def _fix_loop(self, failed: _Failed, checks: Sequence[_Task], fixes: Sequence[_Task]) -> Finished:
        on_failure = self.job.spec.on_failure
        assert on_failure is not None
        max_fixes = on_failure.max_fix_attempts or DEFAULT_MAX_FIX_ATTEMPTS
        max_same = on_failure.max_same_error or DEFAULT_MAX_SAME_ERROR
        seen: Counter[str] = Counter(_signature(failed.events))
        folder = Path(tempfile.mkdtemp(prefix="uet-failure-"))
        if self.confinement is not None:
            self.confinement.expose(folder)  # the fix steps read UET_FAILURE_FILE from there
        try:
            for round_number in range(1, max_fixes + 1):
                isolation.restore(self.path, self.tree)  # what the checks left behind is never part of the fix
                failure_file = folder / f"failure-{round_number}.json"
                failure_file.write_text(
                    json.dumps([uet_contracts.to_dict(e) for e in failed.events], ensure_ascii=False, indent=2),
                    encoding="utf-8",
                )
                for task in fixes:
                    broken = self._with_retries(task, {"UET_FAILURE_FILE": str(failure_file)})
                    if broken is not None:
                        return broken.finished(self.ws)
                changes, refused = self._scope()
                if refused is not None:
                    return refused
                self._start_ahead(checks)
                again = self._checks(checks)
                if again is None:
                    return self._succeeded(changes)
                if again.final:
                    return again.finished(self.ws)
                failed = again
                seen.update(_signature(failed.events))
                repeated = next((e for e in failed.events if e.fingerprint and seen[e.fingerprint] >= max_same), None)
                if repeated is not None:
                    why = (
                        f"fix loop stopped by its circuit breaker after {round_number} fix attempt(s): the same "
                        f"error came back {seen[repeated.fingerprint or '']} times ({location(repeated)})"
                    )
                    return self._stopped(failed, why, round_number, repeated.fingerprint)
            why = f"fix loop gave up after {max_fixes} fix attempt(s)"
            return self._stopped(failed, why, max_fixes, None)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _stopped(self, failed: _Failed, why: str, rounds: int, fingerprint: str | None) -> Finished:
        stop = _error(
            self.job, "fix_loop_stopped", why, task_id=failed.task.task_id, fix_attempts=rounds, repeated=fingerprint
        )
        return failed.finished(self.ws, more=f"; {why}", errors=[stop])
