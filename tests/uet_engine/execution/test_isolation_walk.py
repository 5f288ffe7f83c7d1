"""Staging a slot in one walk (``isolation.stage_changes``) records exactly what ``git add -A`` records.

The cases are data (``walk_cases.json``): each is a script a step could run in its worktree and the
changes the patch must then hold. Each runs in two slots of the same start, one staged the old way and
one the new way; the trees must be the same object.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.uet_engine.cli.test_run import make_repo
from uet_engine.execution import isolation as iso
from uet_engine.execution import slots

CASES = json.loads((Path(__file__).parent / "walk_cases.json").read_text(encoding="utf-8"))["cases"]
FILES = {
    "a.txt": "a\n",
    "dir/b.txt": "b\n",
    "dir/sub/c.txt": "c\n",
    "tool.sh": "echo tool\n",
    ".gitignore": "ignored/\n*.log\n",
}


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_repo(tmp_path_factory.mktemp("walk") / "repo", FILES)
    iso.exclude_engine_folders(root)
    return root


def _slot(repo: Path, n: int, script: str) -> tuple[Path, str, str]:
    slot = iso.slot_path(repo, n)
    head = iso.head_commit(repo)
    tree = slots.prepare(repo, slot, head)
    # A case's script may commit (a nested repository): the same dates make the same commit in every slot.
    dates = {"GIT_AUTHOR_DATE": "2026-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2026-01-01T00:00:00Z"}
    subprocess.run(["sh", "-c", script], cwd=slot, check=True, capture_output=True, env={**os.environ, **dates})
    return slot, head, tree


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_one_walk_stages_what_add_all_stages(repo: Path, case: dict[str, object]) -> None:
    script = str(case["run"])
    old_way, _head, start_tree = _slot(repo, 0, script)
    new_way, head, _tree = _slot(repo, 1, script)
    expected = iso.stage_all(old_way)
    staged = iso.stage_changes(new_way, head, start_tree)
    assert staged == expected
    assert iso.changes_between(repo, start_tree, staged) == case["changes"]
    # The same staging with its diff read from the index, as a step's staging does it, in a slot of its own.
    third_way, _head, _tree = _slot(repo, 2, script)
    tree, entries = iso.stage_and_diff(third_way, head, start_tree, start_tree)
    assert tree == expected
    assert entries == iso.diff_entries(repo, start_tree, expected)


def test_a_slot_where_nothing_changed_costs_one_walk_and_writes_nothing(repo: Path) -> None:
    slot, head, tree = _slot(repo, 2, "true")
    index = iso.admin_dir(slot)
    assert index is not None
    before = (index / "index").read_bytes()
    calls = iso.GIT_TIME.calls
    assert iso.stage_changes(slot, head, tree) == tree
    assert iso.GIT_TIME.calls == calls + 1
    assert (index / "index").read_bytes() == before


def test_the_walk_lists_untracked_files_one_by_one_and_leaves_ignored_ones_out(repo: Path) -> None:
    script = "mkdir -p x/y ignored && echo 1 > x/y/z && echo 2 > ignored/i && echo 3 >> a.txt"
    slot, head, _tree = _slot(repo, 3, script)
    found = iso.walk(slot)
    assert found == iso.Walk(head, (b"a.txt", b"x/y/z"), True)


def test_a_second_steps_diff_is_read_against_the_tree_the_first_one_staged(repo: Path) -> None:
    slot, head, start_tree = _slot(repo, 4, "echo new > n.txt && echo more >> a.txt")
    first, _ = iso.stage_and_diff(slot, head, start_tree, start_tree)
    subprocess.run(["sh", "-c", "mv dir/b.txt dir/moved.txt && ln -s a.txt link && rm n.txt"], cwd=slot, check=True)
    second, entries = iso.stage_and_diff(slot, head, start_tree, first)
    assert entries == iso.diff_entries(repo, first, second)
    assert entries == {
        "dir/b.txt": ("deleted", "", None),
        "dir/moved.txt": ("renamed", "100644", None),
        "link": ("added", "120000", "a.txt"),
        "n.txt": ("deleted", "", None),
    }
    assert iso.stage_and_diff(slot, head, start_tree, second) == (second, {})  # nothing new: nothing written
