"""One workstream, start to finish, inside its own git worktree: steps, file scope, acceptance, patch.

Why a module of its own: this is the part that runs on a pool thread, so it must not touch the run
store. Everything it learns goes to the coordinator through ``post`` (a StepAttempt when a task starts
and again when it ends) and, at the end, the returned ``Finished`` message. The coordinator alone writes.

The order inside a workstream:

1. the worktree is made from the run's base commit plus the patches of the prerequisites that
   succeeded in this run, in dependency order;
2. the pre-flight checks run; a failing critical one fails the workstream (its fix hint in the reason)
   before any step, a failing other one is recorded as a warning; what they wrote is discarded;
3. the steps run in order (a runner's command, or an AI tool through its profile: ``agents``), or, when
   they declare ``depends_on``, in the batches of their task graph (``step_order``); after each step (or
   batch), the worktree is staged and the paths it touched recorded;
4. the file scope is checked against everything the steps touched, then the expected artifacts must
   exist (either failing fails the workstream before any acceptance check runs);
5. the acceptance checks run in order: ``sh``, then ``python``, then ``powershell``; a failing check
   with ``required: false`` is recorded as a warning and the workstream goes on;
6. the workstream's patch is the diff between the tree it started from and the tree the steps left.
   Acceptance checks verify, they never contribute: files they create (caches, reports) are not part
   of the patch and are not subject to the scope check.

Worktrees are slots: a run keeps one per workstream running at the same time and resets it to a
pristine state for the next workstream (``isolation.prepare``); the run removes them when it ends.
"""

from __future__ import annotations

import dataclasses
import tempfile
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
    Step,
    StepAttempt,
    ToolProfile,
)
from uet_engine import clock
from uet_engine.detection.artifacts import missing_artifacts
from uet_engine.detection.error_codes import ERROR_CODES
from uet_engine.detection.redact import DEFAULT_OUTPUT_LIMIT, Redactor
from uet_engine.detection.scope import describe, violations
from uet_engine.errors import GitError
from uet_engine.execution import agents, isolation
from uet_engine.execution.process import CANCELLED, PWSH_MISSING, SH_MISSING, LiveProcesses, execute
from uet_engine.execution.step_order import run_steps
from uet_engine.planning.profiles import is_runner
from uet_engine.states import WorkerStatus

# The order acceptance checks run in (and are numbered in): the schema's Runner enum, sh, python, powershell,
# which is also the order of Acceptance's fields (a test holds the two together).
ACCEPTANCE_RUNNERS: Final[tuple[Runner, ...]] = get_args(Runner)
ACCEPTANCE_KIND = "ACCEPTANCE-CHECK"
PRE_FLIGHT_KIND = "PRE-FLIGHT-CHECK"


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
    profiles: Mapping[str, ToolProfile] = field(default_factory=dict)
    modules: tuple[str, ...] = ()  # the modules the phase writes, when module manifests exist


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
    kind: Literal["pre_flight", "step", "acceptance"]
    index: int
    request: ExecutionRequest
    expect_exit: int = 0
    success_pattern: str | None = None
    expect_output: str | None = None
    required: bool = True  # False: a failure is recorded as a warning and the workstream goes on
    fix_hint: str | None = None
    step: Step | None = None  # a step with a tool profile: its request is made when it runs

    @property
    def task_id(self) -> str:
        return f"{self.kind}/{self.index}"


def tasks_of(run_id: str, spec: PhaseSpec, modules: Sequence[str] = ()) -> tuple[list[_Task], list[_Task]]:
    """The workstream's steps (in the order listed) and acceptance checks (in the order they run) as
    ExecutionRequests; each request's context names its task, workstream, phase and modules."""
    where: dict[str, object] = {"workstream_id": spec.workstream_id, "phase_id": spec.phase_id}
    if modules:
        where["module_ids"] = list(modules)

    def request(
        kind: str, tool: str, run: str, index: int, timeout_s: float | None, more: Mapping[str, object] | None = None
    ) -> ExecutionRequest:
        task_id = f"{'acceptance' if kind == ACCEPTANCE_KIND else 'step'}/{index}"
        return ExecutionRequest(
            operation_kind=kind,
            tool=tool,
            run=run,
            file_scope=spec.file_scope,
            tools_used=[tool],
            context={"task_id": task_id, "attempt": 1, **where, **(more or {})},
            run_id=run_id,
            workstream_id=spec.workstream_id,
            phase_id=spec.phase_id,
            timeout_s=timeout_s,
        )

    steps = [
        _Task("step", i, request(step.operation_kind, step.tool, step.run or step.tool, i, step.timeout_s))
        if is_runner(step.tool)
        else _Task("step", i, request(step.operation_kind, step.tool, step.prompt or step.tool, i, None), step=step)
        for i, step in enumerate(spec.steps or [])
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
                        request(ACCEPTANCE_KIND, runner, check.run, index, check.timeout_s, optional),
                        check.expect_exit or 0,
                        check.success_pattern,
                        check.expect_output,
                        check.required is not False,
                    )
                )
            else:
                checks.append(_Task("acceptance", index, request(ACCEPTANCE_KIND, runner, check, index, None)))
    return steps, checks


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
        tasks.append(_Task("pre_flight", i, request, *expect, fix_hint=check.fix_hint))
    return tasks


