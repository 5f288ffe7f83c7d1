"""The task tier of a workstream: the rules its steps keep (each problem located), its graph and batches."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import uet_contracts
from tests.uet_engine.phase_specs import spec, write
from uet_contracts import PhaseSpec
from uet_engine.errors import PlanError
from uet_engine.paths import may_overlap
from uet_engine.planning.phase_set import load_phase_set
from uet_engine.planning.snapshot import task_snapshot
from uet_engine.planning.tasks import batches, step_graph


def step(
    step_id: str | None = None, *, after: list[str] | None = None, writes: list[str] | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = {"operation_kind": "EXEC-ATOMIC-CREATE", "tool": "sh", "run": "true"}
    if step_id is not None:
        data["id"] = step_id
    if after is not None:
        data["depends_on"] = after
    if writes is not None:
        data["writes"] = writes
    return data


def with_steps(*steps: dict[str, Any], create: tuple[str, ...] = ("out/**",)) -> dict[str, Any]:
    data = spec("PH-01", create=list(create))
    data["steps"] = list(steps)
    return data


def phase(data: dict[str, Any]) -> PhaseSpec:
    return uet_contracts.validate(data, PhaseSpec)


def problems_of(folder: Path, data: dict[str, Any]) -> list[str]:
    write(folder, data)
    with pytest.raises(PlanError) as caught:
        load_phase_set(folder)
    return [p.format().replace(f"{folder}{os.sep}", "") for p in caught.value.problems]


def test_a_step_cycle_is_named_in_full(tmp_path: Path) -> None:
    data = with_steps(step("a", after=["c"]), step("b", after=["a"]), step("c", after=["b"]), step("d", after=["d"]))
    assert problems_of(tmp_path, data) == [
        "PH-01.yaml:21:5: $.steps[0].depends_on[0]: step cycle: a -> c -> b -> a (each step depends on the next)",
        "PH-01.yaml:39:5: $.steps[3].depends_on[0]: step 'd' depends on itself",
    ]


def test_unknown_and_duplicate_step_ids_are_named(tmp_path: Path) -> None:
    data = with_steps(step("build"), step("build"), step(after=["biuld"]))
    assert problems_of(tmp_path, data) == [
        "PH-01.yaml:23:7: $.steps[1].id: step id 'build' is already used by steps[0]",
        "PH-01.yaml:28:5: $.steps[2].depends_on[0]: depends on unknown step 'biuld': no step of ws-ph-01 has that id",
    ]


def test_a_step_id_that_reads_as_a_task_id_is_refused(tmp_path: Path) -> None:
    data = with_steps(step(), step("step/0"))
    assert problems_of(tmp_path, data) == [
        "PH-01.yaml:22:7: $.steps[1].id: step id 'step/0' is how the task tier names a step without an id: choose"
        " another"
    ]


def test_writes_outside_the_file_scope_are_named(tmp_path: Path) -> None:
    data = with_steps(step("a", writes=["out/a.txt", "src/x.py"]), create=("out/*",))
    assert problems_of(tmp_path, data) == [
        "PH-01.yaml:22:5: $.steps[0].writes[1]: writes 'src/x.py', which overlaps no create or modify entry of the"
        " file scope"
    ]


def test_without_depends_on_the_steps_run_in_the_order_listed() -> None:
    spec_ = phase(with_steps(step("b", writes=["out/b"]), step(), step("a", writes=["out/a"])))
    assert step_graph(spec_).edges == {"a": ["step/1"], "step/1": ["b"]}
    assert batches(spec_) == [[0], [1], [2]]  # writes alone never run steps side by side: the order is the graph


def test_two_independent_steps_with_disjoint_writes_share_a_batch() -> None:
    spec_ = phase(
        with_steps(
            step("lint", after=[], writes=["out/lint.txt"]),
            step("test", after=[], writes=["out/test/**"]),
            step("report", after=["lint", "test"], writes=["out/report.md"]),
        )
    )
    assert batches(spec_) == [[0, 1], [2]]
    snapshot = task_snapshot(spec_)
    assert (snapshot.dag_type, snapshot.nodes) == ("task", ["lint", "report", "test"])
    assert snapshot.edges == {"report": ["lint", "test"]}
    assert snapshot.topo_levels == [["lint", "test"], ["report"]]
    assert snapshot.critical_path == ["lint", "report"]


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (["out/a.txt"], ["out/a.txt"]),  # the same path
        (["out/*"], ["out/b.txt"]),  # a glob that matches the other
        (None, ["out/b.txt"]),  # no writes declared: it may write anything its scope allows
        (["out/a.txt"], None),
    ],
)
def test_independent_steps_whose_writes_overlap_run_one_after_another(
    first: list[str] | None, second: list[str] | None
) -> None:
    spec_ = phase(with_steps(step("b", after=[], writes=first), step("a", after=[], writes=second)))
    assert batches(spec_) == [[0], [1]]  # in the order listed


@st.composite
def task_graphs(draw: st.DrawFn) -> dict[str, Any]:
    """A random DAG of up to 9 steps, listed in a random order, some declaring writes (a few overlapping)."""
    size = draw(st.integers(1, 9))
    order = draw(st.permutations(range(size)))  # step k of the DAG is listed at position order[k]
    steps: list[dict[str, Any]] = [{} for _ in range(size)]
    for k in range(size):
        deps = draw(st.sets(st.integers(0, k - 1), max_size=3)) if k else set()
        target = draw(st.sampled_from(["none", "own", "shared", "glob"]))
        writes = {"none": None, "own": [f"out/s{k}.txt"], "shared": ["out/shared.txt"], "glob": ["out/s*"]}[target]
        steps[order[k]] = step(f"s{k}", after=[f"s{d}" for d in sorted(deps)], writes=writes)
    return with_steps(*steps)


@settings(max_examples=300, deadline=None)
@given(task_graphs())
def test_batches_respect_every_dependency_and_never_pair_overlapping_writes(data: dict[str, Any]) -> None:
    spec_ = phase(data)
    order = batches(spec_)
    steps = spec_.steps or []
    position = {i: b for b, batch in enumerate(order) for i in batch}
    assert sorted(position) == list(range(len(steps)))  # every step exactly once
    assert sum(len(batch) for batch in order) == len(steps)
    index = {s.id: i for i, s in enumerate(steps)}
    for i, s in enumerate(steps):
        for dep in s.depends_on or []:
            assert position[index[dep]] < position[i]
    for batch in order:
        if len(batch) > 1:
            for x in batch:
                for y in batch:
                    if x != y:
                        assert steps[x].writes and steps[y].writes
                        assert not any(may_overlap(a, b) for a in steps[x].writes for b in steps[y].writes)
