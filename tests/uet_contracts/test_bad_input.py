"""Every case of the bad-input corpus is refused by ``uet_contracts.load`` with exactly its problems.

The files are real files in ``tmp_path``; each expected problem names file, line, column, JSON path
and the full message, so a regression in any of them (a lost line number, a vaguer message) fails.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import uet_contracts
from tests.conftest import EXAMPLE_PHASES
from tests.uet_contracts.bad_inputs import CASES, PHASE, RESULT, Case, edit, locked, write
from uet_contracts import ContractError, PhaseSpec, Problem


def test_the_corpus_is_large_and_its_ids_unique() -> None:
    assert len(CASES) >= 35
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_load_refuses_with_exact_problems(tmp_path: Path, case: Case) -> None:
    path = write(tmp_path, case)
    cls = uet_contracts.contract_named(case.kind).type
    with pytest.raises(ContractError) as caught:
        uet_contracts.load(path, cls)
    expected = [Problem(message, where, str(path), line, column) for line, column, where, message in case.problems]
    assert caught.value.errors == expected
    assert str(caught.value) == expected[0].format()


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_check_file_gives_the_same_problems_without_raising(tmp_path: Path, case: Case) -> None:
    path = write(tmp_path, case)
    found = uet_contracts.check_file(path, uet_contracts.contract_named(case.kind).type)
    assert [(p.line, p.column, p.json_path, p.message) for p in found] == case.problems


def test_loads_without_a_file_names_no_file() -> None:
    with pytest.raises(ContractError) as caught:
        uet_contracts.loads('{"a": 1, "a": 2}', PhaseSpec, "json")
    assert caught.value.errors == [Problem("duplicate key 'a' (each key may appear once)", "$.a", None, 1, 10)]
    assert str(caught.value) == "<input>:1:10: $.a: duplicate key 'a' (each key may appear once)"


def test_a_directory_is_not_a_contract_file(tmp_path: Path) -> None:
    folder = tmp_path / "phase.yaml"
    folder.mkdir()
    with pytest.raises(ContractError) as caught:
        uet_contracts.load(folder, PhaseSpec)
    assert caught.value.errors == [Problem("is a directory, not a contract file", "$", str(folder))]


def test_a_missing_file_cannot_be_read(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    with pytest.raises(ContractError) as caught:
        uet_contracts.load(missing, PhaseSpec)
    assert caught.value.errors == [Problem("cannot read file: No such file or directory", "$", str(missing))]


def test_a_file_without_read_permission_cannot_be_read(tmp_path: Path) -> None:
    with locked(tmp_path / "locked.yaml") as path, pytest.raises(ContractError) as caught:
        uet_contracts.load(path, PhaseSpec)
    assert caught.value.errors == [Problem("cannot read file: Permission denied", "$", str(path))]


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + PHASE.encode("utf-8"))
    assert uet_contracts.load(path, PhaseSpec) == uet_contracts.loads(PHASE, PhaseSpec)


def test_a_utf8_bom_is_accepted_in_json(tmp_path: Path) -> None:
    source = (EXAMPLE_PHASES[0].parent.parent / "dag_snapshot.json").read_bytes()
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + source)
    assert uet_contracts.load(path, uet_contracts.DagSnapshot).nodes == ["PH-00", "PH-01A", "PH-01B", "PH-02"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("no", "no"), ("on", "on"), ("off", "off"), ("yes", "yes"), ("2026-11-23", "2026-11-23"), ("0o17", 15)],
)
def test_yaml_1_1_scalars_stay_strings_where_a_string_is_meant(tmp_path: Path, value: str, expected: object) -> None:
    path = tmp_path / "tags.yaml"
    path.write_text(edit(PHASE, "may_run_parallel_with", f"tags: [{value}]\nmay_run_parallel_with"), encoding="utf-8")
    if isinstance(expected, str):
        assert uet_contracts.load(path, PhaseSpec).tags == [expected]
    else:  # YAML 1.2 core: 0o17 is an integer, which a tag may not be
        with pytest.raises(ContractError) as caught:
            uet_contracts.load(path, PhaseSpec)
        assert [p.format() for p in caught.value.errors] == [f"{path}:7:8: $.tags[0]: expected string, got integer 15"]


def test_yaml_1_1_title_no_and_a_date_load_as_text(tmp_path: Path) -> None:
    path = tmp_path / "title.yaml"
    path.write_text(edit(PHASE, 'title: "Task Queue Management"', "title: 2026-11-23"), encoding="utf-8")
    assert uet_contracts.load(path, PhaseSpec).title == "2026-11-23"
    path.write_text(edit(PHASE, 'title: "Task Queue Management"', "title: no"), encoding="utf-8")
    assert uet_contracts.load(path, PhaseSpec).title == "no"


def test_yaml_true_and_numbers_are_typed_values(tmp_path: Path) -> None:
    path = tmp_path / "result.yaml"
    path.write_text(RESULT + "timed_out: false\nstdout_bytes: 0x10\n", encoding="utf-8")
    result = uet_contracts.load(path, uet_contracts.ExecutionResult)
    assert (result.success, result.timed_out, result.stdout_bytes, result.duration_s) == (True, False, 16, 1.5)


def test_an_unused_anchor_is_harmless_but_an_alias_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "anchor.yaml"
    path.write_text(edit(PHASE, 'objective: "', 'objective: &o "'), encoding="utf-8")
    assert uet_contracts.load(path, PhaseSpec).phase_id == "PH-01A"
    path.write_text(edit(PHASE, 'objective: "', 'objective: &o "') + "tags: [*o]\n", encoding="utf-8")
    with pytest.raises(ContractError) as caught:
        uet_contracts.load(path, PhaseSpec)
    assert [p.format() for p in caught.value.errors] == [
        f"{path}:4:12: $.objective: YAML aliases/anchors are not allowed in contract files (write the value out)"
    ]


def test_an_unknown_format_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown format 'toml'"):
        uet_contracts.loads("a = 1", PhaseSpec, "toml")  # type: ignore[arg-type]


def test_success_pattern_is_checked_as_a_python_regex(tmp_path: Path) -> None:
    """``a++`` (possessive, Python 3.11+) is valid although ECMA-262, which jsonschema-rs speaks, refuses it."""
    path = tmp_path / "possessive.yaml"
    path.write_text(edit(PHASE, 'success_pattern: "1 passed"', 'success_pattern: "[0-9]++ passed"'), encoding="utf-8")
    assert uet_contracts.check_file(path, PhaseSpec) == []
    check = (uet_contracts.load(path, PhaseSpec).acceptance.sh or [])[0]
    assert isinstance(check, uet_contracts.AcceptanceCommand)
    assert check.success_pattern == "[0-9]++ passed"
