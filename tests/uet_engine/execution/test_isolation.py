"""Git isolation: base snapshots, worktrees with prerequisite patches, binary-safe capture, cleanup."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from uet_engine.execution import isolation as iso


def sh(cwd: Path, *args: str) -> str:
    return subprocess.run(args, cwd=cwd, check=True, capture_output=True, text=True).stdout


def make_repo(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    sh(path, "git", "init", "-q")
    (path / "a.txt").write_text("a\n")
    (path / ".gitignore").write_text("ignored/\n")
    sh(path, "git", "add", "-A")
    sh(path, "git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    return path


def test_not_a_repo_says_how_to_fix(tmp_path: Path) -> None:
    with pytest.raises(iso.NotAGitRepo) as info:
        iso.repo_root(tmp_path)
    assert str(info.value) == (
        f"{tmp_path} is not a git repository; uet run needs one with at least one commit: add --init, or run "
        "git init && git add -A && git commit -m 'initial commit'"
    )


def test_repo_without_commit_says_how_to_fix(tmp_path: Path) -> None:
    sh(tmp_path, "git", "init", "-q")
    with pytest.raises(iso.NotAGitRepo) as info:
        iso.repo_root(tmp_path)
    assert str(info.value) == (
        f"{tmp_path.resolve()} has no commit yet; uet run needs one to start from: "
        "git add -A && git commit -m 'initial commit'"
    )


def test_clean_tree_starts_from_head(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    assert iso.snapshot_base(root, "run-1") == iso.head_commit(root)
    assert sh(root, "git", "for-each-ref", "refs/uet") == ""


def test_uncommitted_work_is_part_of_the_base_but_not_ignored_or_engine_files(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    (root / "a.txt").write_text("edited\n")
    (root / "new.txt").write_text("new\n")
    (root / "ignored").mkdir()
    (root / "ignored" / "x").write_text("x\n")
    (root / ".runs").mkdir()
    (root / ".runs" / "uet.sqlite").write_text("db\n")
    base = iso.snapshot_base(root, "run-7")
    assert base != iso.head_commit(root)
    assert sh(root, "git", "rev-parse", "refs/uet/runs/run-7").strip() == base
    assert sh(root, "git", "ls-tree", "-r", "--name-only", base).split() == [".gitignore", "a.txt", "new.txt"]
    assert sh(root, "git", "show", f"{base}:a.txt") == "edited\n"
    assert sh(root, "git", "status", "--porcelain") == " M a.txt\n?? .runs/\n?? new.txt\n"  # user's index untouched


def test_a_gitignore_that_lists_the_engine_folders_is_no_obstacle(tmp_path: Path) -> None:
    # git refuses an exclude pathspec naming an ignored folder that exists; uet init writes such a .gitignore
    root = make_repo(tmp_path / "r")
    (root / ".gitignore").write_text("ignored/\n.runs/\n")
    (root / ".runs").mkdir()
    (root / ".runs" / "uet.sqlite").write_text("db\n")
    (root / ".ledger").mkdir()
    (root / ".ledger" / "p.patch").write_text("patch\n")
    (root / "new.txt").write_text("new\n")
    base = iso.snapshot_base(root, "run-8")
    assert sh(root, "git", "ls-tree", "-r", "--name-only", base).split() == [".gitignore", "a.txt", "new.txt"]
    assert iso.stage_all(root) == sh(root, "git", "rev-parse", f"{base}^{{tree}}").strip()


def test_a_failing_add_still_names_gits_reason(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    (root / ".git" / "index.lock").write_text("")
    (root / "new.txt").write_text("new\n")
    with pytest.raises(iso.GitError, match=r"^git add failed: remove the file manually to continue\.$"):
        iso.stage_all(root)


def test_capture_applies_in_a_dependant_and_to_the_tree(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    base = iso.snapshot_base(root, "run-1")
    first = iso.worktree_path(root, "run-1", "ws-a")
    before = iso.prepare(root, first, base, [])
    (first / "a.txt").write_text("changed\n")
    (first / "blob.bin").write_bytes(bytes(range(256)))
    (first / "ignored").mkdir()
    (first / "ignored" / "junk").write_text("junk\n")
    (first / ".ledger").mkdir()
    (first / ".ledger" / "x.patch").write_text("not ours\n")
    after = iso.stage_all(first)
    assert iso.changes_between(first, before, after) == {"a.txt": "modified", "blob.bin": "added"}
    patch = tmp_path / "a.patch"
    patch.write_bytes(iso.diff(first, before, after))
    assert b"GIT binary patch" in patch.read_bytes()

    second = iso.worktree_path(root, "run-1", "ws-b")
    assert iso.prepare(root, second, base, [patch]) == after
    assert (second / "blob.bin").read_bytes() == bytes(range(256))
    (second / "a.txt").rename(second / "moved.txt")
    assert iso.changes_between(second, after, iso.stage_all(second)) == {"a.txt": "deleted", "moved.txt": "renamed"}

    assert not iso.is_applied(root, patch)
    iso.apply_to_tree(root, patch)
    assert iso.is_applied(root, patch)
    assert (root / "a.txt").read_text() == "changed\n"
    assert (root / "blob.bin").read_bytes() == bytes(range(256))


def test_no_change_gives_an_empty_patch(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    path = iso.worktree_path(root, "run-1", "ws-a")
    tree = iso.prepare(root, path, iso.head_commit(root), [])
    assert iso.stage_all(path) == tree
    assert iso.diff(path, tree, tree) == b""
    empty = tmp_path / "empty.patch"
    empty.write_bytes(b"")
    assert iso.is_applied(root, empty)
    assert iso.prepare(root, iso.worktree_path(root, "run-1", "ws-b"), iso.head_commit(root), [empty]) == tree


def test_conflicting_patch_is_a_git_error(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    path = iso.worktree_path(root, "run-1", "ws-a")
    before = iso.prepare(root, path, iso.head_commit(root), [])
    (path / "a.txt").write_text("theirs\n")
    patch = tmp_path / "p.patch"
    patch.write_bytes(iso.diff(path, before, iso.stage_all(path)))
    (root / "a.txt").write_text("mine\n")
    with pytest.raises(iso.GitError) as info:
        iso.apply_to_tree(root, patch)
    assert str(info.value) == "git apply failed: error: a.txt: patch does not apply"


def test_stale_worktrees_are_removed(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    kept = iso.worktree_path(root, "run-old", "ws-a")
    iso.add_worktree(root, kept, iso.head_commit(root))
    (kept / "half-done.txt").write_text("x\n")
    orphan = iso.worktree_path(root, "run-older", "ws-b")
    orphan.mkdir(parents=True)
    assert sorted(iso.clean_stale(root)) == [kept, orphan]
    assert not (root / ".runs" / "worktrees").exists()
    assert sh(root, "git", "worktree", "list", "--porcelain").count("worktree ") == 1


def test_git_time_is_accumulated(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    calls = iso.GIT_TIME.calls
    iso.head_commit(root)
    assert iso.GIT_TIME.calls == calls + 1


def test_a_reused_worktree_is_pristine(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    path = iso.worktree_path(root, "run-1", "slot-0")
    head = iso.head_commit(root)
    tree = iso.prepare(root, path, head, [])
    (path / "a.txt").write_text("dirty\n")
    (path / "new.txt").write_text("left over\n")
    (path / "ignored").mkdir()
    (path / "ignored" / "cache").write_text("x\n")
    iso.stage_all(path)
    (path / "unstaged.txt").write_text("y\n")
    assert iso.prepare(root, path, head, []) == tree
    assert sorted(p.name for p in path.iterdir()) == [".git", ".gitignore", "a.txt"]
    assert (path / "a.txt").read_text() == "a\n"
    assert iso.stage_all(path) == tree
