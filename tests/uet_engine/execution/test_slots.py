"""Slots: a used worktree made equal to a fresh one of a commit (reset, clean, one status, the folders' stamps),
index marks a command set cleared, a slot of another repository replaced."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.uet_engine.cli.test_run import make_repo as run_make_repo
from tests.uet_engine.cli.test_run import only_run_id, phase, statuses, step, uet
from tests.uet_engine.execution.test_isolation import GIT_ID, commit_with, make_repo, sh
from tests.uet_engine.execution.test_isolation_walk import FILES as SLOT_FILES
from tests.uet_engine.phase_specs import write
from uet_engine.execution import isolation as iso
from uet_engine.execution import slots


def is_pristine(root: Path, path: Path) -> bool:
    """Whether ``path`` is a worktree of ``root``'s repository holding exactly its HEAD: its git folder is the
    repository's, ``git status`` shows nothing at all (ignored files included), and no index entry is marked."""
    mine = subprocess.run(
        ["git", "rev-parse", "--path-format=absolute", "--git-common-dir"], cwd=path, capture_output=True
    )
    if mine.returncode != 0 or Path(mine.stdout.decode().strip()) != iso.common_dir(root):
        return False
    if sh(path, "git", "status", "--porcelain", "--ignored", "--untracked-files=all", "-z"):
        return False
    return slots.hidden_entries(path) == []


