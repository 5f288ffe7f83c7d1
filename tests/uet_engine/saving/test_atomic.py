"""write_atomic replaces a file whole or not at all."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from uet_engine.saving.atomic import fsync_path, write_atomic


def test_writes_text_and_bytes(tmp_path: Path) -> None:
    write_atomic(tmp_path / "a.txt", "héllo\n")
    write_atomic(tmp_path / "b.bin", b"\x00\x01")
    assert (tmp_path / "a.txt").read_bytes() == "héllo\n".encode()
    assert (tmp_path / "b.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "b.bin"]


def test_replaces_and_keeps_the_mode_of_the_old_file(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    target.write_text("old")
    target.chmod(0o640)
    write_atomic(target, "new")
    assert target.read_text() == "new"
    assert target.stat().st_mode & 0o777 == 0o640


def test_new_file_gets_umask_permissions_not_owner_only(tmp_path: Path) -> None:
    old = os.umask(0o022)
    os.umask(old)
    write_atomic(tmp_path / "new.txt", "x")
    assert (tmp_path / "new.txt").stat().st_mode & 0o777 == 0o666 & ~old


def test_missing_folder_raises_and_writes_nothing(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "missing" / "out.json", "x")
    assert list(tmp_path.iterdir()) == []


def test_failed_replace_leaves_the_target_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()
    (target / "inside.txt").write_text("old")
    with pytest.raises(IsADirectoryError):
        write_atomic(target, "new")
    assert (target / "inside.txt").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["taken"]


def test_sync_false_writes_the_same_file_without_an_fsync(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``sync=False`` (a ``normal`` durability run) keeps the atomic rename and skips only the fsync."""
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    write_atomic(tmp_path / "a.patch", b"one", sync=False)
    assert synced == []
    write_atomic(tmp_path / "b.patch", b"two")
    assert len(synced) == 1
    assert [(p.name, p.read_bytes()) for p in sorted(tmp_path.iterdir())] == [("a.patch", b"one"), ("b.patch", b"two")]


def test_fsync_path_syncs_files_and_folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    (tmp_path / "f").write_bytes(b"x")
    fsync_path(tmp_path / "f")
    fsync_path(tmp_path)
    assert len(synced) == 2
    with pytest.raises(FileNotFoundError):
        fsync_path(tmp_path / "missing")
