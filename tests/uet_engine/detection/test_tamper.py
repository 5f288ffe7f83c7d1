"""The after-step comparisons: the working tree's status stamps and the fingerprints of git's own files."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

from uet_engine import clock
from uet_engine.detection import tamper
from uet_engine.detection.tamper import Stamp, fingerprint, fingerprint_changes, parse_status, tree_changes


def test_parse_status_reads_porcelain_z_with_renames(tmp_path: Path) -> None:
    (tmp_path / "new.txt").write_text("n\n")
    raw = b" M a.txt\0?? new.txt\0R  b.txt\0old-b.txt\0 D gone.txt\0"
    found = parse_status(raw, tmp_path)
    assert sorted(found) == ["a.txt", "b.txt", "gone.txt", "new.txt"]
    assert found["new.txt"].status == "??" and found["new.txt"].size == 2
    assert found["gone.txt"] == Stamp(" D", None, None)


def test_tree_changes_name_each_path_and_how() -> None:
    before = {"a.txt": Stamp(" M", 3, 1), "kept.txt": Stamp("??", 1, 1)}
    after = {"a.txt": Stamp(" M", 4, 2), "kept.txt": Stamp("??", 1, 1), "new.txt": Stamp("??", 1, 5)}
    after["README.md"] = Stamp(" D", None, None)
    assert tree_changes(before, after) == [
        "README.md (deleted from the working tree)",
        "a.txt (changed in the working tree)",
        "new.txt (added to the working tree)",
    ]
    assert tree_changes({"x": Stamp(" M", 1, 1)}, {}) == ["x (restored in the working tree)"]


def test_fingerprints_see_content_new_files_and_removals(tmp_path: Path) -> None:
    git = tmp_path / ".git"
    (git / "hooks").mkdir(parents=True)
    (git / "config").write_text("[core]\n")
    (git / "hooks" / "pre-commit.sample").write_text("#!/bin/sh\n")
    watched = [git / "config", git / "hooks", git / "info"]
    before = fingerprint(watched)
    assert fingerprint_changes(before, fingerprint(watched), relative_to=tmp_path) == []
    (git / "config").write_text("[core]\n\tfsmonitor = touch /tmp/x\n")
    (git / "hooks" / "post-checkout").write_text("#!/bin/sh\n")
    (git / "hooks" / "pre-commit.sample").unlink()
    (git / "info").mkdir()
    (git / "info" / "attributes").write_text("* filter=evil\n")
    assert fingerprint_changes(before, fingerprint(watched), relative_to=tmp_path) == [
        ".git/config (changed)",
        ".git/hooks/post-checkout (created)",
        ".git/hooks/pre-commit.sample (deleted)",
        ".git/info (created)",
        ".git/info/attributes (created)",
    ]


def test_a_known_file_is_read_again_only_when_its_stamp_moves(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The after-step checks remember each settled file's digest by stamp; any rewrite (here the same size, the
    old mtime put back) moves the ctime and is read and seen."""
    monkeypatch.setattr(clock, "RACY_NS", 0)
    monkeypatch.setattr(clock, "FINE_RACY_NS", 0)
    hook = tmp_path / "hooks" / "pre-commit"
    hook.parent.mkdir()
    hook.write_bytes(b"#!/bin/sh\n")
    known: tamper.Known = {}
    before = tamper.fingerprint([tmp_path / "hooks"], known)
    reads: list[str] = []
    real = tamper._read
    monkeypatch.setattr(tamper, "_read", lambda path: (reads.append(path), real(path))[1])
    assert tamper.fingerprint([tmp_path / "hooks"], known) == before and reads == []
    info = hook.stat()
    hook.write_bytes(b"#!/bin/X\n")
    os.utime(hook, ns=(info.st_atime_ns, info.st_mtime_ns))
    after = tamper.fingerprint([tmp_path / "hooks"], known)
    assert reads == [str(hook)]
    assert tamper.fingerprint_changes(before, after, relative_to=tmp_path) == ["hooks/pre-commit (changed)"]


def test_a_file_changed_too_recently_is_read_every_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "config"
    config.write_text("[core]\n")
    known: tamper.Known = {}
    tamper.fingerprint([config], known)
    assert known == {}  # changed just now: not remembered


@pytest.mark.skipif(
    os.name == "nt", reason="creating symbolic links needs a privilege on Windows: run on Linux or macOS"
)
def test_a_link_to_a_folder_is_fingerprinted_by_its_target_not_walked(tmp_path: Path) -> None:
    """A link below a watched folder is content (where it points), even when it points at a folder: a step that
    points ``hooks/lib`` somewhere else is seen, and the folder it points at is not read."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "big").write_bytes(b"x")
    (tmp_path / "b").mkdir()
    (hooks / "lib").symlink_to(tmp_path / "a", target_is_directory=True)
    before = tamper.fingerprint([hooks])
    assert before == {str(hooks / "lib"): f"link:{tmp_path / 'a'}", str(hooks): "folder"}
    (hooks / "lib").unlink()
    (hooks / "lib").symlink_to(tmp_path / "b", target_is_directory=True)
    after = tamper.fingerprint([hooks])
    assert tamper.fingerprint_changes(before, after, relative_to=tmp_path) == ["hooks/lib (changed)"]


@pytest.mark.skipif(os.name == "nt", reason="Windows limits paths to 260 characters by default: run on Linux or macOS")
def test_folders_nested_deeper_than_the_call_stack_are_walked(tmp_path: Path) -> None:
    """A step without a sandbox may nest folders in ``.git/hooks`` as deep as it likes: the walk needs no call
    per level, so the guard still sees the file at the bottom."""
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    levels = sys.getrecursionlimit() + 50
    fd = os.open(hooks, os.O_RDONLY)
    for _ in range(levels):  # level by level (os.makedirs itself recurses once per level)
        os.mkdir("d", dir_fd=fd)
        inner = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = inner
    with os.fdopen(os.open("x", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd), "wb") as handle:
        handle.write(b"x")
    os.close(fd)
    bottom = os.path.join(hooks, *["d"] * levels)
    try:
        found = tamper.fingerprint([hooks])
        assert found[os.path.join(bottom, "x")] == hashlib.sha256(b"x").hexdigest()
    finally:  # removed level by level too: shutil.rmtree, which cleans tmp_path up, recurses per level
        os.unlink(os.path.join(bottom, "x"))
        for depth in range(levels, 0, -1):
            os.rmdir(os.path.join(hooks, *["d"] * depth))
