"""coercion: where structuring changes schema-valid data, read from the models, checked against cattrs itself."""

from __future__ import annotations

import json
from typing import Any

import pytest

import uet_contracts
from tests.conftest import REPO_ROOT
from tests.uet_engine.phase_specs import spec
from uet_contracts import DagSnapshot, PhaseSpec
from uet_engine.planning.coercion import has_float_int, int_fields

RETRY = {"max_attempts": True}
CHECKS = {"[]": {"expect_exit": True, "retry": RETRY}}


def test_the_int_fields_of_a_phase_spec_are_those_the_schema_calls_integer() -> None:
    assert int_fields(PhaseSpec) == {
        "acceptance": {"sh": CHECKS, "python": CHECKS, "powershell": CHECKS},
        "steps": {"[]": {"retry": RETRY}},
        "pre_flight": {"[]": {"expect_exit": True}},
        "on_failure": {"steps": {"[]": {"retry": RETRY}}, "max_fix_attempts": True, "max_same_error": True},
    }
    bundled = json.loads((REPO_ROOT / "generated/bundled/phase_spec.schema.json").read_text(encoding="utf-8"))
    integer = sorted(
        f"{name}.{field}"
        for name, definition in [("PhaseSpec", bundled), *bundled["$defs"].items()]
        for field, prop in definition.get("properties", {}).items()
        if prop.get("type") == "integer"
    )
    assert integer == [
        "AcceptanceCommand.expect_exit",
        "OnFailure.max_fix_attempts",
        "OnFailure.max_same_error",
        "PreFlightCheck.expect_exit",
        "Retry.max_attempts",
    ]


def test_a_contract_with_a_field_it_does_not_model_has_no_map() -> None:
    assert int_fields(DagSnapshot) is None  # generated_at: a timestamp, which structuring parses


def phase(**fields: Any) -> dict[str, Any]:
    data = spec("PH-01")
    data.update(fields)
    return data


STEP = {"operation_kind": "EXEC-STEP", "tool": "sh", "run": "true"}
FLOAT_INTS = [
    phase(acceptance={"sh": ["true", {"run": "true", "expect_exit": 0.0}]}),
    phase(acceptance={"python": [{"run": "pass", "retry": {"max_attempts": 2.0}}]}),
    phase(steps=[STEP, {**STEP, "retry": {"max_attempts": 3.0}}]),
    phase(pre_flight=[{"run": "true", "expect_exit": 1.0}]),
    phase(on_failure={"steps": [STEP], "max_fix_attempts": 2.0}),
    phase(on_failure={"steps": [{**STEP, "retry": {"max_attempts": 2.0}}]}),
]
PASSED_THROUGH = [
    phase(estimate_hours=2.0),
    phase(steps=[{**STEP, "timeout_s": 10.0, "retry": {"max_attempts": 2, "delay_s": 1.0}}]),
    phase(acceptance={"sh": [{"verify": "ruff-clean", "with": {"limit": 3.0}}, {"run": "x", "expect_exit": 1}]}),
    phase(extensions={"x": 1.0, "y": [2.0]}),
]


@pytest.mark.parametrize("data", FLOAT_INTS + PASSED_THROUGH)
def test_a_float_at_an_int_field_is_exactly_what_structuring_changes(data: dict[str, Any]) -> None:
    uet_contracts.check(data, PhaseSpec)
    fields = int_fields(PhaseSpec)
    assert fields is not None
    structured = uet_contracts.to_dict(uet_contracts.validate(data, PhaseSpec))
    changed = json.dumps(structured, sort_keys=True) != json.dumps(data, sort_keys=True)  # 0 == 0.0 in Python
    assert has_float_int(data, fields) == changed == (data in FLOAT_INTS)
