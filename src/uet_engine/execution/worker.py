"""One workstream, start to finish, inside its own git worktree: steps, file scope, acceptance, patch.

Why a module of its own: this is the part that runs on a pool thread, so it must not touch the run
store. Everything it learns goes to the coordinator through ``post`` (a StepAttempt when a task starts
and again when it ends) and, at the end, the returned ``Finished`` message. The coordinator alone writes.

The order inside a workstream:

1. the worktree is made from the run's base commit plus the patches of the prerequisites that
   succeeded in this run, in dependency order;
2. the steps run in order, each confined by the run's sandbox (``uet_engine.execution.sandbox``) when
   there is one; after each, a write the sandbox blocked fails it, and without a sandbox the ``Guard``
   looks for changes outside the worktree (the user's tree, git's config and hooks) before the engine
   runs git there again; then the worktree is staged and the paths it touched recorded;
3. the file scope is checked against everything the steps touched, and so is what the changes are (file
   types and modes, ``uet_engine.detection.patch_data``): a violation fails the workstream before any
   acceptance check runs;
4. the acceptance checks run in order: ``sh``, then ``python``, then ``powershell``;
5. the workstream's patch is the diff between the tree it started from and the tree the steps left.
   Acceptance checks verify, they never contribute: files they create (caches, reports) are not part
   of the patch and are not subject to the scope check. A patch holding the value of a secret
   variable fails the workstream instead (it would be stored in ``.ledger/patches``).

Worktrees are slots: a run keeps one per workstream running at the same time and resets it to a
pristine state for the next workstream (``isolation.prepare``); the run removes them when it ends.
"""

from __future__ import annotations

import dataclasses
import posixpath
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal, get_args

from uet_contracts import (
    AcceptanceCommand,
    ErrorEvent,
    ErrorType,
    ExecutionRequest,
    ExecutionResult,
    PhaseSpec,
    Runner,
    StepAttempt,
)
from uet_engine import clock
from uet_engine.detection import blocked, patch_data
from uet_engine.detection.error_codes import ERROR_CODES
from uet_engine.detection.redact import DEFAULT_OUTPUT_LIMIT, Redactor
from uet_engine.detection.scope import describe, violations
from uet_engine.errors import GitError
from uet_engine.execution import isolation
from uet_engine.execution.guard import Guard
from uet_engine.execution.process import CANCELLED, PWSH_MISSING, SH_MISSING, LiveProcesses, execute
from uet_engine.execution.sandbox import UNCONFINED, Confinement, Sandbox
from uet_engine.states import WorkerStatus

# The order acceptance checks run in (and are numbered in): the schema's Runner enum, sh, python, powershell,
# which is also the order of Acceptance's fields (a test holds the two together).
ACCEPTANCE_RUNNERS: Final[tuple[Runner, ...]] = get_args(Runner)
ACCEPTANCE_KIND = "ACCEPTANCE-CHECK"


@dataclass(frozen=True)
class Job:
    """What a pool thread needs to run one workstream."""

    run_id: str
    spec: PhaseSpec
    root: Path
    base_commit: str
    patches: Sequence[Path]
    worktree: Path
    env: Mapping[str, str]
    live: LiveProcesses
    redact: Redactor
    output_limit: int = DEFAULT_OUTPUT_LIMIT
    sandbox: Sandbox = UNCONFINED
    guard: Guard | None = None


@dataclass
class Finished:
    """The message a pool thread sends when its workstream is over (the coordinator records it)."""

    workstream_id: str
    status: WorkerStatus
    reason: str | None = None
    errors: list[ErrorEvent] = field(default_factory=list)
    patch: bytes = b""
    changes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Task:
    kind: Literal["step", "acceptance"]
    index: int
    request: ExecutionRequest
    expect_exit: int = 0
    success_pattern: str | None = None

    @property
    def task_id(self) -> str:
        return f"{self.kind}/{self.index}"


def tasks_of(run_id: str, spec: PhaseSpec) -> tuple[list[_Task], list[_Task]]:
    """The workstream's steps and acceptance checks as ExecutionRequests, in the order they run."""

    def request(kind: str, tool: Runner, run: str, index: int, timeout_s: float | None) -> ExecutionRequest:
        return ExecutionRequest(
            operation_kind=kind,
            tool=tool,
            run=run,
            file_scope=spec.file_scope,
            tools_used=[tool],
            context={"task_id": f"{'acceptance' if kind == ACCEPTANCE_KIND else 'step'}/{index}", "attempt": 1},
            run_id=run_id,
            workstream_id=spec.workstream_id,
            phase_id=spec.phase_id,
            timeout_s=timeout_s,
        )

    steps = [
        _Task("step", i, request(step.operation_kind, step.tool, step.run, i, step.timeout_s))
        for i, step in enumerate(spec.steps or [])
    ]
    checks: list[_Task] = []
    for runner in ACCEPTANCE_RUNNERS:
        for check in getattr(spec.acceptance, runner) or []:
            index = len(checks)
            if isinstance(check, AcceptanceCommand):
                checks.append(
                    _Task(
                        "acceptance",
                        index,
                        request(ACCEPTANCE_KIND, runner, check.run, index, check.timeout_s),
                        check.expect_exit or 0,
                        check.success_pattern,
                    )
                )
            else:
                checks.append(_Task("acceptance", index, request(ACCEPTANCE_KIND, runner, check, index, None)))
    return steps, checks


