"""Crash recovery: kill -9 of a process writing records leaves a store verify accepts and recovery closes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.conftest import REPO_ROOT
from tests.uet_engine.run_records import RUN, RUN2, record, succeed
from uet_engine.saving.lock import RunLock
from uet_engine.saving.recovery import mark_crashed
from uet_engine.saving.store import RunStore
from uet_engine.saving.verify import verify


def test_in_flight_rows_become_crashed_with_events_and_audit_lines(tmp_path: Path) -> None:
    with RunStore.open(tmp_path) as store:
        store.queue(RUN, [record(RUN, "ws-a"), record(RUN, "ws-b"), record(RUN, "ws-c")])
        succeed(store, RUN, "ws-a")
        store.transition(RUN, "ws-b", "running")
        store.queue(RUN2, [record(RUN2, "ws-d")])
        crashed = mark_crashed(store)
        assert [(r.run_id, r.workstream_id, r.status) for r in crashed] == [
            (RUN, "ws-b", "crashed"),
            (RUN, "ws-c", "crashed"),
            (RUN2, "ws-d", "crashed"),
        ]
        why = f"the engine process of {RUN} died before this workstream finished"
        assert crashed[0].reason == why
        assert [(e.event_type, e.workstream_id, e.to_status) for e in store.events(RUN)[-3:]] == [
            ("run_crashed", None, None),
            ("state_changed", "ws-b", "crashed"),
            ("state_changed", "ws-c", "crashed"),
        ]
        assert store.records(RUN)[0].status == "succeeded"
        assert mark_crashed(store) == []
    audit_types = [json.loads(x)["event_type"] for x in (tmp_path / ".runs" / "audit.jsonl").read_text().splitlines()]
    assert audit_types[-5:] == [
        "run.crashed",
        "workstream.crashed",
        "workstream.crashed",
        "run.crashed",
        "workstream.crashed",
    ]
    assert verify(tmp_path) == []


def test_kill_9_while_writing_leaves_records_verify_accepts(tmp_path: Path) -> None:
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.uet_engine.run_records", str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO_ROOT,
    )
    assert child.stdout is not None
    assert child.stdout.readline() == "ready\n"
    # Let it write more workstreams (each a handful of transactions), then kill it mid-stream.
    store = RunStore.open(tmp_path, audit=False)
    try:
        while len(store.records(RUN)) < 20:
            pass
    finally:
        store.close()
    os.kill(child.pid, signal.SIGKILL)
    child.wait()

    assert verify(tmp_path) == []
    with RunLock(tmp_path, "run-next"), RunStore.open(tmp_path) as store:
        stranded = store.in_flight()  # the workstream it was on, unless it died between two of them
        assert len(stranded) <= 1
        crashed = mark_crashed(store)
        assert [(r.workstream_id, r.status) for r in crashed] == [(r.workstream_id, "crashed") for r in stranded]
        assert store.in_flight() == []
        assert {r.status for r in store.records(RUN)} <= {"succeeded", "crashed"}
    assert verify(tmp_path) == []
