"""Building the engine's ErrorEvents: the code of each type, a category, and always the fingerprint.

Why one builder: every ErrorEvent the engine writes must carry its error code and its fingerprint (fix
loops, ``uet errors`` and pattern automation group by it), whichever stage saw the failure — a worker, the
run's writer, a hook call, recovery. ``error_event`` builds one; ``stamp`` adds the fingerprint to an
event built elsewhere (an error plugin's), and is what the run's writer applies to everything it writes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, Final

from uet_contracts import ErrorCategory, ErrorEvent, ErrorType
from uet_engine import clock
from uet_engine.detection.error_codes import ERROR_CODES
from uet_engine.detection.fingerprints import fingerprint

# What kind of problem each engine error type is, when the type alone says so (plugins say more).
CATEGORY: Final[Mapping[ErrorType, ErrorCategory]] = {
    "timeout": "runtime",
    "scope_violation": "scope",
    "tool_missing": "infrastructure",
    "patch_conflict": "infrastructure",
    "crashed": "infrastructure",
    "internal": "infrastructure",
    "hook_failed": "infrastructure",
    "hook_timeout": "infrastructure",
    "plugin_failed": "infrastructure",
    "preflight_failed": "infrastructure",
}

# A message is one line a person acts on: longer ones are cut (the full output stays in the attempt).
MESSAGE_LIMIT: Final = 500


def one_line(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """``text`` on one line, at most ``limit`` characters (an ellipsis marks a cut); never empty."""
    flat = " ".join(text.split()) or "(no message)"
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def stamp(event: ErrorEvent) -> ErrorEvent:
    """``event`` with its fingerprint (computed from its code, workstream, path and message) when it has none."""
    if event.fingerprint is not None:
        return event
    return dataclasses.replace(
        event, fingerprint=fingerprint(event.error_code, event.workstream_id or "", event.path, event.message)
    )


def error_event(
    error_type: ErrorType,
    message: str,
    *,
    run_id: str,
    workstream_id: str | None = None,
    phase_id: str | None = None,
    task_id: str | None = None,
    files: list[str] | None = None,
    context: Mapping[str, Any] | None = None,
    **more: Any,
) -> ErrorEvent:
    """An engine ErrorEvent stamped now, with its code, its category (when the type implies one) and fingerprint.

    ``more`` sets ErrorEvent's optional fields (``tool``, ``path``, ``line``, ``category``…); context
    entries that are None are left out.
    """
    kept = {k: v for k, v in (context or {}).items() if v is not None}
    more.setdefault("category", CATEGORY.get(error_type))
    return stamp(
        ErrorEvent(
            timestamp=clock.utc_now(),
            run_id=run_id,
            workstream_id=workstream_id,
            phase_id=phase_id,
            error_type=error_type,
            error_code=ERROR_CODES[error_type],
            message=one_line(message),
            files=sorted(set(files)) if files else None,
            task_id=task_id,
            severity="error",
            context=kept or None,
            **more,
        )
    )