def _error(job: Job, error_type: ErrorType, message: str, *, task_id: str | None = None, **more: object) -> ErrorEvent:
    context = {k: v for k, v in more.items() if k != "files" and v is not None}
    files = more.get("files")
    return dataclasses.replace(
        _spec_error(job.run_id, job.spec, error_type, message),
        files=sorted(files) if isinstance(files, list | set | dict) else None,
        task_id=task_id,
        context=context or None,
    )


def not_run(job: Job, status: WorkerStatus, error_type: ErrorType, reason: str) -> Finished:
    """The Finished of a workstream that ended before its tasks could run (a remote executor's refusal or loss)."""
    return Finished(job.spec.workstream_id, status, reason, [_error(job, error_type, reason)])


def _spec_error(run_id: str, spec: PhaseSpec, error_type: ErrorType, message: str) -> ErrorEvent:
    return ErrorEvent(
        timestamp=clock.utc_now(),
        run_id=run_id,
        workstream_id=spec.workstream_id,
        phase_id=spec.phase_id,
        error_type=error_type,
        error_code=ERROR_CODES[error_type],
        message=message,
        severity="error",
    )


def not_run_refusal(run_id: str, spec: PhaseSpec, what: str, items: Sequence[str]) -> Finished:
    """A workstream failed for a change outside its worktree found after it ended (the run's records)."""
    reason = f"{what}: " + "; ".join(items)
    return Finished(spec.workstream_id, "failed", reason, [_spec_error(run_id, spec, "scope_violation", reason)])


def environment_fault(run_id: str, spec: PhaseSpec, why: str) -> ErrorEvent:
    """The error event of a workstream ended by a fault of the environment (disk full, unwritable records)."""
    return _spec_error(run_id, spec, "environment", f"the run stopped: {why}")


def _failure(job: Job, task: _Task, result: ExecutionResult) -> Finished:
    """The Finished message for a task that did not succeed, with its error event."""
    why = result.error or "failed"
    if why == CANCELLED:
        error = _error(job, "cancelled", f"{task.task_id} was interrupted", task_id=task.task_id)
        return Finished(job.spec.workstream_id, "cancelled", "cancelled by the user", [error])
    error_type: ErrorType
    if result.timed_out:
        error_type = "timeout"
    elif why in (PWSH_MISSING, SH_MISSING):
        error_type = "tool_missing"
    else:
        error_type = "step_failed" if task.kind == "step" else "acceptance_failed"
    reason = f"{task.task_id} ({task.request.tool}) failed: {why}"
    tail = result.stderr[-500:] if result.stderr else None
    error = _error(job, error_type, reason, task_id=task.task_id, exit_code=result.exit_code, stderr_tail=tail)
    return Finished(job.spec.workstream_id, "failed", reason, [error])


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
            root = job.root.resolve()
            shown = [blocked.describe(p, root, confinement.worktree) for p in paths]
            wt = confinement.worktree
            inside = [
                (p.relative_to(wt) if wt in p.parents else p.relative_to(root)).as_posix()
                for p in paths
                if root in p.parents
            ]
            return _scope_failure(job, task, f"the {confinement.mechanism} sandbox blocked a write", shown, inside)
        if read_only_fs and not result.success:
            what = f"the {confinement.mechanism} sandbox blocked a write"
            return _scope_failure(job, task, what, ["a read-only file system was reported"])
    if job.guard is not None:
        changed = job.guard.check(job.worktree)
        if changed:
            return _scope_failure(job, task, "changed files outside its worktree", changed)
    return None


def _change_problems(
    job: Job, entries: dict[str, tuple[str, str, str | None]], reserved: set[str]
) -> tuple[Finished | None, dict[str, str]]:
    """The scope check of everything the steps changed (paths, then file types and modes, then what git would
    have dropped); the refusal, if any, and the changes."""
    changes = {p: kind for p, (kind, _mode, _target) in entries.items()}
    existed = {p for p, kind in changes.items() if kind in ("modified", "deleted")}
    problems = violations(job.spec.file_scope, changes, existed.__contains__)
    typed = patch_data.entry_problems({p: patch_data.Entry(mode, target) for p, (_k, mode, target) in entries.items()})
    messages = describe(changes, {p: why for p, why in problems.items() if p not in typed})
    messages += [f"{p}: {changes[p]}, but {why}" for p, why in typed.items()]
    messages += [f"{p}: written, but {patch_data.reserved_reason(p) or 'it is reserved'}" for p in sorted(reserved)]
    if not messages:
        return None, changes
    reason = "file scope violated: " + "; ".join(sorted(messages))
    error = _error(job, "scope_violation", reason, files=sorted({*problems, *typed, *reserved}) or None)
    return Finished(job.spec.workstream_id, "failed", reason, [error], changes=changes), changes


