"""The stable code of each error type the engine records (``ErrorEvent.error_code`` by ``error_type``).

Why a table of its own in error detection: a code is a promise to the error plugins and to people who
look it up, so it must never change once released and never be computed. Keyed by the schema's
``ErrorType`` and typed ``ErrorCode``, mypy rejects a key the schema does not know; a test checks the
keys are exactly the schema's error types and every code matches ``ErrorCode``'s pattern.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from uet_contracts import ErrorCode, ErrorType

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