def test_a_carried_over_slot_is_checked_and_made_pristine(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    head = iso.head_commit(root)
    slot = iso.slot_path(root, 0)
    tree = slots.prepare(root, slot, head)
    assert is_pristine(root, slot)
    (slot / "a.txt").write_text("hidden\n")
    sh(slot, "git", "update-index", "--assume-unchanged", "a.txt")  # would hide a step's change from the patch
    assert slots.prepare(root, slot, head) == tree  # a reset alone restores the file but keeps the flag
    assert (slot / "a.txt").read_text() == "a\n"
    assert not is_pristine(root, slot)
    assert slots.prepare(root, slot, head, check=True) == tree  # the check unmarks the entry first
    assert is_pristine(root, slot)
    (slot / "new.txt").write_text("x\n")
    assert not is_pristine(root, slot)


def test_a_slot_of_another_repository_is_not_reused(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    other = make_repo(tmp_path / "other")
    slot = iso.slot_path(root, 0)
    iso.add_worktree(other, slot, iso.head_commit(other))  # something else's worktree where a slot would be
    assert not is_pristine(root, slot)
    slots.prepare(root, slot, iso.head_commit(root), check=True)
    assert is_pristine(root, slot)
    assert sh(slot, "git", "rev-parse", "HEAD").strip() == iso.head_commit(root)


def test_a_reused_worktree_is_pristine(tmp_path: Path) -> None:
    root = make_repo(tmp_path / "r")
    path = iso.slot_path(root, 0)
    head = iso.head_commit(root)
    tree = slots.prepare(root, path, head)
    (path / "a.txt").write_text("dirty\n")
    (path / "new.txt").write_text("left over\n")
    (path / "ignored").mkdir()
    (path / "ignored" / "cache").write_text("x\n")
    iso.stage_all(path)
    (path / "unstaged.txt").write_text("y\n")
    assert slots.prepare(root, path, head) == tree
    assert sorted(p.name for p in path.iterdir()) == [".git", ".gitignore", "a.txt"]
    assert (path / "a.txt").read_text() == "a\n"
    assert iso.stage_all(path) == tree


@pytest.mark.parametrize("left", ["nothing", "untracked", "modified", "staged", "moved head"])
def test_a_slot_left_at_the_same_commit_is_made_pristine_whatever_was_left(tmp_path: Path, left: str) -> None:
    root = make_repo(tmp_path / "r")
    head = iso.head_commit(root)
    slot = iso.slot_path(root, 0)
    tree = slots.prepare(root, slot, head)
    other = commit_with(root, 1, head, "other.txt", "o\n")
    if left == "untracked":
        (slot / "ignored").mkdir()
        (slot / "ignored" / "cache").write_text("x\n")
        (slot / "new.txt").write_text("n\n")
    elif left == "modified":
        (slot / "a.txt").write_text("b\n")  # same size as before: only the content tells
    elif left == "staged":
        (slot / "a.txt").write_text("staged\n")
        iso.stage_all(slot)
        (slot / "a.txt").write_text("a\n")  # the file looks right, the index does not
    elif left == "moved head":
        sh(slot, "git", "checkout", "-q", "--detach", other)
    calls = iso.GIT_TIME.calls
    assert slots.prepare(root, slot, head, tree=tree, at=head) == tree
    used = iso.GIT_TIME.calls - calls
    assert is_pristine(root, slot)
    assert sh(slot, "git", "rev-parse", "HEAD").strip() == head
    assert iso.stage_all(slot) == tree
    # One status when nothing changed, a clean as well for untracked files, a reset as well otherwise.
    assert used == {"nothing": 1, "untracked": 2}.get(left, 3)


SLOT_CASES = json.loads((Path(__file__).parent / "slot_cases.json").read_text(encoding="utf-8"))["cases"]
# Git calls of a reuse at the slot's own commit, by what it needed (the tree known, no hidden entries).
CALLS = {"nothing": 1, "clean": 2, "reset": 3}


@pytest.fixture(scope="module")
def with_submodule(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A repository (``SLOT_FILES``, the engine's folders excluded) with a submodule ``mod/`` at the first commit
    of ``$SUB``, whose HEAD is a second one."""
    base = tmp_path_factory.mktemp("slots")
    sub = base / "sub"
    sub.mkdir()
    sh(sub, "git", "init", "-q")
    for text in ("1\n", "2\n"):
        (sub / "f").write_text(text)
        sh(sub, "git", "add", "f")
        sh(sub, "git", *GIT_ID, "commit", "-qm", text.strip())
    first = sh(sub, "git", "rev-parse", "HEAD~1").strip()
    root = base / "repo"
    root.mkdir()
    sh(root, "git", "init", "-q")
    for name, text in SLOT_FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    sh(root, "git", "clone", "-q", str(sub), "mod")
    sh(root / "mod", "git", "checkout", "-q", "--detach", first)
    sh(root, "git", "add", "-A")
    sh(root, "git", *GIT_ID, "commit", "-qm", "init")
    iso.exclude_engine_folders(root)
    return root, {"SUB": str(sub), "SUB_AT": first}


def listing(path: Path) -> list[bytes]:
    """Every folder and file under ``path`` (names as bytes, whatever they are) but the worktree's ``.git`` file."""
    top = os.fsencode(path)
    found = []
    for folder, dirs, files in os.walk(top):
        for name in dirs + files:
            found.append(os.path.relpath(os.path.join(folder, name), top))
    return sorted(name for name in found if name != b".git")


@pytest.mark.parametrize("case", SLOT_CASES, ids=[case["name"] for case in SLOT_CASES])
def test_a_reused_slot_does_what_one_status_says_and_equals_a_fresh_worktree(
    with_submodule: tuple[Path, dict[str, str]], case: dict[str, Any]
) -> None:
    if case.get("root_only") and os.geteuid() != 0:
        pytest.skip("only root reads a folder of mode 000: run the tests as root to check this case")
    root, env = with_submodule
    head = iso.head_commit(root)
    fresh = iso.slot_path(root, 9)
    if not fresh.exists():
        iso.add_worktree(root, fresh, head)
    slot = iso.slot_path(root, 0)
    unconfined = bool(case.get("unconfined"))
    tree = slots.prepare(root, slot, head, check=unconfined, tree=iso.tree_of(root, head), at=head)
    subprocess.run(["sh", "-c", case["run"]], cwd=slot, check=True, capture_output=True, env={**os.environ, **env})
    if not unconfined:
        assert slots.slot_check(slot, head) == case["status"]
    tags = {line[:1] for line in sh(slot, "git", "ls-files", "-v").splitlines()}
    unmarked = any(tag.islower() for tag in tags) + bool(tags & {"S", "s"})  # update-index calls, one per mark
    admin = iso.admin_dir(slot)
    assert admin is not None
    (admin / "sentinel").write_text("")  # gone when the slot is replaced
    calls = iso.GIT_TIME.calls
    assert slots.prepare(root, slot, head, check=unconfined, tree=tree, at=head) == tree
    used = iso.GIT_TIME.calls - calls - unconfined - unmarked  # the marks' read and their unmarking
    step = "replace" if not (admin / "sentinel").exists() else {n: s for s, n in CALLS.items()}.get(used, str(used))
    assert step == case["step"]
    assert sh(slot, "git", "status", "--porcelain", "--ignored", "-uall") == ""
    assert slots.hidden_entries(slot) == []
    assert sh(slot, "git", "rev-parse", "HEAD").strip() == head
    assert listing(slot) == listing(fresh)
    assert all((slot / n).read_bytes() == (fresh / n).read_bytes() for n in SLOT_FILES)


@pytest.mark.parametrize("at", [None, "head"])
def test_marks_a_command_set_in_a_slot_are_cleared_when_it_ran_unconfined(tmp_path: Path, at: str | None) -> None:
    """``update-index --assume-unchanged`` or ``--skip-worktree`` survive ``reset --hard``: the next workstream
    in the slot would find them (``hidden_entries``) and fail its scope check for them."""
    root = make_repo(tmp_path / "r")
    (root / "b.txt").write_text("b\n")
    sh(root, "git", "add", "b.txt")
    sh(root, "git", *GIT_ID, "commit", "-qm", "b")
    head = iso.head_commit(root)
    slot = iso.slot_path(root, 0)
    tree = slots.prepare(root, slot, head)
    sh(slot, "git", "update-index", "--assume-unchanged", "a.txt")
    sh(slot, "git", "update-index", "--skip-worktree", "b.txt")
    (slot / "a.txt").write_text("changed a\n")
    (slot / "b.txt").write_text("changed b\n")
    assert slots.hidden_entries(slot) == ["a.txt", "b.txt"]
    assert slots.prepare(root, slot, head, check=True, tree=tree, at=head if at else None) == tree
    assert slots.hidden_entries(slot) == []
    assert (slot / "a.txt").read_text() == "a\n"
    assert (slot / "b.txt").read_text() == "b\n"
    assert is_pristine(root, slot)


@pytest.mark.parametrize("first_changes", [False, True], ids=["first changes nothing", "first writes a file"])
def test_a_mark_an_unconfined_check_left_does_not_fail_the_next_workstream(tmp_path: Path, first_changes: bool) -> None:
    repo = run_make_repo(tmp_path / "repo", {"README.md": "# demo\n", "notes.txt": "n\n"})
    first = [step("echo a > a.txt")] if first_changes else [step("true")]
    mark = "git update-index --skip-worktree notes.txt && git update-index --assume-unchanged README.md"
    write(
        tmp_path / "specs",
        phase("PH-A", [], first, create=["a.txt"] if first_changes else [], acceptance={"sh": [mark]}),
        phase("PH-B", [], [step("echo more >> README.md && echo m >> notes.txt")], modify=["README.md", "notes.txt"]),
    )
    done = uet(repo, "run", str(tmp_path / "specs"), "--sandbox", "off", "--jobs", "1")
    assert done.code == 0, done.stdout + done.stderr
    assert statuses(repo, only_run_id(repo)) == {"ws-ph-a": "succeeded", "ws-ph-b": "succeeded"}
    assert (repo / "README.md").read_text() == "# demo\nmore\n"
    assert (repo / "notes.txt").read_text() == "n\nm\n"


def test_a_folder_list_naming_more_than_the_tree_has_still_lets_an_unchanged_slot_skip_its_clean(
    tmp_path: Path,
) -> None:
    # A workstream's folder list, remembered for its tree, may name a folder its steps emptied (remember_tree_dirs).
    root = make_repo(tmp_path / "r")
    head = iso.head_commit(root)
    slot = iso.slot_path(root, 0)
    tree = iso.tree_of(root, head)
    iso.remember_tree_dirs(tree, frozenset({"gone", "gone/deeper"}))
    assert slots.prepare(root, slot, head, tree=tree) == tree
    calls = iso.GIT_TIME.calls
    assert slots.prepare(root, slot, head, tree=tree, at=head) == tree
    assert iso.GIT_TIME.calls == calls + 1  # the status alone: no clean
    (slot / "gone").mkdir()  # an empty folder where the list named one: the top folder's stamp tells
    calls = iso.GIT_TIME.calls
    assert slots.prepare(root, slot, head, tree=tree, at=head) == tree
    assert iso.GIT_TIME.calls == calls + 2 and not (slot / "gone").exists()
