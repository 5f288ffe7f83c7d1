"""The run-state machine of a workstream: how it enters a run, the moves it may make, which states are
final, and the audit line each state change writes.

Why a domain module of its own: the store enforces these rules on every write, ``uet runs verify``
re-checks stored timelines against them, and the progress display and ``uet runs`` count and order by
them. One copy, keyed by the schema's own ``RunStatus`` (and ``AuditOutcome``), means mypy rejects a
status the schema does not have, and every full list of statuses is read from the schema's enum at
import (``typing.get_args``), so a status added to the schema cannot be missing from a hand-kept copy;
the tests check that the tables below cover exactly the schema's statuses.

It imports nothing but ``uet_contracts`` and the standard library, so every stage can use it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final, Literal, NamedTuple, get_args

from uet_contracts import AuditOutcome, RunStatus

# Every status, in the schema's order (queued, running, then the final ones).
STATUSES: Final[tuple[RunStatus, ...]] = get_args(RunStatus)

# The state a workstream enters a run in; see ``may_enter`` for the one exception.
ENTRY_STATUS: Final[RunStatus] = "queued"

# The only moves a workstream's status may make. A status with no moves out is final.
TRANSITIONS: Final[Mapping[RunStatus, frozenset[RunStatus]]] = {
    "queued": frozenset({"running", "skipped", "cancelled", "crashed"}),
    "running": frozenset({"succeeded", "failed", "crashed", "cancelled"}),
}

# Derived, in the schema's order: a run is over for a workstream exactly when no move leads out.
FINAL_STATUSES: Final[tuple[RunStatus, ...]] = tuple(s for s in STATUSES if s not in TRANSITIONS)
IN_FLIGHT_STATUSES: Final[tuple[RunStatus, ...]] = tuple(s for s in STATUSES if s in TRANSITIONS)

# What a worker reports when a workstream's own tasks are over: crashed when the process running it died
# (a Dask worker lost in the middle). The coordinator alone decides skipped (a prerequisite did not
# succeed), and recovery finds the crashes of the engine itself. Where a worker's status reaches a
# ``RunStatus`` parameter, mypy checks these values are the schema's; a test checks they are final.
WorkerStatus = Literal["succeeded", "failed", "cancelled", "crashed"]


class AuditLine(NamedTuple):
    """The ``.runs/audit.jsonl`` line a state change writes: its dotted event type and its outcome."""

    event_type: str
    outcome: AuditOutcome


# The audit line written with each state change. Entering the run as queued writes none (the run's own
# run.started line covers the queue); entering as succeeded with reused_from writes the succeeded line.
AUDIT_FOR_STATUS: Final[Mapping[RunStatus, AuditLine]] = {
    "running": AuditLine("workstream.started", "info"),
    "succeeded": AuditLine("workstream.succeeded", "success"),
    "failed": AuditLine("workstream.failed", "failure"),
    "skipped": AuditLine("workstream.skipped", "skipped"),
    "crashed": AuditLine("workstream.crashed", "failure"),
    "cancelled": AuditLine("workstream.cancelled", "failure"),
}


# The audit lines of one task (a step or an acceptance check, one try of it): ``task.started`` (outcome
# info) when it starts and ``task.finished`` (success or failure) when it ends, each naming the workstream,
# the task, the try and the tool. ``uet runs verify`` matches them with the step attempts.
TASK_STARTED: Final[AuditLine] = AuditLine("task.started", "info")
TASK_FINISHED: Final = "task.finished"


def task_outcome(success: bool) -> AuditOutcome:
    """The outcome of a ``task.finished`` line."""
    return "success" if success else "failure"


def may_enter(status: RunStatus | None, reused_from: str | None) -> bool:
    """Whether a workstream may enter a run in ``status``: queued, or succeeded when ``reused_from`` names
    the earlier run whose success it reuses (``uet run --resume``)."""
    return status == ENTRY_STATUS or (status == "succeeded" and bool(reused_from))
