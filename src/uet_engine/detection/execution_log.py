"""The execution-log row of a finished task: what went in, what came out, how long it took.

Pattern automation mines these rows, so they describe a task by its *shape* (operation kind, runner,
command, file scope) and its outcome, with the run, workstream, phase and task named in ``context``.
Built here, in detection, because it is an observation of a task; saving stores it as it is.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import PurePosixPath

import uet_contracts
from uet_contracts import ExecutionLog, StepAttempt


def digest(*parts: object) -> str:
    """``sha256:<hex>`` of the parts' canonical JSON (keys sorted, no whitespace)."""
    text = json.dumps(parts, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return "sha256:" + hashlib.sha256(text).hexdigest()


def execution_log(attempt: StepAttempt) -> ExecutionLog:
    """The pattern-automation row of a finished attempt (``ValueError`` for one that has not finished)."""
    request, result = attempt.request, attempt.result
    if result is None:
        raise ValueError(f"{attempt.workstream_id} {attempt.kind}/{attempt.index}: the attempt has not finished")
    return ExecutionLog(
        timestamp=result.finished_at,
        operation_kind=request.operation_kind,
        file_types=sorted({PurePosixPath(p).suffix or "<none>" for p in result.files_touched}),
        tools_used=sorted(set(request.tools_used)),
        input_signature=digest(
            request.operation_kind, request.tool, request.run, uet_contracts.to_dict(request)["file_scope"]
        ),
        output_signature=digest(result.success, result.exit_code, sorted(result.files_touched)),
        success=result.success,
        time_taken_seconds=result.duration_s,
        context={
            "run_id": attempt.run_id,
            "workstream_id": attempt.workstream_id,
            "phase_id": request.phase_id,
            "task_id": f"{attempt.kind}/{attempt.index}",
        },
    )
