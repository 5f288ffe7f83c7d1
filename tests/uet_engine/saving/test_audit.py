"""The audit log: validated JSONL lines, durable appends, and a torn last line that never breaks anything."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.uet_engine.run_records import RUN, T0
from uet_contracts import AuditEvent, ContractError
from uet_engine import jsonl
from uet_engine.saving import audit
from uet_engine.saving.audit import AuditLog


def line(event_type: str = "run.started", **extra: str) -> AuditEvent:
    return AuditEvent(timestamp=T0, event_type=event_type, run_id=RUN, outcome="info", **extra)  # type: ignore[arg-type]


def test_each_event_is_one_compact_validated_line(tmp_path: Path) -> None:
    with AuditLog(tmp_path) as log:
        log.append(line())
        log.extend([line("workstream.started", workstream_id="ws-a"), line("run.finished")])
    text = (tmp_path / ".runs" / "audit.jsonl").read_text(encoding="utf-8")
    assert text.splitlines()[0] == (
        '{"event_type":"run.started","outcome":"info","run_id":"' + RUN + '","timestamp":"2026-11-25T10:15:00Z"}'
    )
    assert [e.event_type for _, e in audit.read(audit.audit_path(tmp_path))] == [
        "run.started",
        "workstream.started",
        "run.finished",
    ]


def test_an_invalid_event_is_refused_and_nothing_is_written(tmp_path: Path) -> None:
    with AuditLog(tmp_path) as log:
        log.append(line())
        with pytest.raises(ContractError) as caught:
            log.extend([line("run.finished"), line("Not-Dotted")])
    assert str(caught.value).startswith("<input>: $.event_type: 'Not-Dotted' is not matching ")
    assert len(audit.audit_path(tmp_path).read_text().splitlines()) == 1


def test_a_torn_last_line_is_ignored_by_readers_and_cut_off_by_the_next_writer(tmp_path: Path) -> None:
    with AuditLog(tmp_path) as log:
        log.append(line())
    path = audit.audit_path(tmp_path)
    whole = path.read_bytes()
    with path.open("ab") as handle:  # what kill -9 in the middle of a write leaves
        handle.write(b'{"event_type":"run.fini')
    assert [n for n, _ in audit.read(path)] == [1]
    with AuditLog(tmp_path) as log:
        log.append(line("run.finished"))
    after = path.read_bytes()
    assert after.startswith(whole)
    assert after.endswith(b"\n")
    assert json.loads(after[len(whole) :])["event_type"] == "run.finished"
    assert [e.event_type for _, e in audit.read(path)] == ["run.started", "run.finished"]


def test_repair_of_a_file_that_is_only_a_torn_line(tmp_path: Path) -> None:
    path = tmp_path / "audit.jsonl"
    path.write_bytes(b'{"half": ')
    assert audit.repair(path) == 9
    assert path.read_bytes() == b""
    assert audit.repair(path) == 0
    assert audit.repair(tmp_path / "missing.jsonl") == 0


def test_a_bad_complete_line_is_reported_with_its_line_number(tmp_path: Path) -> None:
    path = audit.audit_path(tmp_path)
    path.parent.mkdir()
    path.write_text('{"nope": 1}\n', encoding="utf-8")
    with pytest.raises(ContractError) as caught:
        list(audit.read(path))
    assert str(caught.value).startswith(f"{path}:1")


def test_without_sync_each_no_line_is_synced_until_sync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A ``normal`` durability run: lines are whole in the file as soon as they are appended, synced at once later."""
    synced: list[int] = []
    monkeypatch.setattr(jsonl, "sync", synced.append)
    monkeypatch.setattr(audit, "sync", synced.append)
    with AuditLog(tmp_path) as log:
        log.sync_each = False
        log.append(line())
        log.append(line("run.finished"))  # durable by default, yet not synced
        assert synced == []
        assert [e.event_type for _, e in audit.read(audit.audit_path(tmp_path))] == ["run.started", "run.finished"]
        log.sync()
        assert len(synced) == 1
        log.sync_each = True
        log.append(line("run.started"))
        assert len(synced) == 2
    chain = [e.prev_sha256 for _, e in audit.read(audit.audit_path(tmp_path))]
    assert chain[0] is None and None not in chain[1:]
