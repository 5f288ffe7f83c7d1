"""The guard in a real repository: what a step changes outside its worktree is seen, the engine's own writes not."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from pathlib import Path

from tests.uet_engine.cli.test_run import git, make_repo
from uet_engine.detection import tamper
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


def test_a_patch_is_restamped_by_its_own_paths_and_no_patch_costs_no_status(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"README.md": "# demo\n"})
    guard = Guard(repo)
    before = guard.statuses
    with guard.engine_writes([]):
        pass
    assert guard.statuses == before
    with guard.engine_writes(["landed.txt", "README.md"]):
        (repo / "landed.txt").write_text("from a patch\n")
        (repo / "README.md").write_text("# changed by the patch\n")
        (repo / "other.txt").write_text("not in the patch\n")
    assert guard.statuses == before + 1
    assert guard.check() == ["other.txt (added to the working tree)"]


def test_a_status_limited_to_paths_takes_them_literally(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"README.md": "# demo\n"})
    for name in ("a*.txt", "ab.txt", "c.txt"):
        (repo / name).write_text("x\n")
    assert isolation.working_tree_status(repo, ["a*.txt"]) == b"?? a*.txt\0"
    assert isolation.working_tree_status(repo) == b"?? a*.txt\0?? ab.txt\0?? c.txt\0"


def test_checks_asked_during_a_status_share_the_next_one_which_sees_what_came_before_them(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"README.md": "# demo\n"})
    guard = Guard(repo)
    first_read, go = threading.Event(), threading.Event()
    real = guard._status

    def status(paths: Iterable[str] = ()) -> dict[str, tamper.Stamp]:
        found = real(paths)
        if not first_read.is_set():
            first_read.set()
            go.wait()  # the first status has read the tree; the others are asked for while it "runs"
        return found

    guard._status = status  # type: ignore[method-assign]
    results: dict[str, list[str]] = {}
    first = threading.Thread(target=lambda: results.update(first=guard.check()))
    first.start()
    first_read.wait()
    (repo / "escaped.txt").write_text("written after the first status read the tree\n")
    others = [threading.Thread(target=lambda n=n: results.update({n: guard.check()})) for n in ("second", "third")]
    for thread in others:
        thread.start()
    while len(guard._shared._waiters) < 2:  # type: ignore[attr-defined]  # both wait for the running one
        time.sleep(0.001)
    go.set()
    for thread in (first, *others):
        thread.join()
    assert results == {
        "first": [],
        "second": ["escaped.txt (added to the working tree)"],
        "third": ["escaped.txt (added to the working tree)"],
    }
    assert guard.statuses == 3  # the start, the first check's, and one shared by the second and third


def test_gits_own_housekeeping_is_not_a_change_but_the_rest_of_info_is(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"README.md": "# demo\n"})
    guard = Guard(repo)
    git(repo, "-c", "repack.updateServerInfo=true", "repack", "-a", "-d", "-q")  # what a background gc does
    assert (repo / ".git" / "info" / "refs").is_file()
    assert guard.check() == []
    (repo / ".git" / "info" / "exclude").write_text("hidden.txt\n")
    assert guard.check() == [".git/info/exclude (changed)"]
