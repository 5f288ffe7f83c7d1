"""The coordinator end to end, as a real process in a real git repository."""

from __future__ import annotations

import io
import json
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.uet_engine.cli.test_run import (
    assert_every_record_validates,
    assert_verify_passes,
    make_repo,
    only_run_id,
    phase,
    rows,
    step,
    uet,
)
from tests.uet_engine.phase_specs import write
from uet_engine.execution import sandbox
from uet_engine.execution.coordinator import Outcome, execute_run
from uet_engine.execution.executors import LocalExecutor
from uet_engine.execution.progress import Reporter
from uet_engine.execution.sandbox import UNCONFINED
from uet_engine.execution.selection import Options
from uet_engine.execution.worker import Finished, Job, Report
from uet_engine.planning.phase_set import load_phase_set


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
    # Deleting the patch_applied event also breaks the timeline's chain and numbering: named too.
    others = [line for line in verified.stdout.splitlines() if patch["path"] not in line]
    assert others and all("seq" in line or "patch_applied" in line for line in others), verified.stdout


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


class Watching(LocalExecutor):
    """Local threads, with a look at the store each time a workstream is handed over, and a hook before each end."""

    def __init__(self, repo: Path, jobs: int, before_done: Callable[[Job, Finished], None] | None = None) -> None:
        super().__init__(jobs)
        self.repo = repo
        self.before_done = before_done
        self.seen: dict[str, tuple[dict[str, str], list[str]]] = {}  # ws -> statuses then, its job's parents
        self.commits: dict[str, str | None] = {}  # ws -> the commit its worker reported

    def start(self, job: Job, post: Callable[[Report], None], done: Callable[[Finished], None]) -> None:
        ws = job.spec.workstream_id
        self.seen[ws] = ({r["workstream_id"]: r["status"] for r in rows(self.repo, "uet_runs")}, list(job.parents))

        def ended(finished: Finished) -> None:
            self.commits[ws] = finished.commit
            if self.before_done is not None:
                self.before_done(job, finished)
            done(finished)

        super().start(job, post, ended)


def run_in_process(repo: Path, specs: Path, executor: Watching, **options: Any) -> Outcome:
    return execute_run(repo, load_phase_set(specs), Options(jobs=2, **options), Reporter(io.StringIO()), executor)


def _events(repo: Path) -> list[tuple[str | None, str, str | None]]:
    return [(e.get("workstream_id"), e["event_type"], e.get("to_status")) for e in rows(repo, "run_events")]


def _chain(tmp_path: Path) -> tuple[Path, Path]:
    """A repository and the specs of a chain: PH-A writes a.txt, PH-B doubles it into b.txt."""
    repo = make_repo(tmp_path / "repo")
    specs = write(
        tmp_path / "specs",
        phase("PH-A", [], [step("echo a > a.txt")], create=["a.txt"]),
        phase("PH-B", ["PH-A"], [step("cat a.txt a.txt > b.txt")], create=["b.txt"]),
    )[0].parent
    return repo, specs


def test_a_dependant_starts_before_its_prerequisites_success_is_recorded(tmp_path: Path) -> None:
    """In a chain, B is handed to a worker as soon as A's commit exists (A still running in the store, its patch
    not yet in the user's tree), yet the records read as if B had started afterwards."""
    repo, specs = _chain(tmp_path)
    watching = Watching(repo, 2)
    outcome = run_in_process(repo, specs, watching, sandbox=UNCONFINED)
    assert outcome.succeeded, outcome.problems
    statuses_then, parents = watching.seen["ws-ph-b"]
    assert statuses_then == {"ws-ph-a": "running", "ws-ph-b": "queued"}
    assert parents == [watching.commits["ws-ph-a"]]
    assert (repo / "b.txt").read_text() == "a\na\n"
    events = _events(repo)
    a_applied = events.index(("ws-ph-a", "patch_applied", None))
    b_running = events.index(("ws-ph-b", "state_changed", "running"))
    b_first = next(i for i, e in enumerate(events) if e[0] == "ws-ph-b" and e[1] == "step_started")
    assert events.index(("ws-ph-a", "state_changed", "succeeded")) < a_applied < b_running < b_first
    assert_every_record_validates(repo)
    assert_verify_passes(repo)


@pytest.mark.skipif(
    sandbox.problems().get("bubblewrap") is not None,
    reason="bubblewrap is not available: install the Debian package bubblewrap",
)
def test_an_early_start_is_discarded_when_its_prerequisites_patch_does_not_land(tmp_path: Path) -> None:
    """A's patch no longer applies to the user's tree (a.txt appeared there meanwhile): A fails, and B, already
    started from A's commit, leaves no attempt, event or patch; it is skipped as any dependant of a failure."""
    repo, specs = _chain(tmp_path)

    def meanwhile(job: Job, finished: Finished) -> None:
        if job.spec.workstream_id == "ws-ph-a":
            (repo / "a.txt").write_text("the user's own\n")

    watching = Watching(repo, 2, meanwhile)
    outcome = run_in_process(repo, specs, watching, sandbox=sandbox.choose("bubblewrap"))
    assert "ws-ph-b" in watching.seen  # it was started early
    assert {r.workstream_id: r.status for r in outcome.records} == {"ws-ph-a": "failed", "ws-ph-b": "skipped"}
    run_id = outcome.run_id
    assert [a for a in rows(repo, "step_attempts") if a["workstream_id"] == "ws-ph-b"] == []
    assert [e for e in _events(repo) if e[0] == "ws-ph-b"] == [
        ("ws-ph-b", "state_changed", "queued"),
        ("ws-ph-b", "state_changed", "skipped"),
    ]
    assert [p["workstream_id"] for p in rows(repo, "patch_ledger")] == ["ws-ph-a"]
    assert not (repo / "b.txt").exists() and (repo / "a.txt").read_text() == "the user's own\n"
    assert [r["run_id"] for r in rows(repo, "uet_runs")] == [run_id, run_id]
    assert_every_record_validates(repo)
    assert_verify_passes(repo)
