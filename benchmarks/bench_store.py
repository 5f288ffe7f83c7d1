"""Run-store event rows against raw sqlite3 single-row inserts of the same JSON (issue 4: ≥ 20,000 events/s).

Both sides use a fresh database in WAL mode with ``synchronous=NORMAL`` and commit every row on its own,
so each row survives a crash of the process. The raw side inserts pre-encoded JSON; the store builds each
RunEvent, validates it against its schema (``codec.encode``) and gives it its ``seq``. Also timed: the
encoding alone (where the store's extra time goes) and ``transition()``, which updates the row, inserts
its event in one transaction and, with auditing on, fsyncs an audit line. Each figure is the best of 3
rounds, run interleaved so a busy machine affects both sides alike. ``--quick``: 5,000 rows instead of 50,000.

Then the cost of the history indexes (schema version 2): the same event inserts with the index of
events by run dropped, against the store as it is; and ``uet runs list`` (default limit 20) on a store of
10,000 runs (``--quick``: 1,000), in process and as the command, against reading every run's records the
way the version-1 ``list`` did (goal: the command under 150 ms).
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from uet_contracts import RunEvent, RunRecord
from uet_engine import clock
from uet_engine.saving import codec, history
from uet_engine.saving.store import RunStore, store_path

GOAL = 20_000
ROUNDS = 3
RUN_ID = "run-20261125T101500000000Z-bench0"


def _raw_inserts(folder: Path, texts: list[str]) -> float:
    """Seconds to insert ``texts`` one transaction each with plain sqlite3, same table as the store's."""
    db = sqlite3.connect(folder / "raw.sqlite", isolation_level=None)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = NORMAL")
    db.execute(
        "CREATE TABLE run_events (seq INTEGER PRIMARY KEY, run_id TEXT NOT NULL, workstream_id TEXT, "
        "event_type TEXT NOT NULL, record TEXT NOT NULL)"
    )
    start = time.perf_counter()
    for seq, text in enumerate(texts, start=1):
        db.execute(
            "INSERT INTO run_events (seq, run_id, workstream_id, event_type, record) VALUES (?, ?, ?, ?, ?)",
            (seq, RUN_ID, "ws-bench", "step_finished", text),
        )
    elapsed = time.perf_counter() - start
    db.close()
    return elapsed


def _store_events(folder: Path, count: int) -> float:
    with RunStore.open(folder) as store:
        start = time.perf_counter()
        for _ in range(count):
            store.event(RUN_ID, "step_finished", workstream_id="ws-bench")
        return time.perf_counter() - start


def _encode_only(count: int) -> float:
    start = time.perf_counter()
    for seq in range(1, count + 1):
        codec.encode(
            RunEvent(
                seq=seq,
                run_id=RUN_ID,
                workstream_id="ws-bench",
                timestamp=clock.utc_now(),
                event_type="step_finished",
            )
        )
    return time.perf_counter() - start


def _transitions(folder: Path, workstreams: int, audit: bool) -> float:
    """Seconds for ``2 * workstreams`` transitions (queued → running → failed), each its own transaction."""
    now = clock.utc_now()
    records = [
        RunRecord(
            run_id=RUN_ID,
            workstream_id=f"ws-b{i}",
            phase_id="PH-01",
            status="queued",
            created_at=now,
            updated_at=now,
        )
        for i in range(workstreams)
    ]
    with RunStore.open(folder, audit=audit) as store:
        store.queue(RUN_ID, records)
        start = time.perf_counter()
        for record in records:
            store.transition(RUN_ID, record.workstream_id, "running")
            store.transition(RUN_ID, record.workstream_id, "failed", reason="bench")
        return time.perf_counter() - start


def _events_without_index(folder: Path, count: int) -> float:
    RunStore.open(folder).close()
    db = sqlite3.connect(store_path(folder))
    db.execute("DROP INDEX run_events_by_run")
    db.close()
    return _store_events(folder, count)


def _history(folder: Path, runs: int) -> Path:
    """A store of ``runs`` runs of two workstreams each (one cancelled, one skipped)."""
    with RunStore.open(folder, audit=False) as store:
        for i in range(runs):
            run_id = f"run-2026{i:010d}Z-bench{i % 10}"
            at = clock.utc_now() + timedelta(seconds=i)
            records = [
                RunRecord(
                    run_id=run_id, workstream_id=ws, phase_id="PH-01", status="queued", created_at=at, updated_at=at
                )
                for ws in ("ws-a", "ws-b")
            ]
            store.queue(run_id, records)
            store.transition(run_id, "ws-a", "cancelled", reason="bench")
            store.transition(run_id, "ws-b", "skipped", reason="bench")
    return folder


def _list_v1(store: RunStore) -> int:
    """What ``uet runs list`` did before schema version 2: decode every record of every run."""
    return sum(len(store.records(run_id)) for run_id in store.run_ids())


