"""The guard in a real repository: what a step changes outside its worktree is seen, the engine's own writes not."""

from __future__ import annotations

from pathlib import Path

from tests.uet_engine.cli.test_run import git, make_repo
from uet_engine.execution import isolation
from uet_engine.execution.guard import Guard


def test_changes_outside_the_worktrees_are_named(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"README.md": "# demo\n", "dirty.txt": "d\n"})
    (repo / "dirty.txt").write_text("already dirty before the run\n")
    guard = Guard(repo)
    assert guard.check() == []
    (repo / "escaped.txt").write_text("x\n")
    (repo / "dirty.txt").write_text("changed again, longer than before\n")
    (repo / ".git" / "hooks" / "post-checkout").write_text("#!/bin/sh\n")
    git(repo, "config", "core.fsmonitor", "touch /tmp/never")
    assert guard.check() == [
        "dirty.txt (changed in the working tree)",
        "escaped.txt (added to the working tree)",
        ".git/config (changed)",
        ".git/hooks/post-checkout (created)",
    ]


def test_the_engines_own_patch_is_not_a_change(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    guard = Guard(repo)
    with guard.engine_writes(["landed.txt"]):
        (repo / "landed.txt").write_text("from a patch\n")
    assert guard.check() == []
    (repo / "landed.txt").write_text("changed by someone else afterwards\n")
    assert guard.check() == ["landed.txt (changed in the working tree)"]


def test_a_worktrees_pointer_and_admin_files_are_watched(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    slot = isolation.slot_path(repo, 0)
    isolation.prepare(repo, slot, isolation.head_commit(repo))
    guard = Guard(repo)
    guard.watch_slot(slot)
    assert guard.check(slot) == []
    (slot / ".git").write_text(f"gitdir: {tmp_path / 'fake'}\n")
    assert guard.check(slot) == [".git (changed)"]
    # The engine never reads that pointer: its git commands name the administrative folder itself.
    assert isolation.stage_all(slot) == isolation.tree_of(repo, isolation.head_commit(repo))
    isolation.remove_worktree(repo, slot)
