"""Graph integrity: every rule on hand-made snapshots (a data file each, with the exact lines expected),
the rules' table, and the id formats held equal to the schema's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import uet_contracts
from tests.conftest import EXAMPLES, REPO_ROOT
from uet_contracts import ContractError, DagSnapshot, ModuleTasks
from uet_engine.cli.validate import problem_lines
from uet_engine.planning import integrity

CASES = Path(__file__).parent / "integrity_cases"
FILES = sorted(CASES.glob("*.json"))


def expected_lines(path: Path) -> list[str]:
    """The ``.expected`` file beside a case: one line per problem, ``{case}`` standing for the case's path."""
    expected = path.with_suffix(".expected")
    if not expected.exists():
        return []
    return expected.read_text(encoding="utf-8").replace("{case}", str(path)).splitlines()


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_each_hand_made_file_gets_exactly_its_problems(path: Path) -> None:
    kind = path.stem.split("-", 1)[0]
    # Every case passes its schema: what is wrong is what only the graph check sees.
    assert uet_contracts.check_file(path, uet_contracts.contract_named(kind).type) == []
    assert problem_lines(str(path), kind) == expected_lines(path)


def test_the_corpus_has_a_case_of_every_rule() -> None:
    messages = " ".join(line for path in FILES for line in expected_lines(path))
    for needle in (
        "dependency cycle",
        "edge from unknown node",
        "depends on unknown node",
        "level 0 holds unknown node",
        "belongs on level",
        "is on no level",
        "and again here",
        "the critical path steps from",
        "not the whole chain",
        "the critical path is empty",
        "visits",
        "is not a valid node",
        "runs in batch",
        "runs in no batch",
        "expected task",
        "is listed twice",
    ):
        assert needle in messages, needle


def test_the_examples_are_sound() -> None:
    for path, cls in (
        (EXAMPLES / "dag_snapshot.json", DagSnapshot),
        (EXAMPLES / "three-tiers" / "module_tasks.json", ModuleTasks),
    ):
        assert integrity.graph_problems(integrity.load_checked(path, cls)) == []


def test_rules_report_only_their_own_concern() -> None:
    """A cycle is named once, by the cycle rule: the layering and chain rules do not pile on."""
    snapshot = uet_contracts.load(CASES / "dag_snapshot-two-cycle.json", DagSnapshot)
    graph = integrity.SnapshotGraph(snapshot)
    assert [rule for rule, check in integrity.RULES.items() if list(check(graph))] == ["acyclic", "real_chain"]
    assert list(integrity.RULES) == [
        "unique_nodes",
        "node_ids",
        "known_nodes",
        "acyclic",
        "kahn_layering",
        "real_chain",
    ]


def test_load_checked_raises_with_every_problem_located() -> None:
    path = CASES / "dag_snapshot-two-cycle.json"
    with pytest.raises(ContractError) as caught:
        integrity.load_checked(path, DagSnapshot)
    assert [p.format() for p in caught.value.errors] == expected_lines(path)


def test_faults_past_the_located_limit_keep_their_path_only() -> None:
    nodes = [f"PH-{i:04d}" for i in range(integrity.LOCATED + 5)]
    data = {
        "schema_version": "1.0.0",
        "generated_at": "2026-11-23T09:00:00Z",
        "dag_type": "pipeline",
        "source_hash": "sha256:" + "0" * 64,
        "nodes": nodes,
        "edges": {},
        "topo_levels": [[node] for node in nodes],  # each belongs on level 0
        "critical_path": nodes[:1],
    }
    text = json.dumps(data, indent=1)
    problems = integrity.graph_problems(uet_contracts.loads(text, DagSnapshot, "json"), text, "big.json")
    assert len(problems) == integrity.LOCATED + 4  # PH-0000 is on its level
    assert sum(p.line is not None for p in problems) == integrity.LOCATED
    last = "PH-0104 is on level 104 but belongs on level 0: it has no prerequisites"
    assert problems[-1].format() == f"big.json: $.topo_levels[104][0]: {last}"


def test_node_formats_are_the_schemas_ids() -> None:
    common = json.loads((REPO_ROOT / "schemas" / "v1" / "common.schema.json").read_text(encoding="utf-8"))["$defs"]
    pattern = {tier: fmt.pattern for tier, (fmt, _) in integrity.NODE_FORMATS.items()}
    assert f"^{pattern['pipeline']}$" == common["PhaseId"]["pattern"]
    assert f"^{pattern['module']}$" == common["ModuleId"]["pattern"]
    assert pattern["task"] == f".{{{common['StepId']['minLength']},{common['StepId']['maxLength']}}}"
    assert "pattern" not in common["StepId"]
    assert set(integrity.NODE_FORMATS) == set(uet_contracts.schema(DagSnapshot)["$defs"]["DagType"]["enum"])
