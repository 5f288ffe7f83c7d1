"""Selection rules and the dry-run lines, in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import EXAMPLES
from tests.uet_engine.run_records import RUN, RUN2, record
from uet_engine.errors import RunRefused, UnknownRun
from uet_engine.execution.selection import Options, plan_lines, select
from uet_engine.planning.phase_set import load_phase_set
from uet_engine.saving.store import RunStore

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


def test_ws_id_takes_a_phase_id_too() -> None:
    by_phase = select(PHASES, Options(ws_ids=["PH-01A"], no_deps=True), None)
    assert by_phase == select(PHASES, Options(ws_ids=["ws-pipeline-plus-1a-task-queue"], no_deps=True), None)
    assert by_phase.run == ["PH-01A"]


def test_an_unknown_workstream_gets_the_closest_ids() -> None:
    with pytest.raises(RunRefused) as caught:
        select(PHASES, Options(ws_ids=["PH-01C"]), None)
    assert str(caught.value) == (
        "unknown workstream 'PH-01C': no phase in the spec folder has that workstream id or phase id;"
        " did you mean PH-01B or PH-01A or PH-02?"
    )


def test_resume_takes_latest_and_a_start_of_the_run_id(tmp_path: Path) -> None:
    with RunStore.open(tmp_path) as store:
        for run_id in (RUN, RUN2):
            store.queue(run_id, [record(run_id, "ws-pipeline-plus-0-bootstrap", "PH-00")])
        latest = select(PHASES, Options(resume="latest"), store)
        assert latest.run == ["PH-00"] and latest.why_not["PH-01A"] == f"not part of {RUN2}"
        assert select(PHASES, Options(resume=RUN[:20]), store).why_not["PH-01A"] == f"not part of {RUN}"
        with pytest.raises(UnknownRun, match="is the start of several runs"):
            select(PHASES, Options(resume="run-2026"), store)


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
