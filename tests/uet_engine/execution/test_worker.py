"""``uet_engine.execution.worker``: the order acceptance checks run in, and (in real runs) pre-flight
checks, expected artifacts, optional acceptance checks and expected output."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any, get_args

import pytest

from tests.uet_engine.cli.test_run import (
    Done,
    assert_every_record_validates,
    assert_verify_passes,
    git,
    make_repo,
    phase,
    rows,
    step,
    uet,
)
from tests.uet_engine.phase_specs import write
from uet_contracts import Acceptance, Runner
from uet_engine.execution.worker import ACCEPTANCE_RUNNERS

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX shells")


def test_acceptance_runs_in_the_order_of_the_schemas_runners_and_acceptance_fields() -> None:
    """The runner enum and Acceptance's fields agree, so reordering one cannot renumber stored checks silently."""
    assert ACCEPTANCE_RUNNERS == get_args(Runner) == tuple(f.name for f in dataclasses.fields(Acceptance))
    assert ACCEPTANCE_RUNNERS == ("sh", "python", "powershell")


# -- pre-flight checks, expected artifacts, optional checks, expect_output: real runs in real repositories ---


def _run(tmp_path: Path, *specs: dict[str, Any], args: tuple[str, ...] = ()) -> tuple[Path, Done]:
    repo = make_repo(tmp_path / "repo")
    write(repo / "phases", *specs)
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "specs")
    return repo, uet(repo, "run", "phases", "--jobs", "1", *args)


def _errors(repo: Path) -> list[dict[str, Any]]:
    return rows(repo, "error_events")


def test_a_failing_critical_pre_flight_check_fails_before_any_step(tmp_path: Path) -> None:
    data = phase("PH-01", [], [step("touch made.txt")], create=["made.txt"])
    data["pre_flight"] = [
        {"id": "warn-only", "run": "exit 3", "critical": False},
        {"id": "has-tool", "run": "exit 1", "fix_hint": "install the tool"},
    ]
    repo, done = _run(tmp_path, data)
    assert done.code == 1
    record = rows(repo, "uet_runs")[-1]
    assert record["status"] == "failed"
    assert record["reason"] == "pre_flight/1 (sh) failed: exit code 1, expected 0; fix: install the tool"
    assert [a["kind"] for a in rows(repo, "step_attempts") if a.get("result")] == ["pre_flight", "pre_flight"]
    errors = _errors(repo)
    assert [(e["error_type"], e["severity"], e["task_id"]) for e in errors] == [
        ("preflight_failed", "error", "pre_flight/1")
    ]
    assert not (repo / "made.txt").exists()
    assert_every_record_validates(repo)


def test_pre_flight_writes_are_discarded_and_a_warning_is_recorded(tmp_path: Path) -> None:
    data = phase("PH-01", [], [step("touch made.txt")], create=["made.txt"])
    data["pre_flight"] = [{"run": "touch junk.txt && exit 2", "critical": False}]
    repo, done = _run(tmp_path, data)
    assert done.code == 0, done.stderr
    assert (repo / "made.txt").exists() and not (repo / "junk.txt").exists()
    record = rows(repo, "uet_runs")[-1]
    assert record["status"] == "succeeded"
    assert record["reason"].startswith("optional pre_flight/0 (sh) failed: exit code 2, expected 0")
    assert [(e["error_type"], e["severity"]) for e in _errors(repo)] == [("preflight_failed", "warning")]
    assert_verify_passes(repo)


def test_a_missing_expected_artifact_fails_before_acceptance(tmp_path: Path) -> None:
    data = phase("PH-01", [], [step("mkdir -p out && touch out/a.txt")], create=["out/**"])
    data["expected_artifacts"] = ["out/a.txt", "out/*.log", "out/b.txt"]
    repo, done = _run(tmp_path, data)
    assert done.code == 1
    record = rows(repo, "uet_runs")[-1]
    assert record["reason"] == "expected artifacts missing after the steps: out/*.log, out/b.txt"
    assert [(e["error_type"], e["files"]) for e in _errors(repo)] == [("artifact_missing", ["out/*.log", "out/b.txt"])]
    assert not [a for a in rows(repo, "step_attempts") if a["kind"] == "acceptance"]


def test_an_optional_acceptance_check_fails_and_the_workstream_succeeds(tmp_path: Path) -> None:
    data = phase(
        "PH-01",
        [],
        [step("touch made.txt")],
        create=["made.txt"],
        acceptance={
            "sh": [
                {"id": "lint", "run": "echo advisory; exit 1", "required": False},
                {"id": "says-ok", "run": "echo all ok", "expect_output": "all ok"},
            ]
        },
    )
    data["expected_artifacts"] = ["made.txt"]
    repo, done = _run(tmp_path, data)
    assert done.code == 0, done.stderr
    record = rows(repo, "uet_runs")[-1]
    assert record["status"] == "succeeded"
    assert record["reason"] == "optional acceptance/0 (sh) failed: exit code 1, expected 0"
    assert [(e["error_type"], e["severity"]) for e in _errors(repo)] == [("acceptance_failed", "warning")]
    assert_verify_passes(repo)
    assert_every_record_validates(repo)


def test_expect_output_must_appear(tmp_path: Path) -> None:
    data = phase("PH-01", [], [], acceptance={"sh": [{"run": "echo nearly", "expect_output": "done"}]})
    repo, done = _run(tmp_path, data)
    assert done.code == 1
    assert rows(repo, "uet_runs")[-1]["reason"] == "acceptance/0 (sh) failed: expected output 'done' not found"
