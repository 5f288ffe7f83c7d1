"""The run store: real SQLite files, every row validated, transitions refused or committed with their events."""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest

import uet_contracts
from tests.uet_engine.run_records import RUN, RUN2, T0, attempt, record, save_patch, succeed
from uet_contracts import ContractError, ErrorEvent, RunEvent
from uet_engine import clock
from uet_engine.errors import IllegalTransition, RecordsUnwritable, SavingInvariantError, StoreError, StoreMissing
from uet_engine.saving import ledger
from uet_engine.saving.store import SCHEMA_VERSION, TABLES, RunStore, store_path
from uet_engine.saving.verify import verify


@pytest.fixture
def store(tmp_path: Path) -> RunStore:
    opened = RunStore.open(tmp_path)
    yield opened  # type: ignore[misc]
    opened.close()


def raw(repo: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(store_path(repo)) as db:
        return db.execute(sql).fetchall()


def every_row_validates(repo: Path) -> int:
    count = 0
    with sqlite3.connect(store_path(repo)) as db:
        for table, cls in TABLES.items():
            for (text,) in db.execute(f"SELECT record FROM {table}"):
                uet_contracts.loads(text, cls, "json")
                count += 1
    return count


def test_open_creates_the_store_in_wal_mode(tmp_path: Path) -> None:
    with RunStore.open(tmp_path) as store:
        assert store.path == tmp_path / ".runs" / "uet.sqlite"
    assert raw(tmp_path, "PRAGMA journal_mode") == [("wal",)]
    tables = {name for (name,) in raw(tmp_path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {*TABLES, "runs"}  # runs: the history index of schema version 3


def test_open_without_create_refuses_a_missing_store(tmp_path: Path) -> None:
    with pytest.raises(StoreMissing) as caught:
        RunStore.open(tmp_path, create=False)
    assert str(caught.value) == (
        f"no run store at {tmp_path / '.runs' / 'uet.sqlite'}: nothing has been run in this repository yet"
    )
    assert not (tmp_path / ".runs").exists()


def test_a_file_that_is_not_sqlite_is_refused(tmp_path: Path) -> None:
    path = store_path(tmp_path)
    path.parent.mkdir()
    path.write_bytes(b"not a database at all, just some text" * 100)
    with pytest.raises(StoreError) as caught:
        RunStore.open(tmp_path)
    assert str(caught.value) == f"{path}: not a usable run store: file is not a database"


def test_a_full_lifecycle_is_stored_and_every_row_validates(store: RunStore, tmp_path: Path) -> None:
    store.queue(RUN, [record(RUN, "ws-a"), record(RUN, "ws-b")])
    store.event(RUN, "run_started")
    succeed(store, RUN, "ws-a")
    store.transition(RUN, "ws-b", "skipped", reason="prerequisite ws-x failed")
    store.event(RUN, "run_finished")

    records = store.records(RUN)
    assert [(r.workstream_id, r.status) for r in records] == [("ws-a", "succeeded"), ("ws-b", "skipped")]
    assert records[0].patch_id == f"PATCH-ws-a-{RUN}"
    assert records[0].started_at is not None and records[0].finished_at is not None
    assert records[1].reason == "prerequisite ws-x failed"
    changes = [(e.workstream_id, e.from_status, e.to_status) for e in store.events(RUN) if e.to_status]
    assert changes == [
        ("ws-a", None, "queued"),
        ("ws-b", None, "queued"),
        ("ws-a", "queued", "running"),
        ("ws-a", "running", "succeeded"),
        ("ws-b", "queued", "skipped"),
    ]
    assert [e.seq for e in store.events(RUN)] == list(range(1, 9))
    assert every_row_validates(tmp_path) == 2 + 1 + 8 + 1


def test_transition_and_its_event_commit_together_or_not_at_all(
    store: RunStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store.queue(RUN, [record(RUN, "ws-a")])

    def broken(*args: object, **kwargs: object) -> RunEvent:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store, "_insert_event", broken)
    with pytest.raises(RecordsUnwritable, match=r"uet\.sqlite: disk I/O error$"):  # a one-line fault, not a traceback
        store.transition(RUN, "ws-a", "running")
    monkeypatch.undo()

    assert raw(tmp_path, "SELECT status FROM uet_runs") == [("queued",)]
    assert raw(tmp_path, "SELECT event_type FROM run_events") == [("state_changed",)]
    assert not (tmp_path / ".runs" / "audit.jsonl").exists()
    # The store is usable afterwards and numbers events without a gap.
    store.transition(RUN, "ws-a", "running")
    assert [e.seq for e in store.events(RUN)] == [1, 2]


@pytest.mark.parametrize(
    ("path", "to", "message"),
    [
        ([], "succeeded", "cannot go from queued to succeeded (allowed: cancelled, crashed, running, skipped)"),
        ([], "failed", "cannot go from queued to failed (allowed: cancelled, crashed, running, skipped)"),
        (["running"], "skipped", "cannot go from running to skipped (allowed: cancelled, crashed, failed, succeeded)"),
        (["running"], "queued", "cannot go from running to queued (allowed: cancelled, crashed, failed, succeeded)"),
        (["running", "failed"], "running", "cannot go from failed to running (it is final)"),
        (["skipped"], "queued", "cannot go from skipped to queued (it is final)"),
        (["crashed"], "crashed", "cannot go from crashed to crashed (it is final)"),
    ],
)
def test_illegal_transitions_are_refused(
    store: RunStore, tmp_path: Path, path: list[str], to: str, message: str
) -> None:
    store.queue(RUN, [record(RUN, "ws-a")])
    for status in path:
        store.transition(RUN, "ws-a", status)  # type: ignore[arg-type]
    before = raw(tmp_path, "SELECT record FROM uet_runs"), raw(tmp_path, "SELECT seq FROM run_events")
    with pytest.raises(IllegalTransition) as caught:
        store.transition(RUN, "ws-a", to)  # type: ignore[arg-type]
    assert str(caught.value) == f"{RUN} ws-a: {message}"
    assert (raw(tmp_path, "SELECT record FROM uet_runs"), raw(tmp_path, "SELECT seq FROM run_events")) == before


def test_transition_of_an_unknown_workstream_is_refused(store: RunStore) -> None:
    with pytest.raises(IllegalTransition) as caught:
        store.transition(RUN, "ws-nope", "running")
    assert str(caught.value) == f"{RUN} ws-nope: no such workstream in this run"


def test_success_is_refused_without_the_records_that_back_it(store: RunStore, tmp_path: Path) -> None:
    store.queue(RUN, [record(RUN, "ws-a")])
    store.transition(RUN, "ws-a", "running")
    store.add_attempt(attempt(RUN, "ws-a", success=None))
    store.add_attempt(attempt(RUN, "ws-a", kind="acceptance", success=False))
    with pytest.raises(SavingInvariantError) as caught:
        store.transition(RUN, "ws-a", "succeeded")
    assert str(caught.value) == (
        f"{RUN} ws-a: cannot mark succeeded: step/0 attempt 1 has no result; "
        "acceptance/0: its last attempt (1) did not succeed"
    )
    store.add_attempt(attempt(RUN, "ws-a", files=["a.py"]))
    store.add_attempt(attempt(RUN, "ws-a", kind="acceptance", number=2))
    with pytest.raises(SavingInvariantError) as caught:
        store.transition(RUN, "ws-a", "succeeded")
    assert caught.value.problems == ["steps changed a.py but no patch is recorded"]
    with pytest.raises(SavingInvariantError) as caught:
        store.transition(RUN, "ws-a", "succeeded", patch_id=f"PATCH-ws-a-{RUN}")
    assert caught.value.problems == [f"patch PATCH-ws-a-{RUN} has no patch_ledger row for this run and workstream"]
    entry = save_patch(tmp_path, RUN, "ws-a")
    store.add_patch(entry)
    with pytest.raises(SavingInvariantError) as caught:
        store.transition(RUN, "ws-a", "succeeded")
    assert caught.value.problems == [f"patch {entry.patch_id} is in the ledger but the run record names no patch"]
    (tmp_path / entry.path).write_bytes(b"+print('HI')\n")  # same size, other bytes
    with pytest.raises(SavingInvariantError) as caught:
        store.transition(RUN, "ws-a", "succeeded", patch_id=entry.patch_id)
    digest = ledger.sha256_of(b"+print('HI')\n")
    assert caught.value.problems == [f"patch file {entry.path} has {digest}, the ledger records {entry.sha256}"]
    assert raw(tmp_path, "SELECT status FROM uet_runs") == [("running",)]
    (tmp_path / entry.path).write_bytes(b"+print('hi')\n")
    assert store.transition(RUN, "ws-a", "succeeded", patch_id=entry.patch_id).status == "succeeded"


def test_every_try_is_covered_numbered_without_gaps_and_fix_steps_make_the_patch(store: RunStore) -> None:
    store.queue(RUN, [record(RUN, "ws-a")])
    store.transition(RUN, "ws-a", "running")
    store.add_attempt(attempt(RUN, "ws-a", kind="acceptance", success=False))
    store.add_attempt(attempt(RUN, "ws-a", kind="fix", files=["a.py"]))
    store.add_attempt(attempt(RUN, "ws-a", kind="acceptance", number=3))
    with pytest.raises(SavingInvariantError) as caught:
        store.transition(RUN, "ws-a", "succeeded")
    assert caught.value.problems == [
        "acceptance/0 attempt 3 follows no attempt 2",
        "steps changed a.py but no patch is recorded",
    ]
    store.add_attempt(attempt(RUN, "ws-a", kind="acceptance", number=2, success=False))
    with pytest.raises(SavingInvariantError) as caught:
        store.transition(RUN, "ws-a", "succeeded")
    assert caught.value.problems == ["steps changed a.py but no patch is recorded"]


def test_an_error_of_the_whole_run_is_stored_without_a_workstream(store: RunStore, tmp_path: Path) -> None:
    event = ErrorEvent(
        timestamp=T0, run_id=RUN, error_type="preflight_failed", error_code="UET-E109", message="m", severity="error"
    )
    store.add_error(event)
    assert store.errors(RUN) == [event] and store.errors(RUN, "ws-a") == []
    assert raw(tmp_path, "SELECT workstream_id FROM error_events") == [("",)]


def test_a_success_without_changes_needs_no_patch(store: RunStore) -> None:
    store.queue(RUN, [record(RUN, "ws-a")])
    succeed(store, RUN, "ws-a", changes=False)
    assert store.records(RUN)[0].patch_id is None
    assert store.patches(RUN) == []


def test_an_invalid_record_is_refused_and_nothing_is_stored(store: RunStore, tmp_path: Path) -> None:
    with pytest.raises(ContractError) as caught:
        store.queue(RUN, [record(RUN, "ws-a"), record(RUN, "ws-Bad")])
    assert "$.workstream_id: 'ws-Bad' is not a valid WorkstreamId" in str(caught.value)
    assert raw(tmp_path, "SELECT COUNT(*) FROM uet_runs") == [(0,)]
    assert raw(tmp_path, "SELECT COUNT(*) FROM run_events") == [(0,)]
    with pytest.raises(ContractError):
        store.add_attempt(replace(attempt(RUN, "ws-a"), attempt=0))
    assert raw(tmp_path, "SELECT COUNT(*) FROM step_attempts") == [(0,)]


def test_queue_refuses_other_runs_other_states_and_duplicates(store: RunStore) -> None:
    with pytest.raises(StoreError) as caught:
        store.queue(RUN, [record(RUN2, "ws-a")])
    assert str(caught.value) == f"ws-a: record belongs to {RUN2}, not {RUN}"
    with pytest.raises(IllegalTransition) as caught:
        store.queue(RUN, [replace(record(RUN, "ws-a"), status="running")])
    assert str(caught.value) == (
        f"{RUN} ws-a: a workstream enters a run as queued (or succeeded with reused_from), not running"
    )
    store.queue(RUN, [record(RUN, "ws-a")])
    with pytest.raises(StoreError) as caught:
        store.queue(RUN, [record(RUN, "ws-a")])
    assert str(caught.value) == f"{RUN} ws-a: already queued in this run"


def test_a_resumed_run_reuses_only_a_recorded_success(store: RunStore, tmp_path: Path) -> None:
    reused = replace(record(RUN2, "ws-a"), status="succeeded", reused_from=RUN)
    with pytest.raises(SavingInvariantError) as caught:
        store.queue(RUN2, [reused])
    assert caught.value.problems == [f"reused_from {RUN} has no succeeded record of this workstream"]
    store.queue(RUN, [record(RUN, "ws-a")])
    succeed(store, RUN, "ws-a")
    store.queue(RUN2, [reused, record(RUN2, "ws-b")])
    assert [(r.workstream_id, r.status) for r in store.records(RUN2)] == [("ws-a", "succeeded"), ("ws-b", "queued")]
    assert store.events(RUN2)[0].message == f"reused from {RUN}"
    lines = [json.loads(x) for x in (tmp_path / ".runs" / "audit.jsonl").read_text().splitlines()]
    assert lines[-1]["event_type"] == "workstream.succeeded"
    assert lines[-1]["run_id"] == RUN2


def test_attempts_are_upserted_by_their_key(store: RunStore) -> None:
    store.queue(RUN, [record(RUN, "ws-a")])
    store.add_attempt(attempt(RUN, "ws-a", success=None))
    store.add_attempt(attempt(RUN, "ws-a", number=2, success=None))
    store.add_attempt(attempt(RUN, "ws-a", success=False))
    assert [(a.attempt, a.result is not None and a.result.success) for a in store.attempts(RUN)] == [
        (1, False),
        (2, False),
    ]
    assert store.attempts(RUN, "ws-b") == []


def test_add_patch_refuses_a_missing_or_different_file(store: RunStore, tmp_path: Path) -> None:
    entry = save_patch(tmp_path, RUN, "ws-a")
    (tmp_path / entry.path).unlink()
    with pytest.raises(StoreError) as caught:
        store.add_patch(entry)
    assert str(caught.value) == f"{RUN} ws-a: patch file {entry.path} is missing"
    save_patch(tmp_path, RUN, "ws-a", b"other")
    with pytest.raises(StoreError) as caught:
        store.add_patch(entry)
    assert str(caught.value).startswith(f"{RUN} ws-a: patch file {entry.path} has 5 bytes, the ledger records 13; ")
    save_patch(tmp_path, RUN, "ws-a")
    store.add_patch(entry)
    with pytest.raises(StoreError) as caught:
        store.add_patch(entry)
    assert str(caught.value) == f"{RUN} ws-a: patch {entry.patch_id} is already recorded"
    assert store.patches(RUN) == [entry]


def test_state_changed_events_only_come_from_transitions(store: RunStore) -> None:
    with pytest.raises(StoreError) as caught:
        store.event(RUN, "state_changed")
    assert str(caught.value) == "state_changed events are written by transition(), together with the status"


def test_queries(store: RunStore) -> None:
    store.queue(RUN, [record(RUN, "ws-a")])
    succeed(store, RUN, "ws-a")
    store.queue(RUN2, [record(RUN2, "ws-a")])
    store.transition(RUN2, "ws-a", "running")
    store.transition(RUN2, "ws-a", "failed", reason="acceptance/0 exited 1")
    assert store.run_ids() == [RUN2, RUN]
    last = store.last_success("ws-a")
    assert last is not None and last.run_id == RUN
    assert store.last_success("ws-b") is None
    assert store.record(RUN2, "ws-a") == store.records(RUN2)[0]
    assert store.record(RUN2, "ws-b") is None
    assert store.in_flight() == []


def test_execution_logs_and_errors_are_stored_validated(store: RunStore, tmp_path: Path) -> None:
    log = uet_contracts.ExecutionLog(
        timestamp=T0,
        operation_kind="EXEC-ATOMIC-CREATE",
        file_types=[".py"],
        tools_used=["sh"],
        input_signature="sha256:" + "0" * 64,
        output_signature="sha256:" + "1" * 64,
        success=True,
        time_taken_seconds=0.5,
        context={"run_id": RUN},
    )
    error = uet_contracts.ErrorEvent(
        timestamp=T0,
        run_id=RUN,
        workstream_id="ws-a",
        error_type="acceptance_failed",
        error_code="UET-E102",
        message="acceptance/0 exited 1",
        severity="error",
    )
    store.add_execution_log(log)
    store.add_error(error)
    assert store.execution_logs() == [log]
    assert store.errors(RUN) == [error]
    with pytest.raises(ContractError):
        store.add_error(replace(error, error_code="E1"))
    assert every_row_validates(tmp_path) == 2


def test_two_connections_never_reuse_an_event_seq(tmp_path: Path) -> None:
    with RunStore.open(tmp_path) as first, RunStore.open(tmp_path) as second:
        first.event(RUN, "run_started")
        second.event(RUN2, "run_started")
        first.event(RUN, "run_finished")  # its cached seq (1) is stale: the insert is retried with 3
        second.event(RUN2, "run_finished")
        assert [(e.run_id, e.seq) for e in first.events(RUN) + first.events(RUN2)] == [
            (RUN, 1),
            (RUN, 3),
            (RUN2, 2),
            (RUN2, 4),
        ]


def test_run_ids_from_the_clock_match_the_pattern_sort_by_time_and_are_unique() -> None:
    ids = [clock.new_run_id() for _ in range(200)]
    assert all(re.fullmatch(r"run-[A-Za-z0-9_-]{1,64}", i) for i in ids)
    assert len(set(ids)) == 200
    early = clock.new_run_id(T0)
    assert early.startswith("run-20261125T101500000000Z-")
    assert sorted([clock.new_run_id(), early])[0] == early
    assert clock.utc_now().tzinfo is not None


# The version-1 store of tests/uet_engine/saving/test_migrations.py (a dump of what uet 1.0 wrote), emptied.
V1_DUMP = (Path(__file__).parent / "data" / "store-v1" / "uet.sql").read_text(encoding="utf-8")
V1_LOG = {
    "timestamp": "2026-11-25T10:15:00.5Z",
    "operation_kind": "EXEC-ATOMIC-CREATE",
    "file_types": [".py", "<none>"],
    "tools_used": ["sh"],
    "input_signature": "sha256:" + "0" * 64,
    "output_signature": "sha256:" + "1" * 64,
    "success": False,
    "time_taken_seconds": 1.25,
    "context": {"run_id": RUN, "workstream_id": "ws-a", "task_id": "step/0", "note": "é"},
}


def make_v1_store(repo: Path, *records: dict[str, object] | str) -> None:
    """A store as uet 1.0 left it: the version-1 tables, execution logs with only their record."""
    path = store_path(repo)
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as db:
        db.executescript(V1_DUMP)
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            db.execute(f"DELETE FROM {table}")
        for data in records:
            text = (
                data
                if isinstance(data, str)
                else json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
            )
            db.execute(
                "INSERT INTO execution_logs (operation_kind, record) VALUES (?, ?)", ("EXEC-ATOMIC-CREATE", text)
            )


def test_a_version_1_store_is_upgraded_when_opened(tmp_path: Path) -> None:
    make_v1_store(tmp_path, V1_LOG, {**V1_LOG, "success": True, "context": {}})
    with RunStore.open(tmp_path, create=False) as store:
        logs = store.execution_logs()
        assert [log.success for log in logs] == [False, True]
    assert raw(tmp_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]
    tables = {name for (name,) in raw(tmp_path, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {*TABLES, "runs"}
    assert raw(
        tmp_path,
        "SELECT id, timestamp, operation_kind, file_types, tools_used, success, time_taken_seconds, context "
        "FROM execution_logs",
    ) == [
        (
            1,
            "2026-11-25T10:15:00.5Z",
            "EXEC-ATOMIC-CREATE",
            '[".py","<none>"]',
            '["sh"]',
            0,
            1.25,
            '{"note":"é","run_id":"' + RUN + '","task_id":"step/0","workstream_id":"ws-a"}',
        ),
        (2, "2026-11-25T10:15:00.5Z", "EXEC-ATOMIC-CREATE", '[".py","<none>"]', '["sh"]', 1, 1.25, "{}"),
    ]
    # a migrated row reads exactly like one written now
    with RunStore.open(tmp_path) as store:
        store.add_execution_log(logs[0])
    columns = "julianday(timestamp), file_types, tools_used, input_signature, success, context"
    rows = raw(tmp_path, f"SELECT {columns} FROM execution_logs")
    assert rows[2] == rows[0]
    assert every_row_validates(tmp_path) == 3
    assert [line for line in verify(tmp_path) if "execution_logs" in line] == []
    with RunStore.open(tmp_path, create=False):  # opening again changes nothing
        pass
    assert raw(tmp_path, "PRAGMA user_version") == [(SCHEMA_VERSION,)]


def test_a_failed_upgrade_leaves_the_version_1_store_as_it_was(tmp_path: Path) -> None:
    make_v1_store(tmp_path, V1_LOG, "{not json")
    with pytest.raises(StoreError, match="not a usable run store: malformed JSON"):
        RunStore.open(tmp_path)
    assert raw(tmp_path, "PRAGMA user_version") == [(1,)]
    assert raw(tmp_path, "SELECT COUNT(*) FROM execution_logs") == [(2,)]
    assert [name for (name,) in raw(tmp_path, "SELECT name FROM pragma_table_info('execution_logs')")] == [
        "id",
        "operation_kind",
        "record",
    ]


def test_a_store_of_a_newer_uet_is_refused(tmp_path: Path) -> None:
    RunStore.open(tmp_path).close()
    with sqlite3.connect(store_path(tmp_path)) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match=rf"store schema version {SCHEMA_VERSION + 1}, this uet reads version 3$"):
        RunStore.open(tmp_path)


def test_execution_logs_spread_their_record_over_the_design_columns(store: RunStore, tmp_path: Path) -> None:
    log = uet_contracts.loads(json.dumps(V1_LOG), uet_contracts.ExecutionLog, "json")
    store.add_execution_logs([log, replace(log, success=True)])
    assert raw(
        tmp_path,
        "SELECT operation_kind, input_signature, success, COUNT(*) FROM execution_logs "
        "GROUP BY operation_kind, input_signature, success ORDER BY success",
    ) == [("EXEC-ATOMIC-CREATE", "sha256:" + "0" * 64, 0, 1), ("EXEC-ATOMIC-CREATE", "sha256:" + "0" * 64, 1, 1)]
    assert raw(
        tmp_path, "SELECT json_extract(context, '$.task_id'), json_array_length(file_types) FROM execution_logs"
    ) == [
        ("step/0", 2),
        ("step/0", 2),
    ]
