"""The execution-log row of a finished attempt: valid, and signatures that follow the task's shape."""

from __future__ import annotations

import uet_contracts
from uet_contracts import ExecutionLog, ExecutionRequest, ExecutionResult, FileScope, StepAttempt
from uet_engine import clock
from uet_engine.detection.execution_log import execution_log


def test_execution_log_of_an_attempt_validates() -> None:
    now = clock.utc_now()
    request = ExecutionRequest(
        operation_kind="EXEC-ATOMIC-CREATE",
        tool="sh",
        run="touch a.py b",
        file_scope=FileScope(create=["a.py", "b"], modify=[], read_only=[]),
        tools_used=["sh"],
        context={},
        phase_id="PH-00",
    )
    result = ExecutionResult(
        success=True,
        exit_code=0,
        stdout="",
        stderr="",
        files_touched=["a.py", "b"],
        started_at=now,
        finished_at=now,
        duration_s=0.25,
    )
    attempt = StepAttempt(
        run_id="run-1", workstream_id="ws-a", kind="step", index=0, attempt=1, request=request, result=result
    )
    log = execution_log(attempt)
    uet_contracts.validate(uet_contracts.to_dict(log), ExecutionLog)
    assert (log.file_types, log.tools_used, log.success, log.time_taken_seconds) == (
        [".py", "<none>"],
        ["sh"],
        True,
        0.25,
    )
    assert log.context == {"run_id": "run-1", "workstream_id": "ws-a", "phase_id": "PH-00", "task_id": "step/0"}
    # The same input gives the same signature; another command another one.
    other = StepAttempt(
        run_id="run-2", workstream_id="ws-a", kind="step", index=0, attempt=1, request=request, result=result
    )
    assert execution_log(other).input_signature == log.input_signature
    changed = StepAttempt(
        run_id="run-1",
        workstream_id="ws-a",
        kind="step",
        index=0,
        attempt=1,
        request=ExecutionRequest(**{**request.__dict__, "run": "touch c"}),
        result=result,
    )
    assert execution_log(changed).input_signature != log.input_signature
