"""verify: a sound store passes; each kind of breach is caught and named in one line."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.uet_engine.patterns.records import log
from tests.uet_engine.patterns.test_advice import anti
from tests.uet_engine.patterns.test_mining import five_similar
from tests.uet_engine.run_records import PATCH_DATA, RUN, attempt, record, succeed
from uet_contracts import ErrorType
from uet_engine.detection.events import error_event
from uet_engine.errors import StoreMissing
from uet_engine.execution.records import task_line
from uet_engine.patterns.mining import Options, mine
from uet_engine.saving import ledger
from uet_engine.saving.store import RunStore, store_path
from uet_engine.saving.verify import verify

PATCH_ID = f"PATCH-ws-a-{RUN}"
PATCH_FILE = f".ledger/patches/ws-a-{RUN}.patch"
AUDIT = ".runs/audit.jsonl"
FLIPPED = ledger.sha256_of(b"*" + PATCH_DATA[1:])  # the patch with its first byte's low bit flipped


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    with RunStore.open(tmp_path) as store:
        store.queue(RUN, [record(RUN, "ws-a"), record(RUN, "ws-b")])
        store.event(RUN, "run_started")
        succeed(store, RUN, "ws-a")
        store.transition(RUN, "ws-b", "skipped", reason="prerequisite ws-x failed")
    return tmp_path


def sql(repo: Path, statement: str) -> None:
    with sqlite3.connect(store_path(repo)) as db:
        db.execute(statement)


def drop_audit_lines(repo: Path, event_type: str) -> None:
    path = repo / AUDIT
    kept = [x for x in path.read_text().splitlines(keepends=True) if f'"{event_type}"' not in x]
    path.write_text("".join(kept))


def replace_in_audit(repo: Path, old: str, new: str) -> None:
    """The first audit line holding ``old`` with it replaced by ``new``."""
    path = repo / AUDIT
    path.write_text(path.read_text().replace(old, new, 1))


def flip_patch_byte(repo: Path) -> None:
    path = repo / PATCH_FILE
    data = bytearray(path.read_bytes())
    data[0] ^= 1
    path.write_bytes(bytes(data))


def test_a_sound_store_has_no_breach(repo: Path) -> None:
    assert verify(repo) == []


def test_a_missing_store_is_not_a_breach_but_an_error(tmp_path: Path) -> None:
    with pytest.raises(StoreMissing):
        verify(tmp_path)


A = f"{RUN} ws-a"
CASES: list[tuple[str, Callable[[Path], None], list[str]]] = [
    (
        "edited record",
        lambda r: sql(r, "UPDATE uet_runs SET record = replace(record, '\"succeeded\"', '\"done\"')"),
        [
            f'{A}: uet_runs[1]:1:256: $.status: "done" is not one of: "queued", "running", "succeeded", "failed", '
            '"skipped", "crashed", "cancelled"'
        ],
    ),
    (
        "key column disagrees with record",
        lambda r: sql(r, "UPDATE uet_runs SET status = 'failed' WHERE workstream_id = 'ws-a'"),
        [f"{A}: uet_runs[1]: column status is 'failed' but the record says 'succeeded'"],
    ),
    (
        "deleted patch file",
        lambda r: (r / PATCH_FILE).unlink(),
        [f"{A}: patch file {PATCH_FILE} is missing"],
    ),
    (
        "changed patch byte",
        flip_patch_byte,
        [f"{A}: patch file {PATCH_FILE} has {FLIPPED}, the ledger records {ledger.sha256_of(PATCH_DATA)}"],
    ),
    (
        "status without event",
        lambda r: sql(r, "DELETE FROM run_events WHERE event_type = 'state_changed' AND workstream_id = 'ws-b'"),
        [
            f"{RUN} ws-b: status skipped but no state_changed event records it",
            f"{RUN} -: run_events seq 3: prev_sha256 does not match run_events seq 1 (a record before it was deleted, "
            "inserted, duplicated, reordered or altered)",
        ],
    ),
    (
        "last event disagrees",
        lambda r: sql(r, "DELETE FROM run_events WHERE seq = (SELECT MAX(seq) FROM run_events)"),
        [f"{RUN} ws-b: status skipped but its last state_changed event says queued"],
    ),
    (
        "missing patch_ledger row",
        lambda r: sql(r, "DELETE FROM patch_ledger"),
        [f"{A}: patch {PATCH_ID} has no patch_ledger row for this run and workstream"],
    ),
    (
        "attempt without result",
        lambda r: sql(r, "UPDATE step_attempts SET record = json_remove(record, '$.result')"),
        [f"{A}: step/0 attempt 1 has no result"],
    ),
    (
        "missing success audit line",
        lambda r: drop_audit_lines(r, "workstream.succeeded"),
        [
            f"{A}: succeeded but {AUDIT} has no workstream.succeeded line",
            f"- -: {AUDIT}:4: prev_sha256 does not match {AUDIT}:3 (a record before it was deleted, inserted, "
            "duplicated, reordered or altered)",
        ],
    ),
    (
        "invalid audit line",
        lambda r: (r / AUDIT).write_text((r / AUDIT).read_text().replace('"outcome":"info"', '"outcome":"meh"', 1)),
        [
            f'{A}: {AUDIT}:1:46: $.outcome: "meh" is not one of: "success", "failure", "skipped", "info"',
            f"{A}: succeeded but {AUDIT} has no workstream.started line",
            f"- -: {AUDIT}:2: prev_sha256 does not match {AUDIT}:1 (a record before it was deleted, inserted, "
            "duplicated, reordered or altered)",
        ],
    ),
    (
        "row of no run",
        lambda r: sql(
            r, "UPDATE step_attempts SET workstream_id = 'ws-z', record = json_set(record, '$.workstream_id', 'ws-z')"
        ),
        [
            f"{RUN} ws-z: step/0 attempt 1 has no task.started line in {AUDIT}",
            f"{RUN} ws-z: step/0 attempt 1 has no task.finished line in {AUDIT}",
            f"{A}: {AUDIT} has a task.started line for step/0 attempt 1, which has no step_attempts row",
            f"{A}: {AUDIT} has a task.finished line for step/0 attempt 1, which has no step_attempts row",
            f"{RUN} ws-z: step attempt step/0 try 1 belongs to no uet_runs row",
        ],
    ),
    (
        "missing task line",
        lambda r: drop_audit_lines(r, "task.finished"),
        [
            f"{A}: step/0 attempt 1 has no task.finished line in {AUDIT}",
            f"- -: {AUDIT}:3: prev_sha256 does not match {AUDIT}:2 (a record before it was deleted, inserted, "
            "duplicated, reordered or altered)",
        ],
    ),
    (
        "task line with another outcome",
        lambda r: replace_in_audit(r, '"message":"ok","outcome":"success"', '"message":"ok","outcome":"failure"'),
        [
            f"{A}: step/0 attempt 1: its task.finished line says failure, but the attempt's result is a success",
            f"- -: {AUDIT}:4: prev_sha256 does not match {AUDIT}:3 (a record before it was deleted, inserted, "
            "duplicated, reordered or altered)",
        ],
    ),
    (
        "task line with another tool",
        lambda r: replace_in_audit(r, '"tool":"sh"', '"tool":"python"'),
        [
            f"{A}: step/0 attempt 1: its task.started line names tool python, but the attempt ran sh",
            f"- -: {AUDIT}:3: prev_sha256 does not match {AUDIT}:2 (a record before it was deleted, inserted, "
            "duplicated, reordered or altered)",
        ],
    ),
    (
        "result without its patch",
        lambda r: sql(r, "UPDATE step_attempts SET record = json_remove(record, '$.result.patch_id')"),
        [f"{A}: step/0 touched a.py but its result names no patch"],
    ),
    (
        "result naming another patch",
        lambda r: sql(r, f"UPDATE step_attempts SET record = json_set(record, '$.result.patch_id', 'PATCH-{RUN}')"),
        [f"{A}: step/0 attempt 1 names patch PATCH-{RUN}, but the workstream's patch is {PATCH_ID}"],
    ),
    (
        "gap in the tries",
        lambda r: sql(r, "UPDATE step_attempts SET attempt = 2, record = json_set(record, '$.attempt', 2)"),
        [
            f"{A}: step/0 attempt 2 follows no attempt 1",
            f"{A}: step/0 attempt 2 has no task.started line in {AUDIT}",
            f"{A}: step/0 attempt 2 has no task.finished line in {AUDIT}",
            f"{A}: {AUDIT} has a task.started line for step/0 attempt 1, which has no step_attempts row",
            f"{A}: {AUDIT} has a task.finished line for step/0 attempt 1, which has no step_attempts row",
        ],
    ),
    (
        "error event of no run",
        lambda r: add_error(r, "ws-z", "step_failed"),
        [f"{RUN} ws-z: error event UET-E101 belongs to no uet_runs row"],
    ),
]


def add_error(repo: Path, workstream_id: str | None, error_type: ErrorType) -> None:
    with RunStore.open(repo, audit=False) as store:
        store.add_error(error_event(error_type, "something failed", run_id=RUN, workstream_id=workstream_id))


@pytest.mark.parametrize(
    ("workstream_id", "error_type"), [(None, "hook_failed"), ("ws-a", "step_failed"), ("ws-q", "preflight_failed")]
)
def test_error_events_of_the_run_and_of_a_refused_start_are_sound(
    repo: Path, workstream_id: str | None, error_type: ErrorType
) -> None:
    add_error(repo, workstream_id, error_type)
    assert verify(repo) == []


@pytest.mark.parametrize(("name", "damage", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_breach_is_named(repo: Path, name: str, damage: Callable[[Path], None], expected: list[str]) -> None:
    damage(repo)
    assert verify(repo) == expected


def test_a_torn_audit_line_is_not_a_breach(repo: Path) -> None:
    with (repo / AUDIT).open("ab") as handle:
        handle.write(b'{"event_type":"run.fin')
    assert verify(repo) == []


def test_a_task_line_without_its_attempt_is_a_breach_unless_its_workstream_crashed(tmp_path: Path) -> None:
    """The writer appends a task line just before the attempt's row: a crash in between leaves the line alone."""
    with RunStore.open(tmp_path) as store:
        store.queue(RUN, [record(RUN, "ws-a"), record(RUN, "ws-b")])
        for ws in ("ws-a", "ws-b"):
            store.transition(RUN, ws, "running")
            store.audit_note(task_line(attempt(RUN, ws, success=None)))  # the engine died before the row
        store.transition(RUN, "ws-a", "crashed", reason="the engine process died")
        store.transition(RUN, "ws-b", "failed", reason="step/0 failed")
    assert verify(tmp_path) == [
        f"{RUN} ws-b: {AUDIT} has a task.started line for step/0 attempt 1, which has no step_attempts row"
    ]


