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
    "internal": "UET-E199",
}

# ``ExecutionResult.error`` of a task whose runner is missing, and of one cancelled before it finished.
PWSH_MISSING: Final = "pwsh (PowerShell 7) is not installed or not on PATH"
SH_MISSING: Final = "sh is not on PATH (on Windows install Git for Windows, which provides sh.exe)"
CANCELLED: Final = "cancelled before it finished"


def failure_type(kind: str, result: ExecutionResult) -> ErrorType | None:
    """The error type of a task's result (``kind``: step or acceptance); None when it succeeded."""
    if result.success:
        return None
    if result.error == CANCELLED:
        return "cancelled"
    if result.timed_out:
        return "timeout"
    if result.error in (PWSH_MISSING, SH_MISSING):
        return "tool_missing"
    return "step_failed" if kind == "step" else "acceptance_failed"
