"""Run history: the newest runs without decoding records, and which old runs prune may remove."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from tests.uet_engine.run_records import T0, record, succeed
from uet_engine.saving import history
from uet_engine.saving.store import RunStore
from uet_engine.saving.verify import verify


def run_id(day: int) -> str:
    return f"run-202611{day:02d}T101500000000Z-aaaaaa"


def queue(store: RunStore, day: int, *workstreams: str, reused_from: int | None = None) -> str:
    """A run started ``day`` days into November whose workstreams succeed (or are reused from ``reused_from``)."""
    rid = run_id(day)
    at = T0.replace(day=day)
    records = []
    for ws in workstreams:
        queued = replace(record(rid, ws), created_at=at, updated_at=at)
        if reused_from is not None:
            origin = store.record(run_id(reused_from), ws)
            assert origin is not None
            queued = replace(queued, status="succeeded", reused_from=run_id(reused_from), patch_id=origin.patch_id)
        records.append(queued)
    store.queue(rid, records)
    if reused_from is None:
        for ws in workstreams:
            succeed(store, rid, ws)
    return rid


def test_summaries_are_newest_first_limited_and_filtered(tmp_path: Path) -> None:
    with RunStore.open(tmp_path) as store:
        for day in range(1, 6):
            queue(store, day, "ws-a")
        store.queue(run_id(6), [replace(record(run_id(6), "ws-b"), created_at=T0.replace(day=6))])
        store.transition(run_id(6), "ws-b", "skipped", reason="x")
        assert [s.run_id for s in history.summaries(store)] == [run_id(d) for d in (6, 5, 4, 3, 2, 1)]
        assert [s.run_id for s in history.summaries(store, limit=2)] == [run_id(6), run_id(5)]
        assert [s.run_id for s in history.summaries(store, status="skipped")] == [run_id(6)]
        since = T0.replace(day=4) - timedelta(seconds=1)
        assert [s.run_id for s in history.summaries(store, since=since, limit=10)] == [run_id(d) for d in (6, 5, 4)]
        top = history.summaries(store, limit=1)[0]
        assert (top.started_at, top.counts) == (T0.replace(day=6), {"skipped": 1})


def test_prune_keeps_what_verify_and_the_next_run_need(tmp_path: Path) -> None:
    with RunStore.open(tmp_path) as store:
        queue(store, 1, "ws-a", "ws-b")  # ws-b's latest success stays here
        queue(store, 2, "ws-a")
        queue(store, 3, "ws-a")  # the origin of ws-a's latest success (day 5 reuses it): kept
        queue(store, 4, "ws-c")
        queue(store, 5, "ws-a", reused_from=3)  # reused by nobody: goes
        store.queue(run_id(6), [replace(record(run_id(6), "ws-c"), created_at=T0.replace(day=6))])
        store.transition(run_id(6), "ws-c", "running")  # unfinished: never pruned, however old
        store.queue(run_id(7), [replace(record(run_id(7), "ws-c"), created_at=T0.replace(day=7))])
        succeed(store, run_id(7), "ws-c")
        plan = history.prunable(store, keep=1)
        assert plan.remove == [run_id(2), run_id(4), run_id(5)]
        assert plan.kept == [run_id(1), run_id(3), run_id(6)]
        older = history.prunable(store, older_than=T0.replace(day=3))
        assert (older.remove, older.kept) == ([run_id(2)], [run_id(1)])
        entries = store.prune(plan.remove)
        assert [e.run_id for e in entries] == [run_id(2), run_id(4)]
        for entry in entries:
            (tmp_path / entry.path).unlink()
        assert [s.run_id for s in history.summaries(store)] == [run_id(d) for d in (7, 6, 3, 1)]
        assert store.events(run_id(2)) == [] and store.records(run_id(4)) == []
        store.transition(run_id(6), "ws-c", "failed", reason="x")  # the store still writes after a prune
    assert verify(tmp_path) == []


def test_a_run_kept_for_reuse_keeps_the_runs_it_reuses(tmp_path: Path) -> None:
    with RunStore.open(tmp_path) as store:
        queue(store, 1, "ws-a")
        rid = run_id(2)  # reuses ws-a from day 1, and succeeds with ws-b itself
        at = T0.replace(day=2)
        origin = store.record(run_id(1), "ws-a")
        assert origin is not None
        reused = replace(record(rid, "ws-a"), created_at=at, status="succeeded", reused_from=run_id(1))
        store.queue(rid, [replace(reused, patch_id=origin.patch_id), replace(record(rid, "ws-b"), created_at=at)])
        succeed(store, rid, "ws-b")
        queue(store, 3, "ws-b", reused_from=2)
        queue(store, 4, "ws-a", "ws-b")  # the latest success of both
        plan = history.prunable(store, keep=2)
        # Day 3 reuses day 2, so day 2 stays; day 2 reuses day 1, so day 1 stays too.
        assert (plan.remove, plan.kept) == ([], [run_id(1), run_id(2)])
        store.prune(plan.remove)
        assert history.prunable(store, keep=0).remove == [run_id(1), run_id(2), run_id(3)]
    assert verify(tmp_path) == []
