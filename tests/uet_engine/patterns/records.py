"""Builds execution logs, attempts and error events in a real run store, for the mining and review tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from uet_contracts import ErrorEvent, ExecutionLog, ExecutionRequest, ExecutionResult, FileScope, StepAttempt
from uet_engine.detection.execution_log import digest
from uet_engine.saving.store import RunStore

START = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
SIG_A = digest("shape a")
SIG_B = digest("shape b")
SIG_FAIL = digest("failing check")
OUT_FAIL = digest("exit 1", {}, "UET-E102")


def log(
    n: int,
    *,
    kind: str = "EXEC-ATOMIC-CREATE",
    types: tuple[str, ...] = (".py",),
    tools: tuple[str, ...] = ("sh", "touch"),
    signature: str = SIG_A,
    success: bool = True,
    seconds: float = 1.0,
    run: str | None = None,
    ws: str = "ws-a",
    task: str = "step/0",
    pattern: str | None = None,
    error_code: str | None = None,
    at: datetime | None = None,
) -> ExecutionLog:
    """The ``n``-th log (n minutes after START unless ``at``); its run is ``run-<n>`` unless given."""
    context: dict[str, Any] = {"run_id": run or f"run-{n}", "workstream_id": ws, "task_id": task, "attempt": 1}
    if pattern is not None:
        context["pattern_id"] = pattern
    if error_code is not None or not success:
        context["error_code"] = error_code or "UET-E102"
    return ExecutionLog(
        timestamp=at or START + timedelta(minutes=n),
        operation_kind=kind,
        file_types=sorted(types),
        tools_used=sorted(tools),
        input_signature=signature,
        output_signature=digest("ok") if success else OUT_FAIL,
        success=success,
        time_taken_seconds=seconds,
        context=context,
    )


def error(run: str, ws: str, task: str, message: str, *, fingerprint: str | None = None) -> ErrorEvent:
    return ErrorEvent(
        timestamp=START,
        run_id=run,
        workstream_id=ws,
        error_type="acceptance_failed",
        error_code="UET-E102",
        message=message,
        task_id=task,
        severity="error",
        fingerprint=fingerprint,
    )


def attempt(
    run: str, ws: str, kind: Literal["step", "acceptance"], index: int, command: str, create: list[str]
) -> StepAttempt:
    request = ExecutionRequest(
        operation_kind="EXEC-ATOMIC-CREATE" if kind == "step" else "ACCEPTANCE-CHECK",
        tool="sh",
        run=command,
        file_scope=FileScope(create=create, modify=["setup.cfg"], read_only=["README.md"]),
        tools_used=["sh"],
        context={},
        run_id=run,
        workstream_id=ws,
    )
    result = ExecutionResult(
        success=True,
        exit_code=0,
        stdout="",
        stderr="",
        files_touched=[],
        started_at=START,
        finished_at=START,
        duration_s=0.1,
    )
    return StepAttempt(run_id=run, workstream_id=ws, kind=kind, index=index, attempt=1, request=request, result=result)


def store_with(
    repo: Path, logs: Sequence[ExecutionLog], errors: Sequence[ErrorEvent] = (), attempts: Sequence[StepAttempt] = ()
) -> None:
    """Adds the records to ``repo``'s store (made when missing)."""
    with RunStore.open(repo, audit=False) as store:
        store.add_execution_logs(logs)
        for event in errors:
            store.add_error(event)
        for tried in attempts:
            store.add_attempt(tried)
