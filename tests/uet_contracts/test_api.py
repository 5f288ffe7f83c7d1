"""The public face of ``uet_contracts``: names, the error type, schema(), validate(), to_dict(), lookups."""

from __future__ import annotations

import json
import typing
from datetime import UTC, datetime

import pytest

import uet_contracts
from tests.conftest import EXAMPLES, REPO_ROOT
from uet_contracts import CONTRACTS, ContractError, ExecutionResult, PhaseSpec, Problem

MINIMAL_PHASE = {
    "phase_id": "PH-01",
    "workstream_id": "ws-one",
    "title": "One",
    "objective": "Do one thing.",
    "phase_type": "test",
    "file_scope": {"create": [], "modify": [], "read_only": []},
    "acceptance": {"sh": ["true"]},
}

RESULT = {
    "success": False,
    "exit_code": None,
    "stdout": "",
    "stderr": "killed",
    "files_touched": [],
    "started_at": "2026-11-25T10:15:00Z",
    "finished_at": "2026-11-25T10:15:30.25+01:00",
    "duration_s": 30.25,
    "timed_out": True,
}


@pytest.mark.parametrize("name", uet_contracts.__all__)
def test_every_public_name_is_importable_from_the_root(name: str) -> None:
    assert getattr(uet_contracts, name) is not None


def named_enums() -> dict[str, list[object]]:
    """Every enum the v1 schemas name in their ``$defs``, by definition name: its values in schema order."""
    found = {}
    for path in sorted((REPO_ROOT / "schemas" / "v1").glob("*.schema.json")):
        for name, definition in json.loads(path.read_text(encoding="utf-8")).get("$defs", {}).items():
            if "enum" in definition:
                found[name] = definition["enum"]
    return found


def test_the_named_enums_are_the_ones_the_engine_uses() -> None:
    assert set(named_enums()) == {
        "Runner",
        "RunStatus",
        "RunEventType",
        "AuditOutcome",
        "ErrorType",
        "ErrorCategory",
        "DagType",
        "DurabilityMode",
        "PatternStatus",
        "SandboxMechanism",
        "SandboxMode",
    }


@pytest.mark.parametrize("name", sorted(named_enums()))
def test_every_named_enum_is_a_public_literal_of_the_schema_values(name: str) -> None:
    """What the reference pages promise: ``uet_contracts.<Name>`` is a ``Literal`` of exactly these values."""
    alias = getattr(uet_contracts, name)
    assert typing.get_origin(alias) is typing.Literal
    assert list(typing.get_args(alias)) == named_enums()[name]
    assert name in uet_contracts.__all__


def test_error_code_is_public() -> None:
    assert uet_contracts.ErrorCode is str
    assert "ErrorCode" in uet_contracts.__all__


def test_every_contract_type_is_public_under_its_own_name() -> None:
    for contract in CONTRACTS:
        assert getattr(uet_contracts, contract.type.__name__) is contract.type
        assert contract.type.__name__ in uet_contracts.__all__


def test_contract_error_is_a_value_error_listing_its_problems() -> None:
    problems = [Problem("first", "$.a", "x.yaml", 3, 7), Problem("second")]
    error = ContractError(problems)
    assert isinstance(error, ValueError)
    assert error.errors == problems
    assert str(error) == "x.yaml:3:7: $.a: first"
    assert problems[1].format() == "<input>: $: second"
    with pytest.raises(ValueError, match="at least one problem"):
        ContractError([])


def test_a_failed_load_is_catchable_as_value_error() -> None:
    with pytest.raises(ValueError) as caught:
        uet_contracts.loads("- 1\n", PhaseSpec)
    assert isinstance(caught.value, ContractError)
    assert caught.value.errors == [
        Problem("expected a mapping of PhaseSpec fields at the top level, got array", "$", None, 1, 1)
    ]


@pytest.mark.parametrize("contract", CONTRACTS, ids=lambda c: c.kind)
def test_schema_is_the_canonical_file_as_a_fresh_copy(contract: uet_contracts.Contract) -> None:
    canonical = json.loads((REPO_ROOT / "schemas" / "v1" / contract.file).read_text(encoding="utf-8"))
    first = uet_contracts.schema(contract.type)
    assert first == canonical
    assert first["$id"] == f"https://uet-contracts.dev/schemas/v1/{contract.file}"
    first["properties"].clear()
    first["title"] = "changed"
    assert uet_contracts.schema(contract.type) == canonical