@pytest.fixture
def mined(repo: Path) -> Path:
    with RunStore.open(repo) as store:
        store.add_execution_logs([*five_similar(), log(9, kind="EXEC-OTHER", success=False, seconds=2.5)])
        store.put_patterns([], [anti("sha256:" + "a" * 64)])
    mine(repo, Options())
    return repo


PATTERN_CASES: list[tuple[str, str, list[str]]] = [
    (
        "log column disagrees with record",
        "UPDATE execution_logs SET success = 1, time_taken_seconds = 9 WHERE id = 8",
        [
            "- -: execution_logs[8]: column success is 1 but the record says 0",
            "- -: execution_logs[8]: column time_taken_seconds is 9.0 but the record says 2.5",
        ],
    ),
    (
        "log list column disagrees",
        'UPDATE execution_logs SET tools_used = \'["sh"]\', context = \'{"run_id":"run-9"}\' WHERE id = 1',
        [
            '- -: execution_logs[1]: column tools_used is \'["sh"]\' but the record says \'["sh","touch"]\'',
            '- -: execution_logs[1]: column context is \'{"run_id":"run-9"}\' but the record says '
            '\'{"attempt":1,"run_id":"run-1","task_id":"step/0","workstream_id":"ws-a"}\'',
        ],
    ),
    (
        "candidate status column",
        "UPDATE pattern_candidates SET status = 'approved'",
        ["- -: pattern_candidates[1]: column status is 'approved' but the record says 'pending'"],
    ),
    (
        "invalid anti-pattern record",
        "UPDATE anti_patterns SET record = json_set(record, '$.status', 'gone')",
        ['- -: anti_patterns[1]:1:375: $.status: "gone" is not one of: "active", "resolved"'],
    ),
]


@pytest.mark.parametrize(("name", "statement", "expected"), PATTERN_CASES, ids=[c[0] for c in PATTERN_CASES])
def test_pattern_rows_are_verified_too(mined: Path, name: str, statement: str, expected: list[str]) -> None:
    assert verify(mined) == []
    sql(mined, statement)
    assert verify(mined) == expected
