"""The stable code of each error type the engine records (``ErrorEvent.error_code`` by ``error_type``),
and which type a failed task's result is.

Why a table of its own in error detection: a code is a promise to the error plugins and to people who
look it up, so it must never change once released and never be computed. Keyed by the schema's
``ErrorType`` and typed ``ErrorCode``, mypy rejects a key the schema does not know; a test checks the
keys are exactly the schema's error types and every code matches ``ErrorCode``'s pattern.

``failure_type`` is the one reading of a result's failure: the worker's error event and the execution
log's output signature both use it, so they cannot disagree. The messages it recognises are the ones
``uet_engine.execution.process`` puts in ``ExecutionResult.error``; they live here, with their meaning.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from uet_contracts import ErrorCode, ErrorType, ExecutionResult

ERROR_CODES: Final[Mapping[ErrorType, ErrorCode]] = {
    "step_failed": "UET-E101",
    "acceptance_failed": "UET-E102",
    "timeout": "UET-E103",
    "tool_missing": "UET-E104",
    "scope_violation": "UET-E105",
    "patch_conflict": "UET-E106",
    "cancelled": "UET-E107",
    "crashed": "UET-E108",
    "preflight_failed": "UET-E109",
    "artifact_missing": "UET-E110",
    "hook_failed": "UET-E111",
    "hook_timeout": "UET-E112",
    "plugin_failed": "UET-E113",
    "fix_loop_stopped": "UET-E114",
    "internal": "UET-E199",
}

# ``ExecutionResult.error`` of a task whose runner is missing, and of one cancelled before it finished.
PWSH_MISSING: Final = "pwsh (PowerShell 7) is not installed or not on PATH"
SH_MISSING: Final = "sh is not on PATH (on Windows install Git for Windows, which provides sh.exe)"
CANCELLED: Final = "cancelled before it finished"


# The error type of a task that failed for a reason of its own, by the task's kind.
_FAILED: Final[Mapping[str, ErrorType]] = {
    "pre_flight": "preflight_failed",
    "step": "step_failed",
    "fix": "step_failed",
    "acceptance": "acceptance_failed",
}


def failure_type(kind: str, result: ExecutionResult) -> ErrorType | None:
    """The error type of a task's result (``kind``: pre_flight, step, acceptance or fix); None when it succeeded.

    A runner or tool that is missing (``tool …`` is how a tool profile's missing executable is reported)
    is ``tool_missing`` whatever the task.
    """
    if result.success:
        return None
    if result.error == CANCELLED:
        return "cancelled"
    if result.timed_out:
        return "timeout"
    if result.error in (PWSH_MISSING, SH_MISSING) or (result.error or "").startswith("tool "):
        return "tool_missing"
    return _FAILED.get(kind, "step_failed")
