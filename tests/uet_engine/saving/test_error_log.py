"""``.runs/errors.jsonl``: what readers find after rotation, a torn tail and a line that is not an event."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from uet_contracts import ErrorEvent
from uet_engine.detection.events import stamp
from uet_engine.saving.error_log import ErrorLog, errors_path, read

T = datetime(2026, 12, 1, tzinfo=UTC)


def event(i: int) -> ErrorEvent:
    return stamp(
        ErrorEvent(
            timestamp=T + timedelta(seconds=i),
            run_id="run-1",
            workstream_id="ws-a",
            error_type="step_failed",
            error_code="UET-E101",
            message=f"failure {i}",
            severity="error",
        )
    )


def test_rotated_files_are_read_oldest_first(tmp_path: Path) -> None:
    with ErrorLog(tmp_path, rotate_bytes=1, keep=2) as log:
        for i in range(12):
            log.append(event(i))
    assert sorted(p.name for p in (tmp_path / ".runs").iterdir()) == [
        "errors.1.jsonl",
        "errors.2.jsonl",
        "errors.jsonl",
    ]
    found = read(tmp_path, keep=2)
    assert found.problems == []
    assert [e.message for e in found.events] == ["failure 9", "failure 10", "failure 11"]  # older ones rotated out


def test_a_torn_tail_and_a_bad_line_are_skipped_and_named(tmp_path: Path) -> None:
    with ErrorLog(tmp_path) as log:
        log.append(event(1))
    path = errors_path(tmp_path)
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(json.dumps({"run_id": "run-1"}) + "\n")
        handle.write('{"timestamp": "20')
    found = read(tmp_path)
    assert [e.message for e in found.events] == ["failure 1"]
    assert found.problems == [
        ".runs/errors.jsonl:2:1: $.error_code: missing required field 'error_code'; line skipped",
        ".runs/errors.jsonl: torn last line (17 bytes) skipped",
    ]


def test_no_log_reads_as_nothing(tmp_path: Path) -> None:
    found = read(tmp_path)
    assert (found.events, found.problems) == ([], [])
