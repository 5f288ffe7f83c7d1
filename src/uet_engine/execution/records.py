"""The records a run writes, built from what happened: queued rows, audit lines (the run's, each task's),
conflict events.

Why apart from the writer: building a record is a pure function of the run's facts, so it is tested
without a store, and the writer stays a list of "write this, then that" in the order the saving
invariant needs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from uet_contracts import AuditEvent, AuditOutcome, ErrorEvent, PatchLedgerEntry, PhaseSpec, RunRecord, StepAttempt
from uet_engine import clock
from uet_engine.detection.events import error_event
from uet_engine.execution.inputs import spec_sha256
from uet_engine.execution.selection import UP_TO_DATE, Reuse
from uet_engine.states import TASK_FINISHED, TASK_STARTED, task_outcome


def queued_records(
    run_id: str,
    specs: Mapping[str, PhaseSpec],
    phases: Sequence[str],
    reused: Mapping[str, Reuse],
    base_commit: str,
    now: datetime,
    project_id: str | None = None,
) -> list[RunRecord]:
    """The first row of each workstream of the run: ``queued``, or ``succeeded`` when an earlier success is reused."""
    records: list[RunRecord] = []
    for phase in phases:
        spec = specs[phase]
        reuse = reused.get(phase)
        records.append(
            RunRecord(
                run_id=run_id,
                workstream_id=spec.workstream_id,
                phase_id=phase,
                project_id=project_id,
                status="succeeded" if reuse else "queued",
                created_at=now,
                updated_at=now,
                finished_at=now if reuse else None,
                base_commit=base_commit,
                spec_sha256=spec_sha256(spec),
                patch_id=reuse.record.patch_id if reuse else None,
                reused_from=(reuse.record.reused_from or reuse.record.run_id) if reuse else None,
                reason=UP_TO_DATE if reuse and reuse.up_to_date else None,
                inputs_sha256=reuse.record.inputs_sha256 if reuse else None,
            )
        )
    return records


def audit_line(
    run_id: str,
    event_type: str,
    outcome: AuditOutcome,
    message: str,
    *,
    workstream_id: str | None = None,
    patch_id: str | None = None,
) -> AuditEvent:
    """An audit line stamped now."""
    return AuditEvent(
        timestamp=clock.utc_now(),
        event_type=event_type,
        run_id=run_id,
        outcome=outcome,
        message=message,
        workstream_id=workstream_id,
        patch_id=patch_id,
    )


def task_line(attempt: StepAttempt) -> AuditEvent:
    """The audit line of a task attempt: ``task.started`` without a result, ``task.finished`` with one."""
    request, result = attempt.request, attempt.result
    if result is None:
        event_type, outcome = TASK_STARTED
        message = request.operation_kind
        moment = clock.utc_now()
    else:
        event_type, outcome = TASK_FINISHED, task_outcome(result.success)
        message = "ok" if result.success else (result.error or "failed")
        moment = result.finished_at
    return AuditEvent(
        timestamp=moment,
        event_type=event_type,
        run_id=attempt.run_id,
        workstream_id=attempt.workstream_id,
        task_id=f"{attempt.kind}/{attempt.index}",
        attempt=attempt.attempt,
        tool=request.tool,
        outcome=outcome,
        message=message,
    )


def patch_conflict(run_id: str, phase: str, entry: PatchLedgerEntry, why: str) -> ErrorEvent:
    """The error event of a succeeded workstream whose patch does not apply to the user's tree."""
    return error_event(
        "patch_conflict",
        why,
        run_id=run_id,
        workstream_id=entry.workstream_id,
        phase_id=phase,
        files=entry.files or None,
        context={"patch_id": entry.patch_id},
    )


def crashed(record: RunRecord) -> ErrorEvent:
    """The error event of a workstream a dead engine left queued or running (found by the next run)."""
    return error_event(
        "crashed",
        record.reason or f"the engine process of {record.run_id} died before this workstream finished",
        run_id=record.run_id,
        workstream_id=record.workstream_id,
        phase_id=record.phase_id,
    )


def preflight_failed(
    run_id: str, why: str, *, workstream_id: str | None = None, phase: str | None = None
) -> ErrorEvent:
    """The error event of a run refused before it queued anything (a reused patch that is damaged…)."""
    return error_event("preflight_failed", why, run_id=run_id, workstream_id=workstream_id, phase_id=phase)


def internal(run_id: str, exc: BaseException) -> ErrorEvent:
    """The error event of a bug in the run's own loop (the run stops; the next one marks what it left crashed)."""
    return error_event("internal", f"internal error: {type(exc).__name__}: {exc}", run_id=run_id)
