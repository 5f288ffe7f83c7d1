"""Selection rules and the dry-run lines, in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from uet_engine.errors import RunRefused
from uet_engine.execution.selection import Options, plan_lines, select
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
    with pytest.raises(
        RunRefused, match=r"^unknown workstream 'ws-x': no phase in the spec folder has that workstream id or phase id$"
    ):
        select(PHASES, Options(ws_ids=["ws-x"]), None)
    with pytest.raises(RunRefused, match=r"^no run run-x in this repository: nothing has been run here yet$"):
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
