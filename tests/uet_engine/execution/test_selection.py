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


def test_done_phases_are_not_run_and_stop_the_walk_to_prerequisites(tmp_path: Path) -> None:
    from tests.uet_engine.phase_specs import spec, write

    first, second, third = spec("PH-01"), spec("PH-02", ["PH-01"]), spec("PH-03", ["PH-02"])
    second["status"] = "complete"
    write(tmp_path, first, second, third)
    phase_set = load_phase_set(tmp_path)
    everything = select(phase_set, Options(), None)
    assert everything.run == ["PH-01", "PH-03"]
    assert everything.why_not == {"PH-02": "status complete in its spec: counts as done"}
    chosen = select(phase_set, Options(ws_ids=["ws-ph-03"]), None)
    assert chosen.run == ["PH-03"]  # PH-02 is done, so PH-01 (needed only through it) is not run either
    assert chosen.why_not["PH-02"] == "status complete in its spec: counts as done"
    assumed = select(load_phase_set(tmp_path, assume_done=["PH-01"]), Options(), None)
    assert assumed.run == ["PH-03"]
    assert assumed.why_not["PH-01"] == "declared done (--assume-done)"


def test_a_phase_waiting_outside_the_set_is_left_out_with_its_dependants(tmp_path: Path) -> None:
    from tests.uet_engine.phase_specs import spec, write

    first, second = spec("PH-01"), spec("PH-02", ["PH-01"])
    first["external_depends_on"] = ["PH-90"]
    write(tmp_path, first, second, spec("PH-03"))
    selection = select(load_phase_set(tmp_path), Options(), None)
    assert selection.run == ["PH-03"]
    assert selection.why_not == {
        "PH-01": "waits for PH-90 outside this set (pass --assume-done PH-90 once done)",
        "PH-02": "waits for PH-01, which cannot start in this run",
    }
    with pytest.raises(RunRefused, match=r"^ws-ph-01 \(PH-01\) waits for PH-90 outside this set"):
        select(load_phase_set(tmp_path), Options(ws_ids=["ws-ph-01"]), None)
    assert select(load_phase_set(tmp_path, assume_done=["PH-90"]), Options(), None).run == ["PH-01", "PH-02", "PH-03"]
