"""The record builders of a run."""

from __future__ import annotations

import uet_contracts
from tests.conftest import EXAMPLES
from tests.uet_engine.run_records import RUN, T0, attempt
from uet_contracts import AuditEvent
from uet_engine.execution.records import spec_sha256, task_line
from uet_engine.planning.phase_set import load_phase_set

PHASES = load_phase_set(EXAMPLES / "phases")


def test_spec_hash_is_the_canonical_json_digest() -> None:
    spec = PHASES.specs["PH-00"]
    assert spec_sha256(spec).startswith("sha256:") and len(spec_sha256(spec)) == 71
    assert spec_sha256(spec) == spec_sha256(load_phase_set(EXAMPLES / "phases").specs["PH-00"])
    assert spec_sha256(spec) != spec_sha256(PHASES.specs["PH-01A"])


def test_task_lines_name_the_workstream_the_task_the_try_and_the_tool() -> None:
    started = attempt(RUN, "ws-a", kind="acceptance", index=2, number=3, success=None)
    line = task_line(started)
    uet_contracts.validate(uet_contracts.to_dict(line), AuditEvent)
    assert (line.event_type, line.outcome, line.workstream_id, line.task_id, line.attempt, line.tool) == (
        "task.started",
        "info",
        "ws-a",
        "acceptance/2",
        3,
        "sh",
    )
    failed = task_line(attempt(RUN, "ws-a", success=False))
    assert (failed.event_type, failed.outcome, failed.task_id, failed.message) == (
        "task.finished",
        "failure",
        "step/0",
        "failed",
    )
    assert failed.timestamp == T0  # when the task ended, not when the line was written
    assert task_line(attempt(RUN, "ws-a")).outcome == "success"
