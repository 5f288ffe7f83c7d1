"""``python -m uet_engine run`` as a real process in real git repositories: outcomes, records, faults."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import uet_contracts
from tests.conftest import EXAMPLES
from tests.uet_engine.execution.test_process import _alive, dies
from tests.uet_engine.phase_specs import spec, write
from uet_contracts import AuditEvent
from uet_engine.saving.store import TABLES

pytestmark = pytest.mark.skipif(
    sys.platform == "win32",
    reason="needs POSIX shells and signals, which Windows lacks: run these tests on Linux or macOS",
)

GIT_ID = ["-c", "user.name=t", "-c", "user.email=t@t"]


@dataclass
class Done:
    code: int
    stdout: str
    stderr: str


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *GIT_ID, *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def make_repo(path: Path, files: Mapping[str, str] | None = None) -> Path:
    path.mkdir(parents=True)
    git(path, "init", "-q")
    for name, text in (files or {"README.md": "# demo\n"}).items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_text(text)
    git(path, "add", "-A")
    git(path, "commit", "-qm", "initial")
    return path


def assert_only_slots_left(repo: Path) -> None:
    """What a run leaves of its worktrees: its slots, kept for the next run, and nothing else."""
    base = repo / ".runs" / "worktrees"
    listed = [line.removeprefix("worktree ") for line in git(repo, "worktree", "list", "--porcelain").splitlines()]
    worktrees = sorted(Path(line) for line in listed if line.startswith("/"))
    slots = sorted(p for p in base.iterdir()) if base.exists() else []
    assert worktrees == sorted([repo, *slots])
    assert all(p.name.startswith("slot-") for p in slots)


def uet(repo: Path, *args: str, env: Mapping[str, str] | None = None) -> Done:
    """``python -m uet_engine ARGS`` in ``repo``; never a traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "uet_engine", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
    )
    assert "Traceback" not in done.stdout + done.stderr, done.stderr
    return Done(done.returncode, done.stdout, done.stderr)


def start_uet(repo: Path, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "uet_engine", *args],
        cwd=repo,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(path: Path) -> None:
    """Wait until a step has written ``path`` (the test fails by pytest-timeout if it never does)."""
    while not path.exists():
        time.sleep(0.02)


def step(run: str, tool: str = "sh", **more: Any) -> dict[str, Any]:
    return {"operation_kind": "EXEC-ATOMIC-CREATE", "tool": tool, "run": run, **more}


def phase(phase_id: str, depends_on: list[str], steps: list[dict[str, Any]], **more: Any) -> dict[str, Any]:
    acceptance = more.pop("acceptance", {"python": ["pass"]})
    data = spec(phase_id, depends_on, **more)
    data["steps"] = steps
    data["acceptance"] = acceptance
    return data


def rows(repo: Path, table: str) -> list[dict[str, Any]]:
    db = sqlite3.connect(repo / ".runs" / "uet.sqlite")
    try:
        return [json.loads(text) for (text,) in db.execute(f"SELECT record FROM {table} ORDER BY rowid")]
    finally:
        db.close()


def statuses(repo: Path, run_id: str) -> dict[str, str]:
    return {r["workstream_id"]: r["status"] for r in rows(repo, "uet_runs") if r["run_id"] == run_id}


def only_run_id(repo: Path) -> str:
    ids = list(dict.fromkeys(r["run_id"] for r in rows(repo, "uet_runs")))
    assert len(ids) == 1, ids
    return ids[0]


def assert_every_record_validates(repo: Path) -> None:
    for table, contract in TABLES.items():
        for data in rows(repo, table):
            uet_contracts.validate(data, contract)
    for line in (repo / ".runs" / "audit.jsonl").read_text().splitlines():
        uet_contracts.validate(json.loads(line), AuditEvent)


def assert_verify_passes(repo: Path) -> None:
    done = uet(repo, "runs", "verify")
    assert done.code == 0, done.stdout + done.stderr


def tracked_and_untracked(repo: Path) -> list[str]:
    """Every file of the working tree git sees (not ignored, not the engine's own folders)."""
    out = git(repo, "ls-files", "--cached", "--others", "--exclude-standard", "--", ".", ":!.runs", ":!.ledger")
    return sorted(p for p in out.splitlines() if (repo / p).exists())


def run_pytest(repo: Path) -> subprocess.CompletedProcess[str]:
    """The repository's own test suite, as its users would run it."""
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    return subprocess.run(command, cwd=repo, text=True, capture_output=True, check=False)


