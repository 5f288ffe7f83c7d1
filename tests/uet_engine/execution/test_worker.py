"""``uet_engine.execution.worker`` pieces that do not need a run: the order acceptance checks run in, the tasks
of a spec."""

from __future__ import annotations

import dataclasses
from typing import get_args

import pytest

import uet_contracts
from tests.uet_engine.phase_specs import spec
from uet_contracts import Acceptance, PhaseSpec, Runner
from uet_engine.execution.worker import ACCEPTANCE_RUNNERS, tasks_of


def test_acceptance_runs_in_the_order_of_the_schemas_runners_and_acceptance_fields() -> None:
    """The runner enum and Acceptance's fields agree, so reordering one cannot renumber stored checks silently."""
    assert ACCEPTANCE_RUNNERS == get_args(Runner) == tuple(f.name for f in dataclasses.fields(Acceptance))
    assert ACCEPTANCE_RUNNERS == ("sh", "python", "powershell")


def templated_spec(**acceptance: object) -> PhaseSpec:
    data = spec("PH-01")
    data.update(template_id="python-module", pattern_id="PAT-python-module", acceptance=acceptance)
    return uet_contracts.validate(data, PhaseSpec)


def test_a_templated_spec_carries_its_origin_into_every_request() -> None:
    checks = ["true", {"run": "pytest", "success_pattern": "passed", "failure_pattern": "^FAILED"}]
    steps, tasks = tasks_of("run-1", templated_spec(sh=checks))
    assert steps == []
    assert [t.request.context for t in tasks] == [
        {"task_id": f"acceptance/{i}", "attempt": 1, "template_id": "python-module", "pattern_id": "PAT-python-module"}
        for i in (0, 1)
    ]
    assert (tasks[1].success_pattern, tasks[1].failure_pattern) == ("passed", "^FAILED")
    (_, (plain,)) = tasks_of("run-1", uet_contracts.validate(spec("PH-02"), PhaseSpec))
    assert plain.request.context == {"task_id": "acceptance/0", "attempt": 1}


def test_an_unresolved_verify_check_is_refused() -> None:
    with pytest.raises(ValueError, match=r"^acceptance check 'verify: pytest-green' was not resolved into a command$"):
        tasks_of("run-1", templated_spec(sh=[{"verify": "pytest-green"}]))
