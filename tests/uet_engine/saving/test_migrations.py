"""Store schema migrations: a real version-1 store (made by the engine of release 1.0) comes up to date,
through every step to the history indexes of version 3."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from uet_engine.errors import StoreError
from uet_engine.saving import history
from uet_engine.saving import store as store_module
from uet_engine.saving.store import SCHEMA_VERSION, RunStore, store_path
from uet_engine.saving.verify import verify

V1 = Path(__file__).parent / "data" / "store-v1"  # `uet run` of the examples, twice, by the version-1 engine
RUNS_V1 = ["run-20261201T094122787087Z-ad9bbc", "run-20261201T094120181581Z-5ba8f7"]


def version_1_repo(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    (repo / ".runs").mkdir(parents=True)
    db = sqlite3.connect(store_path(repo))
    db.executescript((V1 / "uet.sql").read_text(encoding="utf-8"))
    db.close()
    shutil.copy(V1 / "audit.jsonl", repo / ".runs" / "audit.jsonl")
    shutil.copytree(V1 / "patches", repo / ".ledger" / "patches")
    return repo


def _pragma(repo: Path, sql: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(store_path(repo))
    try:
        return db.execute(sql).fetchall()
    finally:
        db.close()


def test_the_fixture_is_a_version_1_store(tmp_path: Path) -> None:
    repo = version_1_repo(tmp_path)
    assert _pragma(repo, "PRAGMA user_version") == [(1,)]
    assert _pragma(repo, "SELECT name FROM sqlite_master WHERE name = 'runs'") == []


def test_opening_a_version_1_store_migrates_it_and_keeps_every_record(tmp_path: Path) -> None:
    repo = version_1_repo(tmp_path)
    before = _pragma(repo, "SELECT rowid, record FROM uet_runs ORDER BY rowid")
    with RunStore.open(repo, create=False, audit=False) as store:
        runs = history.summaries(store)
    assert _pragma(repo, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    assert _pragma(repo, "SELECT rowid, record FROM uet_runs ORDER BY rowid") == before
    assert [r.run_id for r in runs] == RUNS_V1
    assert runs[1].counts == {"succeeded": 4}
    assert runs[0].counts == {"succeeded": 2, "failed": 1, "skipped": 1}
    assert runs[1].started_at.isoformat() == "2026-12-01T09:41:20.201000+00:00"  # to the millisecond
    indexes = {name for (name,) in _pragma(repo, "SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"runs_by_start", "run_events_by_run"} <= indexes
    plan = _pragma(repo, "EXPLAIN QUERY PLAN SELECT record FROM run_events WHERE run_id = 'x' ORDER BY seq")
    assert "run_events_by_run" in str(plan)
    assert verify(repo) == []


def test_a_migrated_store_takes_new_runs(tmp_path: Path) -> None:
    from tests.uet_engine.run_records import RUN, record, succeed

    repo = version_1_repo(tmp_path)
    with RunStore.open(repo) as store:
        store.queue(RUN, [record(RUN, "ws-a")])
        succeed(store, RUN, "ws-a")
        assert [r.run_id for r in history.summaries(store, limit=1)] == [RUNS_V1[0]]  # RUN started in 2026-11
        assert [r.run_id for r in history.summaries(store)][-1] == RUN
    assert verify(repo) == []


def test_a_failed_migration_step_leaves_the_store_at_the_version_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = version_1_repo(tmp_path)
    broken = store_module.MIGRATIONS[2] + "\nINSERT INTO no_such_table VALUES (1);"
    monkeypatch.setitem(store_module.MIGRATIONS, 2, broken)
    with pytest.raises(StoreError) as caught:
        RunStore.open(repo, create=False)
    assert str(caught.value) == f"{store_path(repo)}: not a usable run store: no such table: no_such_table"
    assert _pragma(repo, "PRAGMA user_version") == [(2,)]  # step 1 -> 2 went through, 2 -> 3 rolled back
    assert _pragma(repo, "SELECT name FROM sqlite_master WHERE name = 'runs'") == []
    monkeypatch.undo()
    RunStore.open(repo, create=False).close()
    assert _pragma(repo, "PRAGMA user_version") == [(SCHEMA_VERSION,)]


def test_a_store_newer_than_this_engine_is_refused(tmp_path: Path) -> None:
    RunStore.open(tmp_path).close()
    db = sqlite3.connect(store_path(tmp_path))
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.close()
    with pytest.raises(StoreError) as caught:
        RunStore.open(tmp_path)
    assert str(caught.value) == (
        f"{store_path(tmp_path)}: store schema version {SCHEMA_VERSION + 1}, this uet reads version {SCHEMA_VERSION}"
    )
