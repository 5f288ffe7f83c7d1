"""The coordinator end to end, as a real process in a real git repository."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

from tests.uet_engine.cli.test_run import make_repo, only_run_id, phase, rows, step, uet
from tests.uet_engine.phase_specs import write


def test_dirty_tree_is_the_base_and_survives_the_run(tmp_path: Path) -> None:
    """Uncommitted work is not refused: workstreams build on it and it is still there afterwards."""
    repo = tmp_path / "repo"
    repo.mkdir()
    for args in (["init", "-q"], ["commit", "-q", "--allow-empty", "-m", "init"]):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=repo, check=True)
    (repo / "notes.txt").write_text("mine\n")
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / "PH-A.json").write_text(
        '{"phase_id": "PH-A", "workstream_id": "ws-a", "title": "t", "objective": "o",'
        ' "phase_type": "implementation", "file_scope": {"create": ["copy.txt"], "modify": [], "read_only": []},'
        ' "steps": [{"operation_kind": "EXEC-ATOMIC-CREATE", "tool": "sh", "run": "cp notes.txt copy.txt"}],'
        ' "acceptance": {"sh": ["test -f copy.txt"]}}'
    )
    done = subprocess.run(
        [sys.executable, "-m", "uet_engine", "run", str(specs)], cwd=repo, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert (repo / "copy.txt").read_text() == "mine\n"
    assert (repo / "notes.txt").read_text() == "mine\n"


def test_a_run_refused_before_it_starts_is_an_error_event(tmp_path: Path) -> None:
    """A reused success whose patch never reached the tree and is now damaged: refused, and recorded as such."""
    repo = make_repo(tmp_path / "repo")
    write(
        tmp_path / "specs",
        phase("PH-A", [], [step("echo a > a.txt")], create=["a.txt"]),
        phase("PH-B", ["PH-A"], [step("exit 3")], create=["b.txt"]),
    )
    assert uet(repo, "run", str(tmp_path / "specs")).code == 1
    run1 = only_run_id(repo)
    # As if the engine had died between PH-A's success and its patch reaching the tree, and the patch then broke.
    db = sqlite3.connect(repo / ".runs" / "uet.sqlite")
    with db:
        db.execute("DELETE FROM run_events WHERE event_type = 'patch_applied'")
    db.close()
    (patch,) = rows(repo, "patch_ledger")
    (repo / patch["path"]).write_bytes(b"garbage")
    done = uet(repo, "run", str(tmp_path / "specs"), "--resume", run1)
    why = f"cannot reuse ws-ph-a: its patch {patch['path']} is damaged"
    assert (done.code, done.stderr) == (2, f"uet run: {why}\n")
    refused = rows(repo, "error_events")[-1]
    assert (refused["error_type"], refused["error_code"], refused["message"]) == ("preflight_failed", "UET-E109", why)
    assert refused["run_id"] != run1 and "workstream_id" not in refused
    logged = [json.loads(line) for line in (repo / ".runs" / "errors.jsonl").read_text().splitlines()]
    assert logged[-1] == refused
    # verify names the damaged patch and nothing about the refused run's error event.
    verified = uet(repo, "runs", "verify")
    assert verified.code == 1
    assert all(patch["path"] in line for line in verified.stdout.splitlines())


def test_a_diamond_starts_from_the_merge_of_its_direct_prerequisites(tmp_path: Path) -> None:
    """D after B and C (both after A) sees all three results; a chain reuses nobody's patch but its parent's."""
    from tests.uet_engine.cli.test_run import assert_verify_passes, make_repo, only_run_id, phase, rows, step, uet
    from tests.uet_engine.phase_specs import write

    repo = make_repo(tmp_path / "repo")
    specs = write(
        tmp_path / "specs",
        phase("PH-A", [], [step("echo a > a.txt")], create=["a.txt"]),
        phase("PH-B", ["PH-A"], [step("echo b | cat a.txt - > b.txt")], create=["b.txt"]),
        phase("PH-C", ["PH-A"], [step("echo c | cat a.txt - > c.txt")], create=["c.txt"]),
        phase("PH-D", ["PH-B", "PH-C"], [step("cat a.txt b.txt c.txt > d.txt")], create=["d.txt"]),
    )[0].parent
    done = uet(repo, "run", str(specs), "--jobs", "2")
    assert done.code == 0, done.stdout + done.stderr
    assert (repo / "d.txt").read_text() == "a\na\nb\na\nc\n"
    # D's patch holds only D's own change: it started from B and C merged, not from a replay of every ancestor.
    (entry,) = [p for p in rows(repo, "patch_ledger") if p["workstream_id"] == "ws-ph-d"]
    assert entry["files"] == ["d.txt"]
    assert len({r["status"] for r in rows(repo, "uet_runs") if r["run_id"] == only_run_id(repo)}) == 1
    assert_verify_passes(repo)


def test_prerequisites_whose_writes_could_conflict_are_refused_by_the_plan(tmp_path: Path) -> None:
    """Two parallel prerequisites whose globs share a file (``sh*.txt`` and ``*ed.txt`` both name shared.txt):
    the one glob dialect's overlap check finds it before anything runs, so their dependant never has to merge
    conflicting bases (the fnmatch check this replaced missed the pair and the run failed mid-way)."""
    from tests.uet_engine.cli.test_run import make_repo, phase, step, uet
    from tests.uet_engine.phase_specs import write

    repo = make_repo(tmp_path / "repo", {"shared.txt": "x\n"})
    specs = write(
        tmp_path / "specs",
        phase("PH-B", [], [step("echo b > shared.txt")], modify=["sh*.txt"]),
        phase("PH-C", [], [step("echo c > shared.txt")], modify=["*ed.txt"]),
        phase("PH-D", ["PH-B", "PH-C"], [step("cat shared.txt > d.txt")], create=["d.txt"]),
    )[0].parent
    done = uet(repo, "run", str(specs), "--jobs", "1")
    assert done.code == 1
    assert "PH-B" in done.stderr and "PH-C" in done.stderr
    assert done.stderr.splitlines()[-1] == f"uet run: 1 problem(s) in {specs}; nothing run"
    assert not (repo / ".runs").exists()
