"""Incremental re-runs: the inputs key (scope digest + prerequisites' keys) and what a second run skips."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.uet_engine.cli.test_run import (
    assert_every_record_validates,
    assert_verify_passes,
    git,
    make_repo,
    phase,
    rows,
    statuses,
    step,
    uet,
)
from tests.uet_engine.phase_specs import spec, write
from uet_engine.execution import inputs, isolation
from uet_engine.planning.phase_set import load_phase_set


def test_matching_tests_only_paths_under_a_patterns_literal_prefix() -> None:
    paths = sorted(["README.md", "docs/a.md", "docs/sub/b.md", "src/a.py", "src/ab.py", "src/b/c.py", "srcx.py"])
    assert inputs.matching(paths, ["src/a*.py"]) == ["src/a.py", "src/ab.py"]
    assert inputs.matching(paths, ["docs"]) == ["docs/a.md", "docs/sub/b.md"]
    assert inputs.matching(paths, ["**/*.md"]) == ["README.md", "docs/a.md", "docs/sub/b.md"]
    assert inputs.matching(paths, ["src/**", "README.md"]) == ["README.md", "src/a.py", "src/ab.py", "src/b/c.py"]
    assert inputs.matching(paths, []) == []
    assert inputs.folders_of(["src/a*.py", "docs/sub/b.md"]) == ["docs/sub", "src"]
    assert inputs.folders_of(["src/a.py", "*.md"]) == [""]


def test_the_working_tree_hashes_as_git_stores_it(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", {"src/a.py": "a = 1\n", "src/bin.dat": "\0\1\2", "top.txt": "t\n"})
    os.symlink("a.py", repo / "src" / "link.py")
    (repo / "src" / "new.py").write_text("untracked\n")
    (repo / ".gitignore").write_text("*.log\n")
    (repo / "src" / "x.log").write_text("ignored\n")
    tree = isolation.stage_all(repo)
    patterns = ["src/**", "top.txt"]
    from_tree = inputs.tree_blobs(repo, tree, patterns)
    assert sorted(from_tree) == ["src/a.py", "src/bin.dat", "src/link.py", "src/new.py", "top.txt"]
    assert inputs.worktree_blobs(repo, patterns) == from_tree
    just_a, just_top = inputs.KeyScope(("src/a.py",)), inputs.KeyScope(("top.txt",))
    assert inputs.scope_digest(from_tree, just_a) != inputs.scope_digest(from_tree, just_top)
    assert inputs.scope_digest(from_tree, inputs.KeyScope(("src/**",), ("src/*.dat", "src/link.py"))) == (
        inputs.scope_digest(from_tree, inputs.KeyScope(("src/a.py", "src/new.py")))
    )
    (repo / "src" / "a.py").unlink()  # a deleted tracked file is absent, as in the tree after the deletion
    assert "src/a.py" not in inputs.worktree_blobs(repo, patterns)
    assert inputs.tree_blobs(repo, tree, []) == {} == inputs.worktree_blobs(repo, [])


def test_a_key_scope_leaves_out_what_a_later_phase_claims(tmp_path: Path) -> None:
    specs = write(
        tmp_path / "specs",
        spec("PH-A", create=["pkg/__init__.py", "pkg/a.py"], read_only=["cfg/**"]),
        spec("PH-B", ["PH-A"], modify=["pkg/__init__.py"], create=["pkg/b.py"]),
        spec("PH-C", ["PH-B"], modify=["cfg/x.yaml"], read_only=["pkg/a.py"]),
    )
    scopes = inputs.key_scopes(load_phase_set(specs[0].parent))
    assert scopes["PH-A"] == inputs.KeyScope(
        ("cfg/**", "pkg/__init__.py", "pkg/a.py"), ("cfg/x.yaml", "pkg/__init__.py")
    )
    assert scopes["PH-B"] == inputs.KeyScope(("pkg/__init__.py", "pkg/b.py"), ())
    assert scopes["PH-C"] == inputs.KeyScope(("cfg/x.yaml", "pkg/a.py"), ())


def test_a_key_changes_with_the_scope_and_with_any_prerequisites_key() -> None:
    base = inputs.key("sha256:" + "0" * 64, {"ws-a": "sha256:" + "1" * 64})
    assert base == inputs.key("sha256:" + "0" * 64, {"ws-a": "sha256:" + "1" * 64})
    assert base != inputs.key("sha256:" + "2" * 64, {"ws-a": "sha256:" + "1" * 64})
    assert base != inputs.key("sha256:" + "0" * 64, {"ws-a": "sha256:" + "3" * 64})
    assert base != inputs.key("sha256:" + "0" * 64, {"ws-a": None})


def _patch_files(repo: Path) -> list[str]:
    return sorted(p.name for p in (repo / ".ledger" / "patches").iterdir())


def _run_ids(repo: Path) -> list[str]:
    return list(dict.fromkeys(r["run_id"] for r in rows(repo, "uet_runs")))


def test_a_second_run_of_the_examples_runs_nothing_exits_0_and_writes_no_patch(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    first = uet(repo, "run", str(EXAMPLES / "phases"), "--jobs", "2")
    assert first.code == 0, first.stdout + first.stderr
    patches = _patch_files(repo)
    tree = git(repo, "status", "--porcelain")
    dry = uet(repo, "run", str(EXAMPLES / "phases"), "--dry-run")
    (run1,) = _run_ids(repo)
    assert [line for line in dry.stdout.splitlines() if line.startswith("would")] == [
        f"would skip  PH-00 ws-pipeline-plus-0-bootstrap: up to date (succeeded in {run1})",
        f"would skip  PH-01A ws-pipeline-plus-1a-task-queue: up to date (succeeded in {run1})",
        f"would skip  PH-01B ws-pipeline-plus-1b-status: up to date (succeeded in {run1})",
        f"would skip  PH-02 ws-pipeline-plus-2-integration: up to date (succeeded in {run1})",
    ]
    second = uet(repo, "run", str(EXAMPLES / "phases"), "--jobs", "2")
    assert second.code == 0, second.stdout + second.stderr
    assert second.stdout.splitlines()[-1] == "4 succeeded"
    assert _patch_files(repo) == patches
    assert git(repo, "status", "--porcelain") == tree
    run2 = _run_ids(repo)[1]
    records = [r for r in rows(repo, "uet_runs") if r["run_id"] == run2]
    assert {(r["status"], r["reason"], r["reused_from"]) for r in records} == {("succeeded", "up to date", run1)}
    assert all(r["inputs_sha256"].startswith("sha256:") for r in records)
    assert [a for a in rows(repo, "step_attempts") if a["run_id"] == run2] == []
    # A third run is up to date too: the keys carry over through the up-to-date records.
    third = uet(repo, "run", str(EXAMPLES / "phases"))
    assert third.code == 0 and _patch_files(repo) == patches
    assert {r["reused_from"] for r in rows(repo, "uet_runs") if r["run_id"] == _run_ids(repo)[2]} == {run1}
    assert_verify_passes(repo)
    assert_every_record_validates(repo)


def _set(tmp_path: Path, b_reads: str = "cat a.txt > b.txt") -> Path:
    """A reads input.txt and writes a.txt; B (after A) writes b.txt; C, independent, writes c.txt."""
    return write(
        tmp_path / "specs",
        phase("PH-A", [], [step("cat input.txt > a.txt")], modify=["a.txt"], read_only=["input.txt"]),
        phase("PH-B", ["PH-A"], [step(b_reads)], modify=["b.txt"]),
        phase("PH-C", [], [step("echo c > c.txt")], modify=["c.txt"]),
    )[0].parent


def test_only_what_changed_and_its_dependants_run_again(tmp_path: Path) -> None:
    files = {"input.txt": "one\n", "a.txt": "", "b.txt": "", "c.txt": ""}
    repo = make_repo(tmp_path / "repo", files)
    specs = _set(tmp_path)
    assert uet(repo, "run", str(specs)).code == 0
    (repo / "input.txt").write_text("two\n")  # an input of A, outside B's scope: B runs as A's dependant
    again = uet(repo, "run", str(specs))
    assert again.code == 0, again.stdout + again.stderr
    run1, run2 = _run_ids(repo)
    records = {r["workstream_id"]: r for r in rows(repo, "uet_runs") if r["run_id"] == run2}
    assert {ws: (r["status"], r.get("reason")) for ws, r in records.items()} == {
        "ws-ph-a": ("succeeded", None),
        "ws-ph-b": ("succeeded", None),
        "ws-ph-c": ("succeeded", "up to date"),
    }
    assert (repo / "b.txt").read_text() == "two\n"
    # The user editing a file a workstream wrote makes it run again (its result is no longer in the tree).
    (repo / "c.txt").write_text("edited\n")
    third = uet(repo, "run", str(specs))
    assert third.code == 0
    run3 = _run_ids(repo)[2]
    reasons = {r["workstream_id"]: r.get("reason") for r in rows(repo, "uet_runs") if r["run_id"] == run3}
    assert reasons == {"ws-ph-a": "up to date", "ws-ph-b": "up to date", "ws-ph-c": None}
    assert (repo / "c.txt").read_text() == "c\n"
    assert run1 != run2
    assert_verify_passes(repo)


def test_a_changed_spec_runs_again_and_force_runs_everything(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"input.txt": "one\n", "a.txt": "", "b.txt": "", "c.txt": ""})
    assert uet(repo, "run", str(_set(tmp_path))).code == 0
    specs = _set(tmp_path / "changed", b_reads="cat a.txt a.txt > b.txt")
    assert uet(repo, "run", str(specs)).code == 0
    run2 = _run_ids(repo)[1]
    assert statuses(repo, run2) == {"ws-ph-a": "succeeded", "ws-ph-b": "succeeded", "ws-ph-c": "succeeded"}
    reasons = {r["workstream_id"]: r.get("reason") for r in rows(repo, "uet_runs") if r["run_id"] == run2}
    assert reasons == {"ws-ph-a": "up to date", "ws-ph-b": None, "ws-ph-c": "up to date"}
    assert (repo / "b.txt").read_text() == "one\none\n"
    dry = uet(repo, "run", str(specs), "--dry-run", "--force")
    assert [line.split(":")[0] for line in dry.stdout.splitlines() if line.startswith("would")] == [
        "would run   PH-A ws-ph-a",
        "would run   PH-C ws-ph-c",
        "would run   PH-B ws-ph-b",
    ]
    forced = uet(repo, "run", str(specs), "--force")
    assert forced.code == 0, forced.stdout + forced.stderr
    run3 = _run_ids(repo)[2]
    assert {r.get("reason") for r in rows(repo, "uet_runs") if r["run_id"] == run3} == {None}
    assert_verify_passes(repo)


@pytest.mark.parametrize("reads", ["read_only", "none"])
def test_a_file_outside_the_scope_is_not_an_input(tmp_path: Path, reads: str) -> None:
    repo = make_repo(tmp_path / "repo", {"input.txt": "one\n", "a.txt": ""})
    scope = {"read_only": ["input.txt"]} if reads == "read_only" else {}
    specs = write(tmp_path / "specs", phase("PH-A", [], [step("cat input.txt > a.txt")], modify=["a.txt"], **scope))
    assert uet(repo, "run", str(specs[0].parent)).code == 0
    (repo / "input.txt").write_text("two\n")
    assert uet(repo, "run", str(specs[0].parent)).code == 0
    last = rows(repo, "uet_runs")[-1]
    # Declared, the change is seen; undeclared, it is not (the documented limit of the key).
    assert last.get("reason") == (None if reads == "read_only" else "up to date")