def rebuild_from_patches(repo: Path, run_id: str, into: Path) -> None:
    """Check out the run's base commit into ``into`` and apply the run's patches in ledger order."""
    record = next(r for r in rows(repo, "uet_runs") if r["run_id"] == run_id)
    git(repo, "worktree", "add", "--detach", "-q", str(into), record["base_commit"])
    for entry in rows(repo, "patch_ledger"):
        if entry["run_id"] == run_id and entry["size_bytes"]:
            subprocess.run(["git", "apply", "--binary", str(repo / entry["path"])], cwd=into, check=True)


# -- the shared example set, end to end --------------------------------------------------------------------


def test_example_set_end_to_end(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    done = uet(repo, "run", str(EXAMPLES / "phases"), "--jobs", "2")
    assert done.code == 0, done.stdout + done.stderr
    run_id = only_run_id(repo)
    assert statuses(repo, run_id) == {
        "ws-pipeline-plus-0-bootstrap": "succeeded",
        "ws-pipeline-plus-1a-task-queue": "succeeded",
        "ws-pipeline-plus-1b-status": "succeeded",
        "ws-pipeline-plus-2-integration": "succeeded",
    }
    assert done.stdout.splitlines()[-1] == "4 succeeded"
    assert tracked_and_untracked(repo) == [
        "README.md",
        "core/__init__.py",
        "core/state/__init__.py",
        "core/state/status.py",
        "core/state/task_queue.py",
        "tests/test_queue_status.py",
        "tests/test_task_queue.py",
    ]
    tests = run_pytest(repo)
    assert tests.returncode == 0, tests.stdout
    assert "2 passed" in tests.stdout
    assert_verify_passes(repo)
    assert_every_record_validates(repo)
    # Nothing left behind but the slots the next run reuses.
    assert_only_slots_left(repo)
    # The patches, applied in order to the starting commit, rebuild the final tree.
    rebuilt = tmp_path / "rebuilt"
    rebuild_from_patches(repo, run_id, rebuilt)
    for path in tracked_and_untracked(repo):
        assert (rebuilt / path).read_bytes() == (repo / path).read_bytes(), path
    assert tracked_and_untracked(rebuilt) == tracked_and_untracked(repo)
    # The records tell the story: attempts per task, the timeline, the audit lines.
    attempts = [(a["workstream_id"], a["kind"], a["index"]) for a in rows(repo, "step_attempts")]
    assert ("ws-pipeline-plus-1a-task-queue", "acceptance", 1) in attempts
    assert len(attempts) == 9
    events = [e["event_type"] for e in rows(repo, "run_events")]
    assert events[0] == "state_changed" and events[-1] == "run_finished"
    assert events.count("patch_captured") == events.count("patch_applied") == 4
    audit = [json.loads(line)["event_type"] for line in (repo / ".runs" / "audit.jsonl").read_text().splitlines()]
    assert audit[0] == "run.started" and audit[-1] == "run.finished"
    assert audit.count("patch.captured") == 4 and audit.count("workstream.succeeded") == 4


# -- failures ------------------------------------------------------------------------------------------------


def test_failing_acceptance_skips_dependants_and_keeps_independent_successes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    write(
        tmp_path / "specs",
        phase("PH-A", [], [step("echo a > a.txt")], create=["a.txt"], acceptance={"sh": ["exit 4"]}),
        phase("PH-B", ["PH-A"], [step("echo b > b.txt")], create=["b.txt"]),
        phase("PH-C", [], [step("echo c > c.txt")], create=["c.txt"]),
    )
    done = uet(repo, "run", str(tmp_path / "specs"), "--jobs", "2")
    assert done.code == 1
    run_id = only_run_id(repo)
    assert statuses(repo, run_id) == {"ws-ph-a": "failed", "ws-ph-b": "skipped", "ws-ph-c": "succeeded"}
    reasons = {r["workstream_id"]: r.get("reason") for r in rows(repo, "uet_runs")}
    assert reasons["ws-ph-a"] == "acceptance/0 (sh) failed: exit code 4, expected 0"
    assert reasons["ws-ph-b"] == "prerequisite PH-A failed"
    assert tracked_and_untracked(repo) == ["README.md", "c.txt"]
    errors = rows(repo, "error_events")
    assert [(e["workstream_id"], e["error_type"], e["error_code"], e["task_id"]) for e in errors] == [
        ("ws-ph-a", "acceptance_failed", "UET-E102", "acceptance/0")
    ]
    assert done.stdout.splitlines()[-1] == "1 succeeded, 1 failed, 1 skipped"
    assert_verify_passes(repo)
    assert_every_record_validates(repo)


def test_scope_violation_is_refused_naming_every_path(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"README.md": "# demo\n", "config.yaml": "x: 1\n"})
    write(
        tmp_path / "specs",
        phase(
            "PH-A",
            [],
            [step("echo ok > allowed.txt; echo y >> config.yaml; echo z > stray.txt")],
            create=["allowed.txt"],
            read_only=["config.yaml"],
        ),
    )
    done = uet(repo, "run", str(tmp_path / "specs"), "--sandbox", "off")
    assert done.code == 1
    record = rows(repo, "uet_runs")[0]
    assert record["status"] == "failed"
    assert record["reason"] == (
        "file scope violated: config.yaml: modified, but it is read-only; "
        "stray.txt: added, but it is outside the file scope (not under create or modify)"
    )
    error = rows(repo, "error_events")[0]
    assert (error["error_type"], error["files"]) == ("scope_violation", ["config.yaml", "stray.txt"])
    assert [e["event_type"] for e in rows(repo, "run_events")].count("scope_violation") == 1
    assert tracked_and_untracked(repo) == ["README.md", "config.yaml"]
    assert (repo / "config.yaml").read_text() == "x: 1\n"
    assert rows(repo, "patch_ledger") == []
    assert_verify_passes(repo)


