"""Patches are data: which entries a patch may never carry, by mode, symlink target and place."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from uet_engine.detection.patch_data import Entry, entry_problems, reserved_paths, reserved_reason, symlink_reason

GIT = "it is inside a git directory (.git), which no patch may touch"


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("src/a.py", None),
        (".github/workflows/ci.yml", None),
        ("gitlab/.gitignore", None),
        (".runs/uet.sqlite", "it is inside .runs/, the engine's own records"),
        (".ledger/patches/x.patch", "it is inside .ledger/, the engine's own records"),
        ("docs/.runs/x", None),  # only the top-level folders are the engine's
        (".git/config", GIT),
        ("sub/.git/hooks/post-checkout", GIT),
        ("sub/.GIT/config", GIT),  # case-insensitive filesystems read it as .git
    ],
)
def test_reserved_places(path: str, why: str | None) -> None:
    assert reserved_reason(path) == why


@pytest.mark.parametrize(
    ("path", "target", "why"),
    [
        ("a.py", "b.py", None),
        ("lib/a.py", "../b.py", None),
        ("lib/deep/a.py", "../../b.py", None),
        ("a.py", "/etc/passwd", "it is a symbolic link to the absolute path '/etc/passwd', outside the repository"),
        ("a.py", "C:\\Windows", "it is a symbolic link to the absolute path 'C:\\\\Windows', outside the repository"),
        ("a.py", "../x", "it is a symbolic link to '../x', which leaves the repository"),
        ("lib/a.py", "../../x", "it is a symbolic link to '../../x', which leaves the repository"),
        ("lib/a.py", "./../..", "it is a symbolic link to './../..', which leaves the repository"),
        (
            "a.py",
            ".git/config",
            "it is a symbolic link to '.git/config', and inside a git directory (.git), which no patch may touch",
        ),
        (
            "lib/a.py",
            "../.runs/x",
            "it is a symbolic link to '../.runs/x', and inside .runs/, the engine's own records",
        ),
        ("lib/a", "..", None),  # the repository's root itself stays inside
    ],
)
def test_symlink_targets(path: str, target: str, why: str | None) -> None:
    assert symlink_reason(path, target) == why


def test_entry_problems_judge_mode_target_and_place_in_path_order() -> None:
    entries = {
        "z.py": Entry("100644"),
        "run.sh": Entry("100755"),
        "gone.py": Entry(""),
        "vendor/lib": Entry("160000"),
        "link": Entry("120000", "/etc/shadow"),
        "ok-link": Entry("120000", "z.py"),
        ".git/hooks/pre-commit": Entry("100755"),
    }
    assert entry_problems(entries) == {
        ".git/hooks/pre-commit": GIT,
        "link": "it is a symbolic link to the absolute path '/etc/shadow', outside the repository",
        "vendor/lib": "it is a gitlink (a submodule or nested repository), which a patch may not carry",
    }


def test_reserved_paths_find_what_git_would_drop_and_only_in_changed_folders(tmp_path: Path) -> None:
    (tmp_path / "docs" / "old").mkdir(parents=True)
    (tmp_path / ".git").write_text("gitdir: elsewhere\n")  # the worktree's own pointer is not a finding
    (tmp_path / "docs" / "old" / ".git").mkdir()
    (tmp_path / "docs" / "old" / ".git" / "config").write_text("planted before the step\n")
    known = ["docs", "docs/old"]
    import os
    import time

    past = time.time_ns() - 3_600 * 10**9
    for folder in ("docs/old", "docs", ""):
        os.utime(tmp_path / folder, ns=(past, past))
    since = time.time_ns()
    assert reserved_paths(tmp_path, known, since) == []  # nothing changed since: nothing is listed
    (tmp_path / "docs" / ".git").mkdir()
    (tmp_path / "docs" / ".git" / "HEAD").write_text("ref\n")
    (tmp_path / "new" / "x" / ".git").mkdir(parents=True)
    (tmp_path / "new" / "x" / ".git" / "config").write_text("c\n")
    (tmp_path / "new" / "fine.txt").write_text("f\n")
    (tmp_path / ".runs").mkdir()
    (tmp_path / ".runs" / "y").write_text("y\n")
    assert reserved_paths(tmp_path, known, since) == [".runs/y", "docs/.git/HEAD", "new/x/.git/config"]


def test_a_folder_whose_mtime_was_set_back_is_still_looked_at(tmp_path: Path) -> None:
    """A step that plants a nested ``.git`` and puts its folder's mtime back cannot hide it: the ctime moved."""
    import os
    import time

    (tmp_path / "docs").mkdir()
    past = time.time_ns() - 3_600 * 10**9
    os.utime(tmp_path / "docs", ns=(past, past))
    since = time.time_ns()
    (tmp_path / "docs" / ".git").mkdir()
    (tmp_path / "docs" / ".git" / "config").write_text("[core]\n")
    os.utime(tmp_path / "docs", ns=(past, past))
    assert reserved_paths(tmp_path, ["docs"], since) == ["docs/.git/config"]


@pytest.mark.skipif(
    sys.platform == "win32", reason="symbolic links need privileges on Windows: run this test on Linux or macOS"
)
def test_a_known_folder_that_became_a_link_or_a_file_is_not_scanned(tmp_path: Path) -> None:
    """One ``lstat`` per known folder decides: a link (git carries it as a link, not what it points to) and a folder
    replaced by a file are not listed through; a real changed folder still is."""
    worktree, outside = tmp_path / "wt", tmp_path / "outside"
    (outside / ".git").mkdir(parents=True)
    (outside / ".git" / "config").write_text("c\n")
    (worktree / "real" / ".git").mkdir(parents=True)
    (worktree / "real" / ".git" / "HEAD").write_text("ref\n")
    (worktree / "link").symlink_to(outside, target_is_directory=True)
    (worktree / "file").write_text("was a folder\n")
    assert reserved_paths(worktree, ["link", "file", "real"], 0) == ["real/.git/HEAD"]
