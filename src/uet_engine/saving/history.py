"""Run history at scale: the newest runs for ``uet runs list``, and which old runs ``uet runs prune`` removes.

Why apart from the store: these are read-side questions over the key columns and the ``runs`` index
(store schema version 3); they never decode a record, so ``uet runs list`` costs what it
prints whatever the history holds. The store keeps the one write they need (``RunStore.prune``).

What prune keeps, so that ``uet runs verify`` still passes and re-runs stay incremental: a run with a
workstream still queued or running, a run whose success a remaining run reuses (``reused_from``), and
the run holding each workstream's latest success (what the next run's up-to-date check compares with).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from uet_contracts import RunStatus
from uet_engine.saving.store import RunStore, started_text
from uet_engine.states import IN_FLIGHT_STATUSES


@dataclass(frozen=True)
class RunSummary:
    """One line of ``uet runs list``: a run, when it started, and how many workstreams are in each status."""

    run_id: str
    started_at: datetime
    counts: dict[RunStatus, int]


@dataclass(frozen=True)
class Pruning:
    """What ``uet runs prune`` removes, and the old runs it keeps (see the module doc)."""

    remove: list[str]
    kept: list[str]


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def summaries(
    store: RunStore, *, limit: int | None = None, status: RunStatus | None = None, since: datetime | None = None
) -> list[RunSummary]:
    """The newest runs first (by start), at most ``limit``: those with a workstream in ``status``, those
    started at or after ``since``."""
    where: list[str] = []
    params: list[object] = []
    if since is not None:
        where.append("started_at >= ?")
        params.append(started_text(since))
    if status is not None:
        where.append("run_id IN (SELECT run_id FROM uet_runs WHERE status = ?)")
        params.append(status)
    sql = "SELECT run_id, started_at FROM runs" + (" WHERE " + " AND ".join(where) if where else "")
    sql += " ORDER BY started_at DESC, run_id DESC"
    if limit is not None:
        sql += " LIMIT ?"
        params.append(limit)
    runs = store.select_rows(sql, tuple(params))
    counts: dict[str, dict[RunStatus, int]] = {run_id: {} for run_id, _ in runs}
    for run_id, run_status, count in store.select_rows(
        "SELECT run_id, status, COUNT(*) FROM uet_runs WHERE run_id IN (SELECT value FROM json_each(?)) "
        "GROUP BY run_id, status",
        (json.dumps(list(counts)),),
    ):
        counts[run_id][run_status] = count
    return [RunSummary(run_id, _parse(started), counts[run_id]) for run_id, started in runs]


def prunable(store: RunStore, *, keep: int | None = None, older_than: datetime | None = None) -> Pruning:
    """The runs beyond the newest ``keep``, or started before ``older_than`` (both: either), that may go."""
    ordered = [row[0] for row in store.select_rows("SELECT run_id FROM runs ORDER BY started_at DESC, run_id DESC")]
    old = set(ordered[keep:]) if keep is not None else set()
    if older_than is not None:
        before = {
            row[0]
            for row in store.select_rows("SELECT run_id FROM runs WHERE started_at < ?", (started_text(older_than),))
        }
        old |= before
    marks = ", ".join("?" * len(IN_FLIGHT_STATUSES))
    in_flight = {
        row[0]
        for row in store.select_rows(
            f"SELECT DISTINCT run_id FROM uet_runs WHERE status IN ({marks})", IN_FLIGHT_STATUSES
        )
    }
    latest = {
        row[0]
        for row in store.select_rows(
            "SELECT COALESCE(json_extract(record, '$.reused_from'), run_id) FROM uet_runs WHERE rowid IN "
            "(SELECT MAX(rowid) FROM uet_runs WHERE status = 'succeeded' GROUP BY workstream_id)"
        )
    }
    remove = old - in_flight - latest
    while True:  # a run kept because it is reused keeps in turn the runs it reuses
        reused = {
            row[0]
            for row in store.select_rows(
                "SELECT DISTINCT json_extract(record, '$.reused_from') FROM uet_runs "
                "WHERE status = 'succeeded' AND json_extract(record, '$.reused_from') IS NOT NULL "
                "AND run_id NOT IN (SELECT value FROM json_each(?))",
                (json.dumps(sorted(remove)),),
            )
        }
        if not remove & reused:
            break
        remove -= reused
    in_order = [run_id for run_id in reversed(ordered) if run_id in old]  # oldest first
    return Pruning([r for r in in_order if r in remove], [r for r in in_order if r not in remove])
