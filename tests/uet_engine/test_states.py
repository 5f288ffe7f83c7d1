"""The run-state machine in ``uet_engine.states`` against the schema it is keyed by.

mypy already rejects a status or outcome the schema does not have; these tests check what types cannot:
that the tables cover exactly the schema's statuses, that the machine is sound (every status reachable,
final states final), that no engine module keeps its own copy of the status list, and that the module
stays a domain module every stage can import.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from typing import get_args

import pytest

from tests.conftest import REPO_ROOT
from uet_contracts import AuditOutcome, RunStatus
from uet_engine.states import (
    AUDIT_FOR_STATUS,
    ENTRY_STATUS,
    FINAL_STATUSES,
    IN_FLIGHT_STATUSES,
    STATUSES,
    TRANSITIONS,
    WorkerStatus,
    may_enter,
)

SCHEMAS = REPO_ROOT / "schemas" / "v1"
ENGINE = REPO_ROOT / "src" / "uet_engine"


def schema_statuses() -> list[str]:
    return list(json.loads((SCHEMAS / "common.schema.json").read_text(encoding="utf-8"))["$defs"]["RunStatus"]["enum"])


def test_statuses_are_the_schemas_in_its_order() -> None:
    assert list(STATUSES) == schema_statuses() == list(get_args(RunStatus))


def test_every_status_is_final_or_in_flight_never_both() -> None:
    assert sorted(FINAL_STATUSES + IN_FLIGHT_STATUSES) == sorted(STATUSES)
    assert set(FINAL_STATUSES).isdisjoint(IN_FLIGHT_STATUSES)
    assert set(IN_FLIGHT_STATUSES) == set(TRANSITIONS)


def test_transitions_lead_between_schema_statuses() -> None:
    targets = set().union(*TRANSITIONS.values())
    assert targets <= set(STATUSES)
    assert ENTRY_STATUS not in targets, "nothing moves back to the entry state"


def test_every_status_is_reachable_from_the_entry_state() -> None:
    reached, frontier = {ENTRY_STATUS}, [ENTRY_STATUS]
    while frontier:
        for target in TRANSITIONS.get(frontier.pop(), frozenset()):
            if target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(STATUSES)


def test_every_state_change_has_an_audit_line_the_entry_has_none() -> None:
    assert set(AUDIT_FOR_STATUS) == set(STATUSES) - {ENTRY_STATUS}
    audit_schema = json.loads((SCHEMAS / "audit_event.schema.json").read_text(encoding="utf-8"))
    pattern = audit_schema["properties"]["event_type"]["pattern"]
    for status, line in AUDIT_FOR_STATUS.items():
        assert re.search(pattern, line.event_type), (status, line)
        assert line.outcome in get_args(AuditOutcome), (status, line)
    assert len({line.event_type for line in AUDIT_FOR_STATUS.values()}) == len(AUDIT_FOR_STATUS)


def test_a_worker_reports_only_final_statuses() -> None:
    assert set(get_args(WorkerStatus)) <= set(FINAL_STATUSES)


@pytest.mark.parametrize(
    ("status", "reused_from", "allowed"),
    [
        ("queued", None, True),
        ("queued", "run-earlier", True),
        ("succeeded", "run-earlier", True),
        ("succeeded", None, False),
        ("succeeded", "", False),
        ("running", "run-earlier", False),
        ("failed", None, False),
        (None, None, False),
    ],
)
def test_how_a_workstream_may_enter_a_run(status: RunStatus | None, reused_from: str | None, allowed: bool) -> None:
    assert may_enter(status, reused_from) is allowed


def test_states_imports_only_the_contracts_and_the_standard_library() -> None:
    tree = ast.parse((ENGINE / "states.py").read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    tops = {name.split(".")[0] for name in imported}
    assert tops - {"__future__", "uet_contracts"} <= sys.stdlib_module_names
    assert "uet_contracts" in tops


def status_list_copies(source: str) -> list[int]:
    """Lines of list, tuple or set displays of strings that name every final status: a copy of the enum."""
    finals = set(FINAL_STATUSES)
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.List | ast.Tuple | ast.Set):
            strings = {e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
            if finals <= strings:
                found.append(node.lineno)
    return found


def test_no_engine_module_copies_the_status_list() -> None:
    """Full lists of statuses come from ``states`` (read from the schema), never from a string copy."""
    copies = {
        path.relative_to(REPO_ROOT).as_posix(): lines
        for path in sorted(ENGINE.rglob("*.py"))
        if (lines := status_list_copies(path.read_text(encoding="utf-8")))
    }
    assert copies == {}


def test_the_copy_check_finds_a_copy() -> None:
    source = 'ORDER = ("succeeded", "failed", "skipped", "crashed", "cancelled", "running")\nOK = ("queued",)\n'
    assert status_list_copies(source) == [1]