def _best(action: Callable[[], object]) -> float:
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def _command(*args: str) -> float:
    return _best(
        lambda: subprocess.run(
            [sys.executable, "-m", "uet_engine", "runs", *args], check=True, stdout=subprocess.DEVNULL
        )
    )


def history_main(quick: bool) -> None:
    sizes = (100, 1_000) if quick else (1_000, 10_000)
    show: dict[int, float] = {}
    for runs in sizes:
        with tempfile.TemporaryDirectory(prefix="uet-bench-history-") as tmp:
            folder = _history(Path(tmp), runs)
            with RunStore.open(folder, create=False, audit=False) as store:
                summaries = _best(lambda: history.summaries(store, limit=20))
                oldest = history.summaries(store)[-1].run_id
                show[runs] = _best(lambda run=oldest: (store.records(run), store.events(run), store.attempts(run)))
                everything = _best(lambda: _list_v1(store)) if runs == sizes[-1] else 0.0
            command = _command("list", "--repo", str(folder))
            show_command = _command("show", oldest, "--repo", str(folder))
    startup = _best(lambda: subprocess.run([sys.executable, "-c", "import uet_engine.cli.runs"], check=True))
    small, large = sizes
    print(f"bench store history: runs of 2 workstreams, best of {ROUNDS}")
    print(f"  {large:,} runs: history.summaries (limit 20)  {1000 * summaries:>9.2f} ms")
    ratio = everything / summaries
    print(f"  {large:,} runs: every record decoded (v1 list) {1000 * everything:>9.2f} ms  ({ratio:,.0f}x)")
    print(f"  {large:,} runs: `uet runs list` command        {1000 * command:>9.2f} ms")
    print(f"    of which python start + imports         {1000 * startup:>9.2f} ms")
    flat = f"{1000 * show[small]:.2f} -> {1000 * show[large]:.2f} ms"
    print(f"  `uet runs show` reads, {small:,} -> {large:,} runs   {flat}")
    print(f"  {large:,} runs: `uet runs show` command        {1000 * show_command:>9.2f} ms")
    verdict = "met" if command < 0.150 else "NOT met"
    print(f"  goal: `uet runs list` on {large:,} runs under 150 ms: {verdict}")


def _fresh(measure: Callable[[Path], float]) -> float:
    with tempfile.TemporaryDirectory(prefix="uet-bench-store-") as folder:
        return measure(Path(folder))


def main(quick: bool = False) -> int:
    count = 5_000 if quick else 50_000
    workstreams = 500 if quick else 2_500
    sample = codec.encode(
        RunEvent(seq=1, run_id=RUN_ID, workstream_id="ws-bench", timestamp=clock.utc_now(), event_type="step_finished")
    )
    texts = [sample] * count
    raw, store, unindexed, encode, moves, moves_audited = ([] for _ in range(6))
    for _ in range(ROUNDS):
        raw.append(_fresh(lambda folder: _raw_inserts(folder, texts)))
        store.append(_fresh(lambda folder: _store_events(folder, count)))
        unindexed.append(_fresh(lambda folder: _events_without_index(folder, count)))
        encode.append(_encode_only(count))
        moves.append(_fresh(lambda folder: _transitions(folder, workstreams, audit=False)))
        moves_audited.append(_fresh(lambda folder: _transitions(folder, workstreams // 5, audit=True)))
    raw_rate, store_rate = count / min(raw), count / min(store)
    print(
        f"bench store: {count:,} RunEvent rows, one durable transaction each "
        f"(WAL, synchronous=NORMAL), best of {ROUNDS}"
    )
    print(f"  raw sqlite3 inserts of the same JSON   {raw_rate:>10,.0f} rows/s  ({1e6 / raw_rate:5.1f} us/row)")
    print(f"  RunStore.event (build+validate+insert) {store_rate:>10,.0f} rows/s  ({1e6 / store_rate:5.1f} us/row)")
    print(f"  ratio store / raw                      {store_rate / raw_rate:>10.2f}")
    print(
        f"  of which the run_events_by_run index   {1e6 * (min(store) - min(unindexed)) / count:>10.1f} us/row  "
        f"({1e6 * min(unindexed) / count:.1f} us/row without it)"
    )
    print(f"  of which encode (to_dict+check+dumps)  {1e6 * min(encode) / count:>10.1f} us/row")
    move_rate = 2 * workstreams / min(moves)
    audited_rate = 2 * (workstreams // 5) / min(moves_audited)
    print(f"  RunStore.transition, no audit          {move_rate:>10,.0f} transitions/s (row update + event)")
    print(f"  RunStore.transition, audit fsync       {audited_rate:>10,.0f} transitions/s (+ one fsynced audit line)")
    verdict = "met" if store_rate >= GOAL else "NOT met"
    print(f"  goal >= {GOAL:,} events/s durably through the store: {verdict}")
    history_main(quick)
    return 0
