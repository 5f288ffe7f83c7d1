"""Snapshot building, critical path, source hash, ready-set iteration; properties on random DAGs."""

from __future__ import annotations

import graphlib
import itertools
import json
import shutil
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

import uet_contracts
from tests.conftest import EXAMPLES
from tests.uet_engine.phase_specs import spec, write
from uet_engine.planning import graph
from uet_engine.planning.graph import prerequisites_of
from uet_engine.planning.phase_set import load_phase_set
from uet_engine.planning.snapshot import (
    build_snapshot,
    compare_snapshots,
    critical_path,
    source_hash,
    weight,
)

MOMENT = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def plan(folder: Path) -> uet_contracts.DagSnapshot:
    return build_snapshot(load_phase_set(folder), generated_at=MOMENT)


def test_example_set_plans_to_the_shared_snapshot() -> None:
    expected = json.loads((EXAMPLES / "dag_snapshot.json").read_text(encoding="utf-8"))
    snapshot = uet_contracts.to_dict(plan(EXAMPLES / "phases"))
    assert snapshot["source_hash"].startswith("sha256:")
    for field in ("schema_version", "generated_at", "dag_type", "nodes", "edges", "topo_levels", "critical_path"):
        assert snapshot[field] == expected[field], field


def test_diamond_and_disconnected_components(tmp_path: Path) -> None:
    write(
        tmp_path,
        spec("PH-A"),
        spec("PH-B", ["PH-A"]),
        spec("PH-C", ["PH-A"], estimate=2),
        spec("PH-D", ["PH-B", "PH-C"]),
        spec("PH-X"),
        spec("PH-Y", ["PH-X"], estimate=2.5),
    )
    snapshot = plan(tmp_path)
    assert snapshot.nodes == ["PH-A", "PH-B", "PH-C", "PH-D", "PH-X", "PH-Y"]
    assert snapshot.edges == {"PH-B": ["PH-A"], "PH-C": ["PH-A"], "PH-D": ["PH-B", "PH-C"], "PH-Y": ["PH-X"]}
    assert snapshot.topo_levels == [["PH-A", "PH-X"], ["PH-B", "PH-C", "PH-Y"], ["PH-D"]]
    assert snapshot.critical_path == ["PH-A", "PH-C", "PH-D"]  # 4 hours against 3.5


def test_critical_path_prefers_the_heavier_chain_then_the_smaller_ids(tmp_path: Path) -> None:
    write(tmp_path, spec("PH-A"), spec("PH-B", ["PH-A"]), spec("PH-X", estimate=2.5), spec("PH-Y", ["PH-X"]))
    assert plan(tmp_path).critical_path == ["PH-X", "PH-Y"]  # 3.5 hours against 2
    write(tmp_path, spec("PH-X", estimate=1))
    assert plan(tmp_path).critical_path == ["PH-A", "PH-B"]  # a tie: the smaller ids


def test_weights_are_exact() -> None:
    assert weight(None) == 1
    assert weight(2.0) == 2 and isinstance(weight(2.0), int)
    assert weight(0.1) + weight(0.2) == weight(0.3) == Decimal("0.3")


def test_source_hash_ignores_file_names_order_and_formatting(tmp_path: Path) -> None:
    first = tmp_path / "first"
    write(first, spec("PH-1", create=["a.py"]), spec("PH-2", ["PH-1"], estimate=2))
    baseline = source_hash(load_phase_set(first))

    renamed = tmp_path / "renamed"
    shutil.copytree(first, renamed / "nested")
    (renamed / "nested" / "PH-1.yaml").rename(renamed / "zz-first.yml")
    assert source_hash(load_phase_set(renamed)) == baseline

    reformatted = tmp_path / "reformatted"
    write(reformatted, spec("PH-2", ["PH-1"], estimate=2), fmt="json")
    data = spec("PH-1", create=["a.py"])
    text = "# a comment\n" + yaml.safe_dump(dict(reversed(list(data.items()))), default_flow_style=True, width=40)
    (reformatted / "PH-1.yaml").write_text(text, encoding="utf-8")
    assert source_hash(load_phase_set(reformatted)) == baseline

    write(first, spec("PH-2", ["PH-1"], estimate=3))
    assert source_hash(load_phase_set(first)) != baseline


def test_snapshot_is_validated_and_round_trips() -> None:
    snapshot = plan(EXAMPLES / "phases")
    assert uet_contracts.validate(uet_contracts.to_dict(snapshot), uet_contracts.DagSnapshot) == snapshot
    assert uet_contracts.to_dict(snapshot)["generated_at"] == "2026-11-23T09:00:00Z"


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (datetime(2026, 11, 23, 9, 0), "2026-11-23T09:00:00Z"),
        (datetime(2026, 11, 23, 9, 0, 0, 250000, tzinfo=UTC), "2026-11-23T09:00:00.250000Z"),
        (datetime(2026, 11, 23, 9, 0, tzinfo=timezone(timedelta(hours=2))), "2026-11-23T09:00:00+02:00"),
    ],
)
def test_snapshot_generated_at_is_as_loading_it_back_gives_it(moment: datetime, text: str) -> None:
    snapshot = build_snapshot(load_phase_set(EXAMPLES / "phases"), generated_at=moment)
    loaded = uet_contracts.validate(uet_contracts.to_dict(snapshot), uet_contracts.DagSnapshot)
    assert repr(snapshot.generated_at) == repr(loaded.generated_at)
    assert uet_contracts.to_dict(snapshot)["generated_at"] == text