def run_workstream(job: Job, post: Callable[[StepAttempt], None]) -> Finished:
    """Run one workstream in its own worktree and describe the outcome; never raises for the work itself."""
    path = job.worktree
    try:
        return _run(job, path, post)
    except GitError as exc:
        error = _error(job, "patch_conflict" if "apply" in str(exc) else "internal", str(exc))
        return Finished(job.spec.workstream_id, "failed", str(exc), [error])
    except Exception as exc:  # a bug must fail one workstream, not the coordinator
        message = f"internal error: {type(exc).__name__}: {exc}"
        return Finished(job.spec.workstream_id, "failed", message, [_error(job, "internal", message)])


def _run(job: Job, path: Path, post: Callable[[StepAttempt], None]) -> Finished:
    steps, checks = tasks_of(job.run_id, job.spec)
    base_tree = isolation.prepare(job.root, path, job.base_commit, job.patches)
    if job.guard is not None:
        job.guard.watch_slot(path)
    read_only = [p for p in job.spec.file_scope.read_only if not any(c in p for c in "*?[")]
    confinement = job.sandbox.confine(path, job.root, read_only=read_only, network=not job.spec.no_network)
    try:
        return _run_tasks(job, path, post, steps, checks, base_tree, confinement)
    finally:
        if confinement is not None:
            confinement.close()


def _run_tasks(
    job: Job,
    path: Path,
    post: Callable[[StepAttempt], None],
    steps: list[_Task],
    checks: list[_Task],
    base_tree: str,
    confinement: Confinement | None,
) -> Finished:
    ws = job.spec.workstream_id
    tree = base_tree
    known_dirs = set(isolation.tree_dirs(path, base_tree)) if steps else set()
    reserved: set[str] = set()
    entries: dict[str, tuple[str, str, str | None]] = {}  # the last step's changes, with modes

    def run_task(task: _Task) -> tuple[ExecutionResult, Finished | None]:
        stored = dataclasses.replace(task.request, run=job.redact(task.request.run))
        attempt = StepAttempt(
            run_id=job.run_id, workstream_id=ws, kind=task.kind, index=task.index, attempt=1, request=stored
        )
        post(attempt)
        started_ns = time.time_ns() - 2_000_000_000  # filesystems with coarse mtimes
        result = execute(
            task.request,
            path,
            expect_exit=task.expect_exit,
            success_pattern=task.success_pattern,
            env=job.env,
            output_limit=job.output_limit,
            live=job.live,
            confinement=confinement,
        )
        refused = _after_task(job, task, result, confinement)
        if refused is not None:
            post(dataclasses.replace(attempt, result=dataclasses.replace(result, success=False)))
            return result, refused
        if task.kind == "step" and result.success:
            nonlocal tree
            found = patch_data.reserved_paths(path, known_dirs, started_ns)
            reserved.update(found)
            after = isolation.stage_all(path) if not found else tree
            nonlocal entries
            entries = isolation.diff_entries(path, tree, after)
            touched = {p: kind for p, (kind, _mode, _target) in entries.items()}
            known_dirs.update(posixpath.dirname(p) for p in touched)
            result = dataclasses.replace(result, files_touched=sorted({*touched, *found}))
            tree = after
        post(dataclasses.replace(attempt, result=result))
        return result, None

    for task in steps:
        result, refused = run_task(task)
        if refused is not None:
            return refused
        if not result.success:
            return _failure(job, task, result)
        if reserved:
            break
    # One step's changes are those of the whole workstream: no second diff.
    whole = entries if len(steps) == 1 else isolation.diff_entries(path, base_tree, tree)
    refused, changes = _change_problems(job, whole, reserved)
    if refused is not None:
        return refused
    for task in checks:
        result, refused = run_task(task)
        if refused is not None:
            return refused
        if not result.success:
            return _failure(job, task, result)
    patch = isolation.diff(path, base_tree, tree)
    leaking = job.redact.files_with_secrets(patch)
    if leaking:
        reason = "its patch holds the value of a secret variable, in: " + ", ".join(leaking)
        error = _error(job, "secret_leak", reason, files=leaking)
        return Finished(ws, "failed", reason + "; the patch was not stored", [error], changes=changes)
    return Finished(ws, "succeeded", None, [], patch, changes)