def test_timeout_kills_the_step_and_its_grandchildren(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    marker = tmp_path / "grandchild.pid"
    write(
        tmp_path / "specs",
        phase(
            "PH-A",
            [],
            [step(f"sh -c 'echo $$ > {marker}; exec sleep 300' & wait", timeout_s=1)],
            create=["x.txt"],
        ),
    )
    done = uet(repo, "run", str(tmp_path / "specs"), "--sandbox", "off")
    assert done.code == 1
    record = rows(repo, "uet_runs")[0]
    assert (record["status"], record["reason"]) == ("failed", "step/0 (sh) failed: timed out after 1 s")
    result = rows(repo, "step_attempts")[0]["result"]
    assert (result["timed_out"], result["exit_code"]) == (True, -9)
    assert rows(repo, "error_events")[0]["error_type"] == "timeout"
    assert dies(int(marker.read_text()))


@pytest.mark.skipif(
    shutil.which("pwsh") is not None,
    reason="checks what happens without PowerShell, but pwsh is installed: run it where pwsh is not",
)
def test_missing_pwsh_fails_the_check_clearly(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    write(tmp_path / "specs", phase("PH-A", [], [], acceptance={"powershell": ["Write-Output ok"]}))
    done = uet(repo, "run", str(tmp_path / "specs"))
    assert done.code == 1
    record = rows(repo, "uet_runs")[0]
    assert record["reason"] == ("acceptance/0 (powershell) failed: pwsh (PowerShell 7) is not installed or not on PATH")
    assert rows(repo, "error_events")[0]["error_type"] == "tool_missing"


# -- secrets and output ----------------------------------------------------------------------------------


def test_secrets_are_redacted_everywhere_and_output_is_capped(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    secret = "tok-5f3a9c1e-very-secret"
    write(
        tmp_path / "specs",
        phase(
            "PH-A",
            [],
            [step(f"echo {secret}; echo $DEPLOY_TOKEN >&2"), step("print('x' * 200000)", tool="python")],
        ),
    )
    done = uet(repo, "run", str(tmp_path / "specs"), env={"DEPLOY_TOKEN": secret})
    assert done.code == 0, done.stdout + done.stderr
    first, second = (a for a in rows(repo, "step_attempts") if a["result"] and a["kind"] == "step")
    assert first["request"]["run"] == "echo ***; echo $DEPLOY_TOKEN >&2"
    assert (first["result"]["stdout"], first["result"]["stderr"]) == ("***\n", "***\n")
    assert second["result"]["stdout_bytes"] == 200001
    stored = second["result"]["stdout"]
    assert "[… " in stored and " bytes omitted …]" in stored and len(stored.encode()) < 70000
    for path in [*(repo / ".runs").rglob("*"), *(repo / ".ledger").rglob("*")]:
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path


# -- selection ---------------------------------------------------------------------------------------------


def test_dry_run_prints_the_plan_and_writes_nothing(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    done = uet(repo, "run", str(EXAMPLES / "phases"), "--dry-run", "--ws-id", "ws-pipeline-plus-1b-status")
    assert (done.code, done.stderr) == (0, "")
    assert done.stdout.splitlines() == [
        "level 1: PH-00",
        "level 2: PH-01A, PH-01B",
        "level 3: PH-02",
        "would run   PH-00 ws-pipeline-plus-0-bootstrap",
        "would skip  PH-01A ws-pipeline-plus-1a-task-queue: not selected by --ws-id",
        "would run   PH-01B ws-pipeline-plus-1b-status",
        "would skip  PH-02 ws-pipeline-plus-2-integration: not selected by --ws-id",
    ]
    assert not (repo / ".runs").exists() and not (repo / ".ledger").exists()
    assert git(repo, "status", "--porcelain", "--ignored") == ""


def test_ws_id_runs_prerequisites_then_reuses_them(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    specs = str(EXAMPLES / "phases")
    first = uet(repo, "run", specs, "--ws-id", "ws-pipeline-plus-1b-status")
    assert first.code == 0, first.stdout + first.stderr
    run1 = only_run_id(repo)
    assert statuses(repo, run1) == {
        "ws-pipeline-plus-0-bootstrap": "succeeded",
        "ws-pipeline-plus-1b-status": "succeeded",
    }
    dry = uet(repo, "run", specs, "--dry-run", "--ws-id", "ws-pipeline-plus-2-integration")
    assert f"would reuse PH-00 ws-pipeline-plus-0-bootstrap: succeeded in {run1}" in dry.stdout.splitlines()
    second = uet(repo, "run", specs, "--ws-id", "ws-pipeline-plus-2-integration")
    assert second.code == 0, second.stdout + second.stderr
    run2 = next(r["run_id"] for r in rows(repo, "uet_runs") if r["run_id"] != run1)
    assert statuses(repo, run2) == {
        "ws-pipeline-plus-0-bootstrap": "succeeded",
        "ws-pipeline-plus-1a-task-queue": "succeeded",
        "ws-pipeline-plus-1b-status": "succeeded",
        "ws-pipeline-plus-2-integration": "succeeded",
    }
    reused = {r["workstream_id"]: r.get("reused_from") for r in rows(repo, "uet_runs") if r["run_id"] == run2}
    assert reused == {
        "ws-pipeline-plus-0-bootstrap": run1,
        "ws-pipeline-plus-1a-task-queue": None,
        "ws-pipeline-plus-1b-status": run1,
        "ws-pipeline-plus-2-integration": None,
    }
    tests = run_pytest(repo)
    assert tests.returncode == 0, tests.stdout
    assert_verify_passes(repo)


def test_no_deps_runs_only_the_named_workstream(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    write(
        tmp_path / "specs",
        phase("PH-A", [], [step("echo a > a.txt")], create=["a.txt"]),
        phase("PH-B", ["PH-A"], [step("echo b > b.txt")], create=["b.txt"]),
    )
    done = uet(repo, "run", str(tmp_path / "specs"), "--ws-id", "ws-ph-b", "--no-deps")
    assert done.code == 0, done.stdout + done.stderr
    assert statuses(repo, only_run_id(repo)) == {"ws-ph-b": "succeeded"}
    assert tracked_and_untracked(repo) == ["README.md", "b.txt"]


def test_resume_reruns_failures_and_reuses_successes(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    gate = tmp_path / "gate"
    write(
        tmp_path / "specs",
        phase("PH-A", [], [step("echo a > a.txt")], create=["a.txt"]),
        phase("PH-B", ["PH-A"], [step("cat a.txt > b.txt")], create=["b.txt"], acceptance={"sh": [f"test -f {gate}"]}),
        phase("PH-C", ["PH-B"], [step("cat b.txt > c.txt")], create=["c.txt"]),
    )
    first = uet(repo, "run", str(tmp_path / "specs"), "--sandbox", "off")
    assert first.code == 1
    run1 = only_run_id(repo)
    assert statuses(repo, run1) == {"ws-ph-a": "succeeded", "ws-ph-b": "failed", "ws-ph-c": "skipped"}
    assert tracked_and_untracked(repo) == ["README.md", "a.txt"]
    gate.write_text("open\n")
    second = uet(repo, "run", str(tmp_path / "specs"), "--resume", run1, "--sandbox", "off")
    assert second.code == 0, second.stdout + second.stderr
    run2 = next(r["run_id"] for r in rows(repo, "uet_runs") if r["run_id"] != run1)
    records = {r["workstream_id"]: r for r in rows(repo, "uet_runs") if r["run_id"] == run2}
    assert {ws: (r["status"], r.get("reused_from")) for ws, r in records.items()} == {
        "ws-ph-a": ("succeeded", run1),
        "ws-ph-b": ("succeeded", None),
        "ws-ph-c": ("succeeded", None),
    }
    assert [a["workstream_id"] for a in rows(repo, "step_attempts") if a["run_id"] == run2].count("ws-ph-a") == 0
    assert tracked_and_untracked(repo) == ["README.md", "a.txt", "b.txt", "c.txt"]
    assert (repo / "c.txt").read_text() == "a\n"
    assert_verify_passes(repo)
    assert_every_record_validates(repo)


# -- faults ------------------------------------------------------------------------------------------------


def slow_specs(tmp_path: Path) -> Path:
    started = tmp_path / "started"
    write(
        tmp_path / "specs",
        phase("PH-A", [], [step("echo a > a.txt")], create=["a.txt"]),
        phase("PH-S", ["PH-A"], [step(f"echo $$ > {started}; exec sleep 60")], create=["s.txt"]),
        phase("PH-T", ["PH-S"], [step("echo t > t.txt")], create=["t.txt"]),
    )
    return tmp_path / "specs"


def test_kill_9_mid_run_is_recovered_by_the_next_run(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    specs = slow_specs(tmp_path)
    proc = start_uet(repo, "run", str(specs), "--sandbox", "off")
    wait_for(tmp_path / "started")
    orphan = int((tmp_path / "started").read_text())
    try:
        # PH-S starts as soon as PH-A's commit exists and is recorded running once PH-A's success is: its step may
        # write "started" a moment before that record (a kill then leaves it queued, and the next run marks it
        # crashed all the same). Kill once it is recorded, the case this test is about.
        while statuses(repo, only_run_id(repo)).get("ws-ph-s") != "running":
            time.sleep(0.02)
        proc.kill()
        proc.wait()
        assert _alive(orphan), "the slow step outlives the killed engine until the next run"
        run1 = only_run_id(repo)
        assert statuses(repo, run1) == {"ws-ph-a": "succeeded", "ws-ph-s": "running", "ws-ph-t": "queued"}
        assert_verify_passes(repo)
        (tmp_path / "started").unlink()
        write(
            tmp_path / "specs",
            phase("PH-S", ["PH-A"], [step("echo s > s.txt")], create=["s.txt"]),
        )
        again = uet(repo, "run", str(specs), "--resume", run1, "--sandbox", "off")
        assert again.code == 0, again.stdout + again.stderr
        assert dies(orphan), "the next run kills the process group the killed engine left behind"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(orphan, signal.SIGKILL)
    assert list((repo / ".runs" / "pgroups").iterdir()) == []
    assert statuses(repo, run1) == {"ws-ph-a": "succeeded", "ws-ph-s": "crashed", "ws-ph-t": "crashed"}
    assert [e["event_type"] for e in rows(repo, "run_events") if e["run_id"] == run1].count("run_crashed") == 1
    crashes = [(e["run_id"], e["workstream_id"], e["error_code"]) for e in rows(repo, "error_events")]
    assert crashes == [(run1, "ws-ph-s", "UET-E108"), (run1, "ws-ph-t", "UET-E108")]
    logged = [json.loads(line) for line in (repo / ".runs" / "errors.jsonl").read_text().splitlines()]
    assert logged == rows(repo, "error_events")
    assert_only_slots_left(repo)
    assert tracked_and_untracked(repo) == ["README.md", "a.txt", "s.txt", "t.txt"]
    assert_verify_passes(repo)
    assert_every_record_validates(repo)


def test_second_concurrent_run_refuses_and_sigterm_cancels_the_first(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    specs = slow_specs(tmp_path)
    first = start_uet(repo, "run", str(specs), "--sandbox", "off")
    wait_for(tmp_path / "started")
    run1 = only_run_id(repo)
    second = uet(repo, "run", str(specs), "--sandbox", "off")
    assert second.code == 2
    assert second.stderr == f"uet run: another uet run ({run1}, pid {first.pid}) is using this repo: {repo}\n"
    first.send_signal(signal.SIGTERM)
    out, _ = first.communicate()
    assert first.returncode == 1
    assert statuses(repo, run1) == {"ws-ph-a": "succeeded", "ws-ph-s": "cancelled", "ws-ph-t": "cancelled"}
    assert dies(int((tmp_path / "started").read_text()))
    assert out.splitlines()[-1] == "1 succeeded, 2 cancelled"
    assert tracked_and_untracked(repo) == ["README.md", "a.txt"]
    assert_verify_passes(repo)
    assert_every_record_validates(repo)
    assert len(rows(repo, "uet_runs")) == 3  # the refused run recorded nothing


# -- usage -------------------------------------------------------------------------------------------------


def test_not_a_git_repo_is_a_usage_error(tmp_path: Path) -> None:
    done = uet(tmp_path, "run", str(EXAMPLES / "phases"))
    assert done.code == 2
    assert done.stderr == (
        f"uet run: {tmp_path} is not a git repository; uet run needs one with at least one commit: add --init, or run "
        "git init && git add -A && git commit -m 'initial commit'\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_unknown_workstream_is_a_usage_error(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    done = uet(repo, "run", str(EXAMPLES / "phases"), "--ws-id", "ws-nope")
    assert (done.code, done.stderr) == (
        2,
        "uet run: unknown workstream 'ws-nope': no phase in the spec folder has that workstream id or phase id\n",
    )
    assert rows(repo, "uet_runs") == []


def test_unknown_resume_run_is_a_usage_error(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    done = uet(repo, "run", str(EXAMPLES / "phases"), "--resume", "run-nope")
    assert (done.code, done.stderr) == (
        2,
        f"uet run: no run run-nope in {repo / '.runs' / 'uet.sqlite'}; uet runs list shows the recorded runs\n",
    )


def test_bad_specs_exit_1_with_the_problems(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    write(tmp_path / "specs", phase("PH-A", ["PH-X"], []))
    done = uet(repo, "run", str(tmp_path / "specs"))
    assert done.code == 1
    assert done.stderr.splitlines() == [
        f"{tmp_path / 'specs' / 'PH-A.yaml'}:7:3: $.depends_on[0]: depends on unknown phase 'PH-X': "
        "no valid spec in the set declares it",
        f"uet run: 1 problem(s) in {tmp_path / 'specs'}; nothing run",
    ]
    assert not (repo / ".runs").exists()


def test_init_makes_a_fresh_folder_a_repository_and_runs_the_examples(tmp_path: Path) -> None:
    target = tmp_path / "new" / "demo"
    done = uet(tmp_path, "run", str(EXAMPLES / "phases"), "--repo", str(target), "--init", "--jobs", "2")
    assert done.code == 0, done.stdout + done.stderr
    assert git(target, "log", "--format=%an %s").splitlines() == ["uet initial commit (uet run --init)"]
    assert run_pytest(target).returncode == 0
    assert_verify_passes(target)


def test_init_inside_another_repository_gives_the_folder_its_own(tmp_path: Path) -> None:
    outer = make_repo(tmp_path / "outer")
    inner = outer / "build" / "demo"
    inner.mkdir(parents=True)
    (inner / "notes.txt").write_text("kept\n")
    done = uet(
        outer,
        "run",
        str(EXAMPLES / "phases"),
        "--repo",
        str(inner),
        "--init",
        "--ws-id",
        "ws-pipeline-plus-0-bootstrap",
    )
    assert done.code == 0, done.stdout + done.stderr
    assert git(inner, "rev-parse", "--show-toplevel").strip() == str(inner.resolve())
    assert git(inner, "show", "--name-only", "--format=", "HEAD").split() == ["notes.txt"]
    assert git(outer, "log", "--format=%s").splitlines() == ["initial"]
    assert not (outer / ".runs").exists()
    assert sorted(p.name for p in (inner / "core").iterdir()) == ["__init__.py", "state"]


def test_init_leaves_an_existing_repository_as_it_is(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo")
    head = git(repo, "rev-parse", "HEAD")
    done = uet(repo, "run", str(EXAMPLES / "phases"), "--init", "--ws-id", "ws-pipeline-plus-0-bootstrap")
    assert done.code == 0, done.stdout + done.stderr
    assert git(repo, "rev-parse", "HEAD") == head


def test_init_cannot_be_combined_with_dry_run(tmp_path: Path) -> None:
    done = uet(tmp_path, "run", str(EXAMPLES / "phases"), "--repo", str(tmp_path / "x"), "--init", "--dry-run")
    assert (done.code, done.stdout, done.stderr) == (
        2,
        "",
        "uet run: --init writes a repository; it cannot be combined with --dry-run\n",
    )
    assert not (tmp_path / "x").exists()


# -- the three tiers: a reviewed snapshot, task-level records ------------------------------------------------------

THREE_TIERS = EXAMPLES / "three-tiers"


def three_tiers(tmp_path: Path) -> tuple[Path, str]:
    """A repository holding the worked example's specs and module manifests; the specs folder's path."""
    repo = make_repo(tmp_path / "repo")
    shutil.copytree(THREE_TIERS / "phases", repo / "plan" / "phases")
    shutil.copytree(THREE_TIERS / "modules", repo / "plan" / "modules")
    return repo, "plan/phases"


def audit_lines(repo: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (repo / ".runs" / "audit.jsonl").read_text().splitlines()]


def test_a_current_snapshot_runs_and_the_run_names_it(tmp_path: Path) -> None:
    repo, specs = three_tiers(tmp_path)
    assert uet(repo, "plan", specs, "-o", "dag.json").code == 0
    assert uet(repo, "plan", specs, "--tier", "task", "-o", "tasks.json").code == 0
    done = uet(repo, "run", specs, "--snapshot", "dag.json", "--snapshot", "tasks.json")
    assert done.code == 0, done.stderr
    run_id = only_run_id(repo)
    assert set(statuses(repo, run_id).values()) == {"succeeded"}
    digest = json.loads((repo / "dag.json").read_text())["source_hash"]
    started = next(line for line in audit_lines(repo) if line["event_type"] == "run.started")
    assert started["message"].endswith(f"; snapshot dag.json (pipeline, {digest}), tasks.json (task tier, {digest})")
    assert_verify_passes(repo)


def test_a_stale_snapshot_is_refused_naming_what_differs_and_nothing_runs(tmp_path: Path) -> None:
    repo, specs = three_tiers(tmp_path)
    uet(repo, "plan", specs, "-o", "dag.json")
    uet(repo, "plan", specs, "--tier", "task", "-o", "tasks.json")
    old = json.loads((repo / "dag.json").read_text())["source_hash"]
    spec_file = repo / specs / "PH-12.yaml"
    spec_file.write_text(spec_file.read_text().replace('depends_on: ["PH-11"]', 'depends_on: ["PH-11", "PH-10"]'))
    new = json.loads(uet(repo, "plan", specs).stdout)["source_hash"]
    done = uet(repo, "run", specs, "--snapshot", "dag.json")
    assert done.code == 1
    assert done.stderr.splitlines() == [
        "dag.json: $.edges: added edge PH-12 -> PH-10: PH-12 now depends on PH-10",
        f"dag.json: $.source_hash: source_hash changed (the specs changed): snapshot has {old}, specs give {new}",
        f"uet run: dag.json is out of date with {specs} (2 difference(s)); nothing run. Review the plan again:"
        f" uet plan {specs} -o dag.json",
    ]
    tasks = uet(repo, "run", specs, "--snapshot", "tasks.json")
    assert tasks.code == 1
    assert tasks.stderr.splitlines()[-1].startswith("uet run: tasks.json is out of date with plan/phases (2 diff")
    assert not (repo / ".runs").exists()


def test_snapshots_that_cannot_be_executed_are_refused(tmp_path: Path) -> None:
    repo, specs = three_tiers(tmp_path)
    uet(repo, "plan", specs, "--tier", "module", "-o", "modules.json")
    uet(repo, "plan", specs, "-o", "dag.json")
    module_tier = uet(repo, "run", specs, "--snapshot", "modules.json")
    assert (module_tier.code, module_tier.stderr.splitlines()) == (
        1,
        [
            f"uet run: --snapshot modules.json: a module-tier DagSnapshot does not say what runs; give the pipeline"
            f" snapshot (uet plan {specs} -o FILE) or the task tier (uet plan {specs} --tier task -o FILE)"
        ],
    )
    twice = uet(repo, "run", specs, "--snapshot", "dag.json", "--snapshot", "dag.json")
    assert (twice.code, twice.stderr) == (
        2,
        "uet run: --snapshot dag.json: a second pipeline file (the first is dag.json)\n",
    )
    data = json.loads((repo / "dag.json").read_text())
    data["edges"]["PH-10"] = ["PH-12"]  # a cycle the schema lets by
    (repo / "broken.json").write_text(json.dumps(data, indent=2))
    broken = uet(repo, "run", specs, "--snapshot", "broken.json")
    assert broken.code == 1
    assert broken.stderr.splitlines()[0].startswith("broken.json:")
    assert "dependency cycle: PH-10 -> PH-12 -> PH-11 -> PH-10" in broken.stderr
    assert broken.stderr.splitlines()[-1] == "uet run: broken.json is not a valid DagSnapshot"
    assert not (repo / ".runs").exists()


def test_each_task_has_its_audit_lines_its_context_and_its_patch(tmp_path: Path) -> None:
    repo, specs = three_tiers(tmp_path)
    done = uet(repo, "run", specs)
    assert done.code == 0, done.stderr
    assert_every_record_validates(repo)
    assert_verify_passes(repo)
    attempts = rows(repo, "step_attempts")
    task_lines = [line for line in audit_lines(repo) if line["event_type"].startswith("task.")]
    # One started and one finished line per attempt, each naming the workstream, the task, the try and the tool.
    assert len(task_lines) == 2 * len(attempts) == 2 * 9
    for attempt in attempts:
        task = f"{attempt['kind']}/{attempt['index']}"
        mine = [
            (line["event_type"], line["outcome"], line["tool"])
            for line in task_lines
            if (line["workstream_id"], line["task_id"], line["attempt"]) == (attempt["workstream_id"], task, 1)
        ]
        tool = attempt["request"]["tool"]
        assert mine == [("task.started", "info", tool), ("task.finished", "success", tool)]
    patches = {entry["workstream_id"]: entry["patch_id"] for entry in rows(repo, "patch_ledger")}
    by_ws = {}
    for attempt in attempts:
        by_ws.setdefault(attempt["workstream_id"], []).append(attempt)
        context = attempt["request"]["context"]
        assert context["workstream_id"] == attempt["workstream_id"]
        assert (
            context["phase_id"]
            == {"ws-core-store": "PH-10", "ws-http-api": "PH-11", "ws-api-docs": "PH-12"}[attempt["workstream_id"]]
        )
        assert (
            context["module_ids"]
            == {"ws-core-store": ["core"], "ws-http-api": ["api"], "ws-api-docs": ["docs"]}[attempt["workstream_id"]]
        )
        result = attempt["result"]
        if attempt["kind"] == "step":
            assert result["patch_id"] == patches[attempt["workstream_id"]]
        else:
            assert "patch_id" not in result
    # The steps of ws-http-api ran as their depends_on says, not in the order listed.
    http = [(a["kind"], a["index"]) for a in by_ws["ws-http-api"]]
    assert http == [("step", 1), ("step", 0), ("acceptance", 0)]


def test_verify_names_a_task_line_that_disagrees_with_its_attempt(tmp_path: Path) -> None:
    repo, specs = three_tiers(tmp_path)
    assert uet(repo, "run", specs).code == 0
    path = repo / ".runs" / "audit.jsonl"
    lines = path.read_text().splitlines()
    target = next(i for i, line in enumerate(lines) if '"task.finished"' in line and '"step/0"' in line)
    lines[target] = lines[target].replace('"outcome":"success"', '"outcome":"failure"')
    path.write_text("\n".join(lines) + "\n")
    done = uet(repo, "runs", "verify")
    assert done.code == 1
    ws = json.loads(lines[target])["workstream_id"]
    assert f"{ws}: step/0 attempt 1: its task.finished line says failure, but the attempt's result is a success" in (
        done.stdout
    )


def test_a_repository_in_the_middle_of_a_merge_is_refused(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "repo", {"a.txt": "a\n"})
    git(repo, "checkout", "-qb", "other")
    (repo / "a.txt").write_text("other\n")
    git(repo, "commit", "-qam", "other")
    git(repo, "checkout", "-q", "-")
    (repo / "a.txt").write_text("main\n")
    git(repo, "commit", "-qam", "main")
    assert subprocess.run(["git", *GIT_ID, "merge", "other"], cwd=repo, capture_output=True).returncode != 0
    write(tmp_path / "specs", phase("PH-A", [], [step("echo b > b.txt")], create=["b.txt"]))
    done = uet(repo, "run", str(tmp_path / "specs"))
    assert (done.code, done.stderr) == (
        2,
        f"uet run: {repo} is in the middle of a merge; finish it with git commit, or abort it with git merge "
        "--abort, then run again\n",
    )
    assert "<<<<<<<" in (repo / "a.txt").read_text() and not (repo / "b.txt").exists()