def test_schema_of_a_non_contract_type_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="is not a contract type"):
        uet_contracts.schema(dict)


def test_validate_takes_plain_data() -> None:
    data = json.loads((EXAMPLES / "dag_snapshot.json").read_text(encoding="utf-8"))
    snapshot = uet_contracts.validate(data, uet_contracts.DagSnapshot)
    assert snapshot.generated_at == datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    assert snapshot.edges["PH-02"] == ["PH-01A", "PH-01B"]


def test_validate_reports_every_problem_with_its_path() -> None:
    data = {**MINIMAL_PHASE, "phase_id": "01", "estimate_hours": 0, "colour": "red"}
    with pytest.raises(ContractError) as caught:
        uet_contracts.validate(data, PhaseSpec)
    assert [(p.json_path, p.line) for p in caught.value.errors] == [
        ("$.colour", None),
        ("$.estimate_hours", None),
        ("$.phase_id", None),
    ]


def test_to_dict_leaves_unset_optionals_out() -> None:
    spec = uet_contracts.validate(MINIMAL_PHASE, PhaseSpec)
    assert spec.steps is None and spec.depends_on is None and spec.file_scope.forbidden_paths is None
    assert uet_contracts.to_dict(spec) == MINIMAL_PHASE


def test_to_dict_keeps_a_required_null_and_writes_timestamps_in_utc_with_z() -> None:
    result = uet_contracts.validate(RESULT, ExecutionResult)
    assert result.exit_code is None
    written = uet_contracts.to_dict(result)
    assert written["exit_code"] is None
    assert "stdout_bytes" not in written and "patch_id" not in written
    assert written["started_at"] == "2026-11-25T10:15:00Z"
    assert written["finished_at"] == "2026-11-25T10:15:30.250000+01:00"
    assert uet_contracts.validate(written, ExecutionResult) == result


def test_to_json_is_one_compact_sorted_line() -> None:
    text = uet_contracts.to_json(uet_contracts.validate(MINIMAL_PHASE, PhaseSpec))
    assert "\n" not in text and ": " not in text
    assert text.startswith('{"acceptance":{"sh":["true"]},"file_scope":')
    assert json.loads(text) == MINIMAL_PHASE


def test_to_dict_of_a_non_contract_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="is not a contract type"):
        uet_contracts.to_dict(Problem("x"))


@pytest.mark.parametrize("name", ["phase_spec", "phase-spec", "PhaseSpec", "phasespec", " PHASE_SPEC "])
def test_contract_named_accepts_kind_and_type_names(name: str) -> None:
    assert uet_contracts.contract_named(name).type is PhaseSpec


def test_contract_named_lists_the_kinds_when_it_does_not_know_one() -> None:
    with pytest.raises(KeyError) as caught:
        uet_contracts.contract_named("phase_plan")
    kinds = ", ".join(c.kind for c in CONTRACTS)
    assert caught.value.args[0] == f"unknown contract kind 'phase_plan'; choose one of: {kinds}"


def test_contract_for_maps_each_type_to_its_schema_file() -> None:
    assert [uet_contracts.contract_for(c.type).file for c in CONTRACTS] == [f"{c.kind}.schema.json" for c in CONTRACTS]
    assert sorted(c.file for c in CONTRACTS) == sorted(
        p.name for p in (REPO_ROOT / "schemas" / "v1").glob("*.schema.json") if p.name != "common.schema.json"
    )


def test_the_phase_spec_rules_cover_every_timeout_and_scope_list() -> None:
    from uet_contracts import rules

    data = {
        "file_scope": {
            "create": ["./a"],
            "modify": [".git/config"],
            "read_only": ["."],
            "forbidden_paths": [".git/**"],
        },
        "pre_flight": [{"run": "true", "timeout_s": 1e9}],
        "steps": [{"timeout_s": 10}, {"timeout_s": 604801}],
        "acceptance": {"sh": ["true", {"run": "x", "timeout_s": 1e308}]},
        "on_failure": {"steps": [{"timeout_s": True}, {"timeout_s": 9e9}]},
    }
    assert [path for _message, path in rules.phase_spec_problems(data)] == [
        ["file_scope", "create", 0],
        ["file_scope", "modify", 0],
        ["file_scope", "read_only", 0],
        ["pre_flight", 0, "timeout_s"],
        ["steps", 1, "timeout_s"],
        ["on_failure", "steps", 1, "timeout_s"],
        ["acceptance", "sh", 1, "timeout_s"],
    ]
