"""The execute stage in-process: selection rules, record builders, dry-run lines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import uet_contracts
from tests.conftest import EXAMPLES
from uet_contracts import ExecutionLog, ExecutionRequest, ExecutionResult, FileScope, StepAttempt
from uet_engine import clock
from uet_engine.errors import RunRefused
from uet_engine.execution.coordinator import Options, execution_log, plan_lines, select, spec_sha256
from uet_engine.planning.phase_set import load_phase_set

PHASES = load_phase_set(EXAMPLES / "phases")


def test_everything_runs_by_default() -> None:
    selection = select(PHASES, Options(), None)
    assert selection.run == ["PH-00", "PH-01A", "PH-01B", "PH-02"]
    assert selection.reused == {} and selection.why_not == {}


def test_ws_id_adds_prerequisites_not_yet_succeeded() -> None:
    selection = select(PHASES, Options(ws_ids=["ws-pipeline-plus-2-integration"]), None)
    assert selection.run == ["PH-00", "PH-01A", "PH-01B", "PH-02"]
    selection = select(PHASES, Options(ws_ids=["ws-pipeline-plus-1a-task-queue"]), None)
    assert selection.run == ["PH-00", "PH-01A"]
    assert selection.why_not == {"PH-01B": "not selected by --ws-id", "PH-02": "not selected by --ws-id"}


def test_no_deps_leaves_prerequisites_out() -> None:
    selection = select(PHASES, Options(ws_ids=["ws-pipeline-plus-1a-task-queue"], no_deps=True), None)
    assert selection.run == ["PH-01A"]
    assert selection.why_not["PH-00"] == "a prerequisite, left out by --no-deps"


def test_unknown_workstream_and_run_are_refused() -> None:
    with pytest.raises(RunRefused, match=r"^unknown workstream 'ws-x': no phase in the spec folder has it$"):
        select(PHASES, Options(ws_ids=["ws-x"]), None)
    with pytest.raises(RunRefused, match=r"^no run run-x in this repository$"):
        select(PHASES, Options(resume="run-x"), None)


def test_dry_run_lines_without_a_store(tmp_path: Path) -> None:
    assert plan_lines(PHASES, Options(), tmp_path) == [
        "level 1: PH-00",
        "level 2: PH-01A, PH-01B",
        "level 3: PH-02",
        "would run   PH-00 ws-pipeline-plus-0-bootstrap",
        "would run   PH-01A ws-pipeline-plus-1a-task-queue",
        "would run   PH-01B ws-pipeline-plus-1b-status",
        "would run   PH-02 ws-pipeline-plus-2-integration",
    ]
    assert list(tmp_path.iterdir()) == []


def test_spec_hash_is_the_canonical_json_digest() -> None:
    spec = PHASES.specs["PH-00"]
    assert spec_sha256(spec).startswith("sha256:") and len(spec_sha256(spec)) == 71
    assert spec_sha256(spec) == spec_sha256(load_phase_set(EXAMPLES / "phases").specs["PH-00"])
    assert spec_sha256(spec) != spec_sha256(PHASES.specs["PH-01A"])


def test_execution_log_of_an_attempt_validates() -> None:
    now = clock.utc_now()
    request = ExecutionRequest(
        operation_kind="EXEC-ATOMIC-CREATE",
        tool="sh",
        run="touch a.py b",
        file_scope=FileScope(create=["a.py", "b"], modify=[], read_only=[]),
        tools_used=["sh"],
        context={},
        phase_id="PH-00",
    )
    result = ExecutionResult(
        success=True,
        exit_code=0,
        stdout="",
        stderr="",
        files_touched=["a.py", "b"],
        started_at=now,
        finished_at=now,
        duration_s=0.25,
    )
    attempt = StepAttempt(
        run_id="run-1", workstream_id="ws-a", kind="step", index=0, attempt=1, request=request, result=result
    )
    log = execution_log(attempt)
    uet_contracts.validate(uet_contracts.to_dict(log), ExecutionLog)
    assert (log.file_types, log.tools_used, log.success, log.time_taken_seconds) == (
        [".py", "<none>"],
        ["sh"],
        True,
        0.25,
    )
    assert log.context == {"run_id": "run-1", "workstream_id": "ws-a", "phase_id": "PH-00", "task_id": "step/0"}
    # The same input gives the same signature; another command another one.
    other = StepAttempt(
        run_id="run-2", workstream_id="ws-a", kind="step", index=0, attempt=1, request=request, result=result
    )
    assert execution_log(other).input_signature == log.input_signature
    changed = StepAttempt(
        run_id="run-1",
        workstream_id="ws-a",
        kind="step",
        index=0,
        attempt=1,
        request=ExecutionRequest(**{**request.__dict__, "run": "touch c"}),
        result=result,
    )
    assert execution_log(changed).input_signature != log.input_signature


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
