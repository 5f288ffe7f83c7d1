"""After a crash: mark what a dead run left queued or running as ``crashed``.

Called by the next ``uet run`` once it holds the repository lock (``lock.RunLock``). Holding the lock
proves no other run is alive, so every record still queued or running belongs to a dead process: it
moves to ``crashed`` through the store's normal transition (status, state_changed event and audit line
together), and each such run gets one ``run_crashed`` event.
"""

from __future__ import annotations

from uet_contracts import AuditEvent, RunRecord
from uet_engine import clock
from uet_engine.saving.store import RunStore


def mark_crashed(store: RunStore, *, reason: str | None = None) -> list[RunRecord]:
    """Moves every queued or running record to ``crashed``; returns the records as they now stand."""
    stranded = store.in_flight()
    crashed: list[RunRecord] = []
    for run_id in dict.fromkeys(record.run_id for record in stranded):
        why = reason or f"the engine process of {run_id} died before this workstream finished"
        at = clock.utc_now()
        store.event(run_id, "run_crashed", message=why, at=at)
        if store.audit is not None:
            store.audit.append(
                AuditEvent(timestamp=at, event_type="run.crashed", run_id=run_id, outcome="failure", message=why)
            )
        for record in stranded:
            if record.run_id == run_id:
                crashed.append(store.transition(run_id, record.workstream_id, "crashed", reason=why, at=at))
    return crashed
