"""``uet_engine.jsonl``: validated lines, a torn tail cut by the next writer and reported to readers, rotation."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from uet_contracts import AuditEvent, ContractError
from uet_engine.jsonl import JsonlWriter, read_lines, rotated, torn_tail

T = datetime(2026, 12, 1, tzinfo=UTC)


def event(message: str) -> AuditEvent:
    return AuditEvent(timestamp=T, event_type="run.started", run_id="run-1", outcome="info", message=message)


def test_lines_are_written_whole_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "log.jsonl"
    with JsonlWriter(path) as log:
        log.append(event("one"))
        log.extend([event("two"), event("three")], durable=False)
    assert [n for n, _ in read_lines(path)] == [1, 2, 3]
    assert '"message":"two"' in path.read_text().splitlines()[1]
    assert torn_tail(path) == 0 and torn_tail(tmp_path / "missing.jsonl") == 0


def test_an_invalid_record_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    bad = AuditEvent(timestamp=T, event_type="run.started", run_id="not a run id", outcome="info")
    with JsonlWriter(path) as log, pytest.raises(ContractError):
        log.extend([event("fine"), bad])
    assert not path.exists() or path.read_bytes() == b""


def test_a_torn_tail_is_reported_skipped_and_cut_by_the_next_writer(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    with JsonlWriter(path) as log:
        log.append(event("whole"))
    with open(path, "ab") as handle:
        handle.write(b'{"timestamp":"2026-')
    assert torn_tail(path) == 19
    assert [text for _, text in read_lines(path)] == [path.read_text().splitlines()[0]]
    with JsonlWriter(path) as log:
        log.append(event("after"))
    lines = path.read_text().splitlines()
    assert len(lines) == 2 and '"after"' in lines[1] and torn_tail(path) == 0


def test_a_file_that_is_one_torn_line_loses_only_that_line(tmp_path: Path) -> None:
    path = tmp_path / "log.jsonl"
    path.write_bytes(b"x" * 200_000)
    assert torn_tail(path) == 200_000 and list(read_lines(path)) == []
    with JsonlWriter(path) as log:
        log.append(event("fresh"))
    assert len(path.read_text().splitlines()) == 1


def test_the_file_rotates_by_size_keeping_the_newest(tmp_path: Path) -> None:
    path = tmp_path / "errors.jsonl"
    with JsonlWriter(path, rotate_bytes=1, keep=2) as log:
        for i in range(5):
            log.append(event(f"m{i}"))
    assert [p.name for p in rotated(path, 2)] == ["errors.2.jsonl", "errors.1.jsonl"]
    kept = [text for p in [*rotated(path, 2), path] for _, text in read_lines(p)]
    assert [text.split('"message":"')[1].split('"')[0] for text in kept] == ["m2", "m3", "m4"]
    assert not (tmp_path / "errors.3.jsonl").exists()


def test_the_last_line_and_a_torn_tail_are_found_across_read_blocks(tmp_path: Path) -> None:
    """Both read the file backwards in 64 KiB blocks: a line longer than a block is still found whole."""
    from uet_engine.saving.audit import last_line

    path = tmp_path / "log.jsonl"
    long = "x" * 200_000
    path.write_text(f"first\n{long}\n", encoding="utf-8")
    assert last_line(path) == long
    assert torn_tail(path) == 0
    with open(path, "ab") as handle:
        handle.write(b"y" * 150_000)
    assert last_line(path) is None  # a torn last line
    assert torn_tail(path) == 150_000
    path.write_text(long, encoding="utf-8")  # no newline at all: all of it is torn
    assert torn_tail(path) == 200_000
    path.write_text(f"{long}\n", encoding="utf-8")  # the only line
    assert last_line(path) == long
