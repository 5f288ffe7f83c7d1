"""Git isolation: base snapshots, worktrees with prerequisite patches, binary-safe capture, cleanup."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from uet_engine.errors import GitError
from uet_engine.execution import isolation as iso
from uet_engine.execution import slots


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
    first = iso.slot_path(root, 0)
    before = slots.prepare(root, first, base)
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

    second = iso.slot_path(root, 1)
    assert slots.prepare(root, second, iso.commit_result(first, after, base)) == after
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
    path = iso.slot_path(root, 0)
    tree = slots.prepare(root, path, iso.head_commit(root))
    assert iso.stage_all(path) == tree
    assert iso.diff(path, tree, tree) == b""
    empty = tmp_path / "empty.patch"
    empty.write_bytes(b"")
    assert iso.is_applied(root, empty)


def test_conflicting_patch_is_a_git_error(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    path = iso.slot_path(root, 0)
    before = slots.prepare(root, path, iso.head_commit(root))
    (path / "a.txt").write_text("theirs\n")
    patch = tmp_path / "p.patch"
    patch.write_bytes(iso.diff(path, before, iso.stage_all(path)))
    (root / "a.txt").write_text("mine\n")
    with pytest.raises(iso.GitError) as info:
        iso.apply_to_tree(root, patch)
    assert str(info.value) == "git apply failed: error: a.txt: patch does not apply"


def test_stale_worktrees_are_removed_but_slots_are_kept(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    worktrees = root / ".runs" / "worktrees"
    old_layout = worktrees / "run-old" / "slot-0"  # one folder per run, as engines before slots kept them
    iso.add_worktree(root, old_layout, iso.head_commit(root))
    (old_layout / "half-done.txt").write_text("x\n")
    orphan = worktrees / "slot-7"  # named like a slot, but git does not know it
    orphan.mkdir(parents=True)
    slot = iso.slot_path(root, 0)
    slots.prepare(root, slot, iso.head_commit(root))
    assert sorted(iso.clean_stale(root)) == [worktrees / "run-old", old_layout, orphan]
    assert sorted(p.name for p in worktrees.iterdir()) == ["slot-0"]
    assert sh(root, "git", "worktree", "list", "--porcelain").count("worktree ") == 2
    assert iso.clean_stale(root, keep_slots=False) == [slot]
    assert not worktrees.exists()
    assert sh(root, "git", "worktree", "list", "--porcelain").count("worktree ") == 1


def commit_with(root: Path, slot: int, start: str, name: str, text: str) -> str:
    path = iso.slot_path(root, slot)
    slots.prepare(root, path, start)
    (path / name).write_text(text)
    return iso.commit_result(path, iso.stage_all(path), start)


def test_a_start_merges_the_direct_prerequisites_commits(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    base = iso.head_commit(root)
    assert iso.start_commit(root, base, []) == base
    left = commit_with(root, 0, base, "left.txt", "l\n")
    assert iso.start_commit(root, base, [left]) == left
    right = commit_with(root, 1, base, "right.txt", "r\n")
    third = commit_with(root, 1, left, "third.txt", "t\n")  # on top of left: its merge base with right is base
    merged = iso.start_commit(root, base, [left, right, third])
    files = sh(root, "git", "ls-tree", "-r", "--name-only", merged).split()
    assert files == [".gitignore", "a.txt", "left.txt", "right.txt", "third.txt"]
    assert sh(root, "git", "rev-list", "--count", merged).strip() == "6"  # base, 3 results, 2 merges


def test_prerequisites_that_change_the_same_lines_are_a_merge_conflict(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    base = iso.head_commit(root)
    left = commit_with(root, 0, base, "a.txt", "left\n")
    right = commit_with(root, 1, base, "a.txt", "right\n")
    with pytest.raises(iso.MergeConflict) as info:
        iso.start_commit(root, base, [left, right])
    assert str(info.value) == f"the prerequisites' changes conflict ({left[:12]} and {right[:12]}): a.txt"


def test_git_time_is_accumulated(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    calls = iso.GIT_TIME.calls
    iso.head_commit(root)
    assert iso.GIT_TIME.calls == calls + 1


def test_a_patch_and_commit_started_ahead_equal_the_ones_made_at_once(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    slot = iso.slot_path(root, 0)
    start = iso.head_commit(root)
    before = slots.prepare(root, slot, start)
    (slot / "a.txt").write_text("changed\n")
    (slot / "big.bin").write_bytes(os.urandom(300_000))  # more than a pipe holds: git waits for the read
    after = iso.stage_all(slot)
    calls = iso.GIT_TIME.calls
    patch, commit = iso.result_started(slot, before, after, start)
    made = commit.result().stdout.decode().strip()
    assert patch.result().stdout == iso.diff(slot, before, after)
    assert patch.result() is patch.result()  # read once
    assert iso.GIT_TIME.calls == calls + 3  # each wait counts as a call, as the one made at once
    assert sh(slot, "git", "rev-parse", f"{made}^{{tree}}").strip() == after
    assert sh(slot, "git", "rev-parse", f"{made}^").strip() == start


def test_a_command_started_ahead_reports_gits_failure_and_can_be_dropped(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    failing = iso.Started(root, "cat-file", "-p", "0" * 40)
    with pytest.raises(GitError, match=r"^git cat-file failed: fatal: "):
        failing.result()
    with pytest.raises(GitError):  # the same failure again, not a second run
        failing.result()
    running = iso.Started(root, "rev-parse", "HEAD")  # nobody reads it: close reaps it
    running.close()
    running.close()
    with pytest.raises(AssertionError, match="closed before its result was read"):
        running.result()


GIT_ID = ("-c", "user.name=t", "-c", "user.email=t@t")


def conflicted(path: Path) -> Path:
    """A repository with two branches that both change a.txt, ``other`` not merged yet."""
    repo = make_repo(path)
    sh(repo, "git", "checkout", "-qb", "other")
    (repo / "a.txt").write_text("other\n")
    sh(repo, "git", *GIT_ID, "commit", "-qam", "other")
    sh(repo, "git", "checkout", "-q", "-")
    (repo / "a.txt").write_text("main\n")
    sh(repo, "git", *GIT_ID, "commit", "-qam", "main")
    return repo


def fails(repo: Path, *args: str) -> None:
    assert subprocess.run(args, cwd=repo, capture_output=True, check=False).returncode != 0


@pytest.mark.parametrize(
    ("start", "what", "how"),
    [
        (
            ("git", *GIT_ID, "merge", "other"),
            "a merge",
            "finish it with git commit, or abort it with git merge --abort",
        ),
        (
            ("git", *GIT_ID, "rebase", "other"),
            "a rebase",
            "finish it with git rebase --continue, or abort it with git rebase --abort",
        ),
        (
            ("git", *GIT_ID, "cherry-pick", "other"),
            "a cherry-pick",
            "finish it with git cherry-pick --continue, or abort it with --abort",
        ),
        (("git", *GIT_ID, "revert", "HEAD"), None, None),  # reverting the tip applies cleanly: at rest
    ],
    ids=["merge", "rebase", "cherry-pick", "clean-revert"],
)
def test_a_repository_in_the_middle_of_an_operation_is_named(
    tmp_path: Path, start: tuple[str, ...], what: str | None, how: str | None
) -> None:
    repo = conflicted(tmp_path / "repo")
    if what is None:
        sh(repo, *start, "--no-edit")
        assert iso.unfinished_operation(repo) is None
        return
    fails(repo, *start)
    assert iso.unfinished_operation(repo) == f"{repo} is in the middle of {what}; {how}, then run again"


def test_a_bisect_and_unmerged_paths_are_named(tmp_path: Path) -> None:
    repo = conflicted(tmp_path / "repo")
    sh(repo, "git", "bisect", "start")
    assert (
        iso.unfinished_operation(repo)
        == f"{repo} is in the middle of a bisect; end it with git bisect reset, then run again"
    )
    sh(repo, "git", "bisect", "reset")
    fails(repo, "git", *GIT_ID, "merge", "other")
    (Path(sh(repo, "git", "rev-parse", "--absolute-git-dir").strip()) / "MERGE_HEAD").unlink()  # as after a stash pop
    assert iso.unfinished_operation(repo) == (
        f"{repo} has unmerged paths (e.g. a.txt); resolve them and git add them, then run again"
    )


def test_the_engine_folders_are_excluded_through_info_exclude_not_a_tracked_file(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    exclude = repo / ".git" / "info" / "exclude"
    exclude.write_text("# mine\n*.log")  # no final newline
    assert iso.exclude_engine_folders(repo) is True
    assert exclude.read_text() == "# mine\n*.log\n# uet: the engine's records (uet run)\n/.runs/\n/.ledger/\n"
    assert iso.exclude_engine_folders(repo) is False  # once only
    (repo / ".runs").mkdir()
    (repo / ".runs" / "x").write_text("x\n")
    (repo / ".ledger").mkdir()
    (repo / ".ledger" / "y").write_text("y\n")
    sh(repo, "git", "add", "-A")
    assert sh(repo, "git", "status", "--porcelain") == ""
    assert (repo / ".gitignore").read_text() == "ignored/\n"
    # The engine's own pathspecs still work with the folders ignored (git refuses a literal ignored exclude).
    assert iso.stage_all(repo) == iso.tree_of(repo, iso.head_commit(repo))


# -- a reused slot: one status says what it needs (slot_cases.json) -----------------------------------------
