"""The task tier of one workstream: its steps as a graph, the rules that graph must keep, and its batches.

A step's node is its ``id``, or ``step/N`` (its position) without one. When no step of a workstream declares
``depends_on``, each step depends on the one listed before it: the steps run one after another in the order
written, exactly as before steps could name each other. Once any step declares ``depends_on``, the graph is
what the steps declare and nothing else.

The engine runs the graph in *batches*: Kahn's order, ties broken by the order the steps are listed, and
ready steps grouped into one batch (run at the same time in the worktree) only when each declares
``writes`` and no entry of one may overlap an entry of another (``uet_engine.paths.may_overlap``, the one
glob dialect of ``file_scope``: some path matches both).
A step without ``writes`` may write anything its workstream may, and a step with ``retry`` starts again
from the tree before its first try, so both always run alone. Planning derives
the batches (``uet plan --tier task`` shows them); the worker runs them.

This module sees one spec at a time and imports no other planning module but ``graph``, so the set checker
(``phase_set``) can call ``step_faults`` for every spec.
"""

from __future__ import annotations

import graphlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from uet_contracts import PhaseSpec, Step
from uet_engine.paths import may_overlap
from uet_engine.planning import graph


class StepFault(NamedTuple):
    """A problem of a spec's steps: its JSON path parts within the spec, and the message."""

    path: tuple[str | int, ...]
    message: str


TASK_NODE = re.compile(r"step/[0-9]+")
"""The node of a step without an id (its task id)."""


def step_node(step: Step, index: int) -> str:
    """The step's node in the task-tier DAG: its id, or ``step/N`` for the N-th step without one."""
    return step.id if step.id is not None else f"step/{index}"


@dataclass(frozen=True)
class StepGraph:
    """The steps of one workstream as a graph: ``nodes`` in the order the steps are listed, ``prereqs``
    mapping each node to the nodes it depends on (in the order declared)."""

    nodes: list[str]
    prereqs: dict[str, list[str]]

    @property
    def edges(self) -> dict[str, list[str]]:
        """The snapshot form: each node with prerequisites mapped to them, sorted; sorted by node."""
        return {node: sorted(deps) for node, deps in sorted(self.prereqs.items()) if deps}


def declares_order(steps: Sequence[Step]) -> bool:
    """Whether any step names its prerequisites (otherwise the listed order is the graph)."""
    return any(step.depends_on is not None for step in steps)


def step_graph(spec: PhaseSpec) -> StepGraph:
    """The graph of a spec whose steps keep the rules of ``step_faults`` (unknown ids are left out)."""
    steps = spec.steps or []
    nodes = [step_node(step, i) for i, step in enumerate(steps)]
    if not declares_order(steps):
        return StepGraph(nodes, {node: nodes[i - 1 : i] for i, node in enumerate(nodes)})
    known = set(nodes)
    prereqs = {node: [d for d in step.depends_on or [] if d in known] for node, step in zip(nodes, steps, strict=True)}
    return StepGraph(nodes, prereqs)


def step_faults(spec: PhaseSpec) -> Iterator[StepFault]:
    """Every problem of a spec's steps: duplicate ids, unknown or self dependencies, dependency cycles
    (each named in full), and declared writes outside the file scope's create and modify entries."""
    steps = spec.steps or []
    if all(step.id is None and step.depends_on is None and step.writes is None for step in steps):
        return  # steps as they always were: nothing of the task tier to check (most specs, on the hot path)
    first: dict[str, int] = {}
    for i, step in enumerate(steps):
        if step.id is None:
            continue
        if TASK_NODE.fullmatch(step.id):
            message = f"step id {step.id!r} is how the task tier names a step without an id: choose another"
            yield StepFault(("steps", i, "id"), message)
        if step.id in first:
            yield StepFault(("steps", i, "id"), f"step id {step.id!r} is already used by steps[{first[step.id]}]")
        first.setdefault(step.id, i)
    for i, step in enumerate(steps):
        for j, dep in enumerate(step.depends_on or []):
            if dep == step.id:
                yield StepFault(("steps", i, "depends_on", j), f"step {dep!r} depends on itself")
            elif dep not in first:
                message = f"depends on unknown step {dep!r}: no step of {spec.workstream_id} has that id"
                yield StepFault(("steps", i, "depends_on", j), message)
    if declares_order(steps):
        yield from _step_cycles(spec)
    writable = [*spec.file_scope.create, *spec.file_scope.modify]
    for i, step in enumerate(steps):
        for j, path in enumerate(step.writes or []):
            if not any(may_overlap(path, entry) for entry in writable):
                message = f"writes {path!r}, which overlaps no create or modify entry of the file scope"
                yield StepFault(("steps", i, "writes", j), message)


def _step_cycles(spec: PhaseSpec) -> Iterator[StepFault]:
    steps = spec.steps or []
    built = step_graph(spec)
    prereqs = {node: [d for d in deps if d != node] for node, deps in built.prereqs.items()}  # self: reported above
    try:
        graph.kahn_levels(prereqs)
    except graphlib.CycleError:
        index = {node: i for i, node in enumerate(built.nodes)}
        for loop in graph.cycles(prereqs):
            first, second = loop[0], loop[1]
            at = ("steps", index[first], "depends_on", (steps[index[first]].depends_on or []).index(second))
            yield StepFault(at, f"step cycle: {' -> '.join(loop)} (each step depends on the next)")


def batches(spec: PhaseSpec) -> list[list[int]]:
    """The order a checked spec's steps run in, as batches of step indices (see the module docstring).

    Kahn's algorithm over the step graph: the ready steps, in listed order, fill a batch for as long as
    each declares ``writes`` that overlap none of the batch's; the rest wait for the next batch.
    """
    steps = spec.steps or []
    built = step_graph(spec)
    index = {node: i for i, node in enumerate(built.nodes)}
    waiting = [len(built.prereqs[node]) for node in built.nodes]
    dependents: list[list[int]] = [[] for _ in steps]
    for node, deps in built.prereqs.items():
        for dep in deps:
            dependents[index[dep]].append(index[node])
    ready = [i for i, count in enumerate(waiting) if count == 0]
    order: list[list[int]] = []
    while ready:
        batch: list[int] = []
        rest: list[int] = []
        for i in ready:  # ``ready`` is kept in listed order
            if not batch or _fits(steps, batch, i):
                batch.append(i)
            else:
                rest.append(i)
        order.append(batch)
        for i in batch:
            for dependent in dependents[i]:
                waiting[dependent] -= 1
                if not waiting[dependent]:
                    rest.append(dependent)
        ready = sorted(rest)
    return order


def _fits(steps: Sequence[Step], batch: list[int], candidate: int) -> bool:
    """Whether ``candidate`` may run beside every step of ``batch``: all declare writes, none overlapping,
    and none is retried (a retry starts again from the tree before it, which would undo the others' work)."""
    mine = steps[candidate].writes
    if not mine or not steps[batch[0]].writes or steps[candidate].retry or steps[batch[0]].retry:
        return False
    return not any(may_overlap(a, b) for other in batch for a in steps[other].writes or [] for b in mine)