def _error(job: Job, error_type: ErrorType, message: str, *, task_id: str | None = None, **more: object) -> ErrorEvent:
    context = {k: v for k, v in more.items() if k != "files" and v is not None}
    files = more.get("files")
    return ErrorEvent(
        timestamp=clock.utc_now(),
        run_id=job.run_id,
        workstream_id=job.spec.workstream_id,
        phase_id=job.spec.phase_id,
        error_type=error_type,
        error_code=ERROR_CODES[error_type],
        message=message,
        files=sorted(files) if isinstance(files, list | set | dict) else None,
        task_id=task_id,
        severity="error",
        context=context or None,
    )


def not_run(job: Job, status: WorkerStatus, error_type: ErrorType, reason: str) -> Finished:
    """The Finished of a workstream that ended before its tasks could run (a remote executor's refusal or loss)."""
    return Finished(job.spec.workstream_id, status, reason, [_error(job, error_type, reason)])


_FAILED: Final[Mapping[str, ErrorType]] = {
    "pre_flight": "preflight_failed",
    "step": "step_failed",
    "acceptance": "acceptance_failed",
}


def _failure(job: Job, task: _Task, result: ExecutionResult) -> Finished:
    """The Finished message for a task that did not succeed, with its error event."""
    why = result.error or "failed"
    if why == CANCELLED:
        error = _error(job, "cancelled", f"{task.task_id} was interrupted", task_id=task.task_id)
        return Finished(job.spec.workstream_id, "cancelled", "cancelled by the user", [error])
    error_type: ErrorType
    if result.timed_out:
        error_type = "timeout"
    elif why in (PWSH_MISSING, SH_MISSING) or why.startswith("tool "):
        error_type = "tool_missing"
    else:
        error_type = _FAILED[task.kind]
    reason = f"{task.task_id} ({task.request.tool}) failed: {why}" + (
        f"; fix: {task.fix_hint}" if task.fix_hint else ""
    )
    tail = result.stderr[-500:] if result.stderr else None
    error = _error(job, error_type, reason, task_id=task.task_id, exit_code=result.exit_code, stderr_tail=tail)
    return Finished(job.spec.workstream_id, "failed", reason, [error])


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
    ws = job.spec.workstream_id
    steps, checks = tasks_of(job.run_id, job.spec, job.modules)
    base_tree = isolation.prepare(job.root, path, job.base_commit, job.patches)

    def attempt_task(task: _Task) -> tuple[StepAttempt, ExecutionResult]:
        """Post the task's started attempt, run it; the attempt and its result (posted by the caller)."""
        with tempfile.TemporaryDirectory(prefix="uet-agent-") as scratch:
            request, env, refused = task.request, job.env, None
            if task.step is not None:  # a tool profile's command line, made now (it names the worktree)
                prepared = agents.request_for(task.request, task.step, job.profiles, path, Path(scratch))
                if isinstance(prepared, str):
                    refused = prepared
                else:
                    request, env = prepared[0], {**job.env, **prepared[1]}
            argv = [job.redact(arg) for arg in request.argv] if request.argv else None
            stored = dataclasses.replace(request, run=job.redact(request.run), argv=argv)
            attempt = StepAttempt(
                run_id=job.run_id, workstream_id=ws, kind=task.kind, index=task.index, attempt=1, request=stored
            )
            post(attempt)
            result = (
                agents.refused(refused)
                if refused is not None
                else execute(
                    request,
                    path,
                    expect_exit=task.expect_exit,
                    success_pattern=task.success_pattern,
                    expect_output=task.expect_output,
                    env=env,
                    output_limit=job.output_limit,
                    live=job.live,
                )
            )
        return attempt, result

    def run_task(task: _Task) -> ExecutionResult:
        attempt, result = attempt_task(task)
        post(dataclasses.replace(attempt, result=result))
        return result

    warnings: list[ErrorEvent] = []

    def optional_failed(task: _Task, result: ExecutionResult) -> None:
        error = _failure(job, task, result).errors[0]
        warnings.append(dataclasses.replace(error, severity="warning"))

    for task in pre_flight_of(job.run_id, job.spec):
        result = run_task(task)
        if not result.success and task.required:
            return _failure(job, task, result)
        if not result.success:
            optional_failed(task, result)
    if job.spec.pre_flight and isolation.stage_all(path) != base_tree:  # checks verify, they never contribute
        base_tree = isolation.prepare(job.root, path, job.base_commit, job.patches)
    ran = run_steps(path, base_tree, job.spec, steps, attempt_task, post)
    if ran.failed is not None:
        return _failure(job, steps[ran.failed[0]], ran.failed[1])
    if ran.strays:
        error = _error(job, "scope_violation", ran.stray_reason, files=ran.strays)
        return Finished(ws, "failed", ran.stray_reason, [error], changes=ran.changes)
    tree = ran.tree
    changes = ran.changes if len(steps) == 1 else isolation.changes_between(path, base_tree, tree)
    existed = {p for p, kind in changes.items() if kind in ("modified", "deleted")}
    problems = violations(job.spec.file_scope, changes, existed.__contains__)
    if problems:
        reason = "file scope violated: " + "; ".join(describe(changes, problems))
        error = _error(job, "scope_violation", reason, files=list(problems))
        return Finished(ws, "failed", reason, [error], changes=changes)
    missing = missing_artifacts(path, job.spec.expected_artifacts or [])
    if missing:
        reason = "expected artifacts missing after the steps: " + ", ".join(missing)
        return Finished(ws, "failed", reason, [_error(job, "artifact_missing", reason, files=missing)], changes=changes)
    for task in checks:
        result = run_task(task)
        if not result.success and task.required:
            return _failure(job, task, result)
        if not result.success:
            optional_failed(task, result)
    note = "; ".join(f"optional {w.message}" for w in warnings) or None
    return Finished(ws, "succeeded", note, warnings, isolation.diff(path, base_tree, tree), changes)
