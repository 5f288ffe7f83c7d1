"""Patch files: written atomically where the ledger says, with the hash and size the entry records."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from tests.uet_engine.run_records import BASE, RUN, T0
from uet_contracts import ContractError
from uet_engine import clock
from uet_engine.saving import ledger


def test_write_patch_writes_the_file_and_describes_it(tmp_path: Path) -> None:
    data = b"diff --git a/a.py b/a.py\n+x = 1\n"
    entry = ledger.write_patch(
        tmp_path,
        run_id=RUN,
        workstream_id="ws-a",
        phase_id="PH-01",
        patch=data,
        files=["b.py", "a.py", "a.py"],
        base_commit=BASE,
        created_at=T0,
    )
    assert entry.patch_id == f"PATCH-ws-a-{RUN}"
    assert entry.path == f".ledger/patches/ws-a-{RUN}.patch"
    assert entry.sha256 == "sha256:" + hashlib.sha256(data).hexdigest()
    assert entry.size_bytes == len(data)
    assert entry.files == ["a.py", "b.py"]
    assert ledger.patch_path(tmp_path, entry) == tmp_path / ".ledger" / "patches" / f"ws-a-{RUN}.patch"
    assert ledger.patch_path(tmp_path, entry).read_bytes() == data
    assert sorted(p.name for p in (tmp_path / ".ledger" / "patches").iterdir()) == [f"ws-a-{RUN}.patch"]
    assert ledger.file_problems(tmp_path, entry) == []


def test_an_invalid_entry_writes_no_file(tmp_path: Path) -> None:
    with pytest.raises(ContractError):
        ledger.write_patch(
            tmp_path, run_id=RUN, workstream_id="ws-a", phase_id="P1", patch=b"x", files=[], base_commit=None
        )
    assert not (tmp_path / ".ledger").exists()


def test_file_problems_name_a_missing_short_or_changed_file(tmp_path: Path) -> None:
    entry = ledger.write_patch(
        tmp_path, run_id=RUN, workstream_id="ws-a", phase_id="PH-01", patch=b"abc", files=[], base_commit=None
    )
    path = ledger.patch_path(tmp_path, entry)
    path.write_bytes(b"abd")
    assert ledger.file_problems(tmp_path, entry) == [
        f"patch file {entry.path} has {ledger.sha256_of(b'abd')}, the ledger records {entry.sha256}"
    ]
    path.write_bytes(b"ab")
    assert ledger.file_problems(tmp_path, entry)[0] == f"patch file {entry.path} has 2 bytes, the ledger records 3"
    path.unlink()
    assert ledger.file_problems(tmp_path, entry) == [f"patch file {entry.path} is missing"]


def test_a_stamp_moves_with_any_rewrite_even_of_the_same_size_and_mtime(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the run's writer relies on to check its patch files by ``stat`` during a run: a rewrite that keeps
    the size and sets the old mtime back still changes the ctime (no process can set that)."""
    monkeypatch.setattr(clock, "RACY_NS", 0)  # any file counts as settled (see the next test)
    monkeypatch.setattr(clock, "FINE_RACY_NS", 0)
    entry = ledger.write_patch(
        tmp_path, run_id=RUN, workstream_id="ws-a", phase_id="PH-01", patch=b"abc\n", files=[], base_commit=BASE
    )
    path = ledger.patch_path(tmp_path, entry)
    before = ledger.file_stamp(path)
    assert before is not None and before == ledger.file_stamp(path)
    info = path.stat()
    with open(path, "r+b") as handle:  # the same inode, the same size
        handle.write(b"xyz")
    os.utime(path, ns=(info.st_atime_ns, info.st_mtime_ns))
    after = ledger.file_stamp(path)
    assert after is not None and after[:3] == before[:3] and after != before
    assert ledger.file_problems(tmp_path, entry) == [
        f"patch file {entry.path} has {ledger.sha256_of(b'xyz' + chr(10).encode())}, the ledger records {entry.sha256}"
    ]
    path.unlink()
    assert ledger.file_stamp(path) is None


def test_a_file_changed_too_recently_has_no_stamp_yet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """File times tick coarsely: two writes within one tick could leave the same times, so a file changed in
    the last ``clock.racy_window`` is not stamped (its reader reads it instead)."""
    path = tmp_path / "p.patch"
    path.write_bytes(b"x")
    info = path.stat()
    changed = max(info.st_mtime_ns, info.st_ctime_ns)
    monkeypatch.setattr(clock.time, "time_ns", lambda: changed + clock.racy_window(info) - 1)
    assert ledger.file_stamp(path) is None
    monkeypatch.setattr(clock.time, "time_ns", lambda: changed + clock.racy_window(info))
    assert ledger.file_stamp(path) == (info.st_ino, 1, info.st_mtime_ns, info.st_ctime_ns)