def test_compare_snapshots_names_what_changed(tmp_path: Path) -> None:
    write(tmp_path, spec("PH-1"), spec("PH-2", ["PH-1"]), spec("PH-3", ["PH-2"]))
    committed = plan(tmp_path)
    assert compare_snapshots(committed, committed, file="s.json") == []
    (tmp_path / "PH-3.yaml").unlink()
    write(tmp_path, spec("PH-4", ["PH-1"]))
    found = [p.format() for p in compare_snapshots(committed, plan(tmp_path), file="s.json")]
    assert found == [
        "s.json: $.nodes: added node PH-4: in the specs, not in the snapshot",
        "s.json: $.nodes: removed node PH-3: in the snapshot, no longer in the specs",
        "s.json: $.edges: added edge PH-4 -> PH-1: PH-4 now depends on PH-1",
        "s.json: $.edges: removed edge PH-3 -> PH-2: PH-3 no longer depends on PH-2",
        "s.json: $.topo_levels[1]: topo_levels changed from level 1 on: snapshot has ['PH-2'], specs give"
        " ['PH-2', 'PH-4']",
        "s.json: $.critical_path: critical_path changed: snapshot has PH-1 -> PH-2 -> PH-3, specs give PH-1 -> PH-2",
        f"s.json: $.source_hash: source_hash changed (the specs changed): snapshot has {committed.source_hash},"
        f" specs give {plan(tmp_path).source_hash}",
    ]


# ---- properties on random DAGs -----------------------------------------------------------------


@st.composite
def dags(draw: st.DrawFn, max_nodes: int = 8) -> tuple[dict[str, list[str]], dict[str, int]]:
    """A random DAG as node -> prerequisites, with random weights; names shuffled so that sorted ids
    are not a topological order."""
    count = draw(st.integers(1, max_nodes))
    names = draw(st.permutations([f"PH-{i}" for i in range(count)]))
    prereqs: dict[str, list[str]] = {name: [] for name in names}
    for later in range(count):
        for earlier in range(later):
            if draw(st.booleans()):
                prereqs[names[later]].append(names[earlier])
    weights = {name: draw(st.integers(1, 3)) for name in names}
    return prereqs, weights


def all_paths(prereqs: dict[str, list[str]]) -> list[list[str]]:
    """Every chain of dependent phases, first phase first (brute force)."""
    dependents: dict[str, list[str]] = {n: [] for n in prereqs}
    for node, deps in prereqs.items():
        for dep in deps:
            dependents[dep].append(node)
    paths: list[list[str]] = []

    def extend(path: list[str]) -> None:
        paths.append(path)
        for nxt in dependents[path[-1]]:
            extend([*path, nxt])

    for start in prereqs:
        extend([start])
    return paths


@settings(max_examples=200, deadline=None)
@given(dags())
def test_levels_respect_every_edge(dag: tuple[dict[str, list[str]], dict[str, int]]) -> None:
    prereqs, _ = dag
    levels = graph.kahn_levels(prereqs)
    level_of = {node: i for i, level in enumerate(levels) for node in level}
    assert sorted(level_of) == sorted(prereqs)
    for node, deps in prereqs.items():
        assert all(level_of[dep] < level_of[node] for dep in deps)
        assert level_of[node] == (max((level_of[d] + 1 for d in deps), default=0))
    assert all(level == sorted(level) for level in levels)


@settings(max_examples=200, deadline=None)
@given(dags())
def test_critical_path_is_the_first_of_the_longest_paths(dag: tuple[dict[str, list[str]], dict[str, int]]) -> None:
    prereqs, weights = dag
    path = critical_path(prereqs, graph.kahn_levels(prereqs), weights)
    brute = all_paths(prereqs)
    heaviest = max(sum(weights[n] for n in p) for p in brute)
    assert sum(weights[n] for n in path) == heaviest
    assert path == min(p for p in brute if sum(weights[n] for n in p) == heaviest)


@settings(max_examples=200, deadline=None)
@given(dags(), st.data())
def test_a_back_edge_is_reported_as_a_real_cycle(
    dag: tuple[dict[str, list[str]], dict[str, int]], data: st.DataObject
) -> None:
    prereqs, _ = dag
    chain = data.draw(st.sampled_from(all_paths(prereqs)))
    # The first phase of a chain now depends on its last one: a cycle (a self-loop for one phase).
    prereqs[chain[0]].append(chain[-1])
    with pytest.raises(graphlib.CycleError):
        graph.kahn_levels(prereqs)
    loops = graph.cycles(prereqs)
    assert loops
    for loop in loops:
        assert loop[0] == loop[-1] == min(loop)
        assert len(set(loop[:-1])) == len(loop) - 1
        assert all(b in prereqs[a] for a, b in itertools.pairwise(loop))


@settings(max_examples=100, deadline=None)
@given(dags(), st.data())
def test_ancestry_agrees_with_the_transitive_closure(
    dag: tuple[dict[str, list[str]], dict[str, int]], data: st.DataObject
) -> None:
    prereqs, _ = dag
    graph.Ancestry.CHUNK = data.draw(st.sampled_from([1, 2, 4096]))
    graph.Ancestry.BUDGET = data.draw(st.sampled_from([0, 1, 256]))  # 0: every open pair goes to the bitsets
    try:
        ancestry = graph.Ancestry(prereqs, graph.kahn_levels(prereqs))
        pairs = [(a, b) for a in prereqs for b in prereqs]
        expected = {(a, b) for a, b in pairs if a in prerequisites_of(prereqs, [b])}
        assert ancestry.ancestor_pairs(pairs) == expected
    finally:
        graph.Ancestry.CHUNK, graph.Ancestry.BUDGET = 4096, 256
