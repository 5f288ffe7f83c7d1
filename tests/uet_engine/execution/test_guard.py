"""The guard in a real repository: what a step changes outside its worktree is seen, the engine's own writes not."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from pathlib import Path

import pytest

from tests.uet_engine.cli.test_run import git, make_repo
from uet_engine import clock
from uet_engine.detection import tamper
from uet_engine.execution import isolation, slots
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
    slots.prepare(repo, slot, isolation.head_commit(repo))
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


@pytest.fixture
def settled(monkeypatch: pytest.MonkeyPatch) -> None:
    """No racy window: the user's index counts as written long before the run, as it usually is (a fresh one
    is copied again at every status until its stamp can be trusted)."""
    monkeypatch.setattr(clock, "RACY_NS", 0)
    monkeypatch.setattr(clock, "FINE_RACY_NS", 0)


@pytest.mark.usefixtures("settled")
def test_statuses_read_a_private_index_with_an_untracked_cache_and_leave_the_users_index_alone(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"README.md": "# demo\n", "pkg/a.py": "a\n", "pkg/deep/b.py": "b\n"})
    isolation.exclude_engine_folders(repo)
    user_index = (repo / ".git" / "index").read_bytes()
    guard = Guard(repo)
    for _ in range(3):
        assert guard.check() == []
    assert b"UNTR" in guard.index.path.read_bytes()  # git keeps its untracked cache in the copy
    assert guard.index.copies == 1  # copied once: neither the user's index nor the copy changed since
    (repo / "pkg" / "deep" / "new.py").write_text("new in a folder the cache knows\n")
    (repo / "pkg" / "fresh" / "x").parent.mkdir()
    (repo / "pkg" / "fresh" / "x").write_text("new in a new folder\n")
    (repo / "pkg" / "a.py").unlink()
    assert guard.check() == [
        "pkg/a.py (deleted from the working tree)",
        "pkg/deep/new.py (added to the working tree)",
        "pkg/fresh/x (added to the working tree)",
    ]
    with guard.engine_writes(["pkg/deep/new.py", "pkg/fresh/x", "pkg/a.py"]):
        pass  # taken as they are now
    assert guard.check() == []
    (repo / "pkg" / "deep" / "new.py").write_text("an untracked file changed, its folder's stamp not\n")
    assert guard.check() == ["pkg/deep/new.py (changed in the working tree)"]
    assert (repo / ".git" / "index").read_bytes() == user_index
    guard.index.close()
    assert not guard.index.path.exists()


@pytest.mark.usefixtures("settled")
def test_a_file_staged_in_the_users_tree_is_seen_through_the_private_index(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"README.md": "# demo\n", "dirty.txt": "d\n"})
    (repo / "dirty.txt").write_text("dirty before the run\n")
    guard = Guard(repo)
    assert guard.check() == []
    git(repo, "add", "dirty.txt")  # what a step could do: the file's bytes stay as they were
    assert guard.check() == ["dirty.txt (changed in the working tree)"]
    assert guard.index.copies == 2


@pytest.mark.usefixtures("settled")
def test_a_private_index_rewritten_behind_gits_back_is_copied_again(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"README.md": "# demo\n"})
    guard = Guard(repo)
    assert guard.check() == []
    guard.index.path.write_bytes(b"planted")  # e.g. an untracked cache that hides a file
    (repo / "escaped.txt").write_text("x\n")
    assert guard.check() == ["escaped.txt (added to the working tree)"]
    assert guard.index.copies == 2


def test_the_engines_folders_stay_out_even_when_a_gitignore_lets_them_in(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"README.md": "# demo\n", ".gitignore": "!/.runs/\n!/.ledger/\n"})
    isolation.exclude_engine_folders(repo)
    guard = Guard(repo)
    (repo / ".runs").mkdir(exist_ok=True)  # the guard keeps its private index there
    (repo / ".runs" / "audit.jsonl").write_text("{}\n")
    (repo / ".ledger" / "patches").mkdir(parents=True)
    (repo / ".ledger" / "patches" / "p.patch").write_text("\n")
    (repo / ".runsx").write_text("not an engine folder\n")
    assert guard.check() == [".runsx (added to the working tree)"]


def test_without_an_index_the_users_tree_is_still_read(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"README.md": "# demo\n"})
    (repo / ".git" / "index").unlink()
    guard = Guard(repo)
    (repo / "escaped.txt").write_text("x\n")
    assert "escaped.txt (added to the working tree)" in guard.check()
    assert guard.index.copies == 0


def test_a_user_index_written_too_recently_to_tell_is_copied_at_every_status(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(clock, "RACY_NS", 10**18)  # every stamp too recent to trust
    monkeypatch.setattr(clock, "FINE_RACY_NS", 10**18)
    repo = make_repo(tmp_path / "repo", {"README.md": "# demo\n"})
    guard = Guard(repo)
    assert guard.check() == []
    assert guard.index.copies == 2
