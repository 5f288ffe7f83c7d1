"""Graph integrity of DagSnapshots: what their schema cannot see, checked wherever a snapshot is read.

A schema checks each value on its own; a snapshot is only trustworthy when its parts agree: every edge
joins known nodes, the edges have no cycle, the levels are the Kahn layering of those edges, the critical
path is a real chain of them, and no node is listed twice. A hand-edited or half-merged snapshot can pass
the schema and break every one of these, so ``uet validate --kind dag_snapshot`` (and ``module_tasks``),
``uet plan --check`` and ``uet run --snapshot`` all run the rules here after the schema.

Each rule is one function that yields ``Fault``\\ s (a JSON path and a message), listed in a table the way
jsonschema lists its keyword validators: a new rule is one function and one table entry, and each fault
names the rule's own concern only (the level rule does not repeat what the cycle rule found). Every rule
is linear in the size of the snapshot.
"""

from __future__ import annotations

import graphlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from functools import cached_property
from itertools import chain
from pathlib import Path
from typing import Any, Final, NamedTuple, TypeVar

import uet_contracts
from uet_contracts import ContractError, DagSnapshot, DagType, ModuleTasks, Problem
from uet_engine.planning import graph
from uet_engine.planning.phase_set import gc_paused, json_path

T = TypeVar("T")


class Fault(NamedTuple):
    """One integrity problem: where in the document (JSON path parts) and what is wrong."""

    path: tuple[str | int, ...]
    message: str


# The node ids of each tier. The schema leaves node ids plain strings so that one contract serves all three
# tiers; these are the id formats of common.schema.json (PhaseId, ModuleId; a StepId is 1 to 100 characters,
# and step/N names a step without one), and a test holds them equal to the schema's.
NODE_FORMATS: Final[Mapping[DagType, tuple[re.Pattern[str], str]]] = {
    "pipeline": (re.compile(r"PH-[A-Za-z0-9][A-Za-z0-9._-]{0,63}"), "a PhaseId such as PH-01A"),
    "module": (re.compile(r"[a-z0-9][a-z0-9._-]{0,63}"), "a ModuleId such as core.state"),
    "task": (re.compile(r".{1,100}", re.DOTALL), "a StepId (1 to 100 characters), or step/N for a step without one"),
}


class SnapshotGraph:
    """One snapshot and what several rules read of it, each derived once (the rules get this object, as
    jsonschema's keyword validators get the validator): the known nodes, each node's known prerequisites,
    and the Kahn level of each node (None when the edges have a cycle, so no layering exists)."""

    def __init__(self, snapshot: DagSnapshot) -> None:
        self.snapshot = snapshot

    @cached_property
    def known(self) -> set[str]:
        return set(self.snapshot.nodes)

    @cached_property
    def prereqs(self) -> dict[str, Sequence[str]]:
        """Every known node mapped to its known prerequisites (unknown ones are ``known_nodes``' to report)."""
        known, edges = self.known, self.snapshot.edges
        prereqs: dict[str, Sequence[str]] = dict.fromkeys(self.snapshot.nodes, ())
        if known.issuperset(edges) and known.issuperset(chain.from_iterable(edges.values())):
            prereqs.update(edges)  # the usual case: nothing to filter, no list copied
            return prereqs
        for node, deps in edges.items():
            if node in known:
                prereqs[node] = [dep for dep in deps if dep in known]
        return prereqs

    @cached_property
    def depths(self) -> dict[str, int] | None:
        try:
            levels = graph.kahn_levels(self.prereqs)
        except graphlib.CycleError:
            return None
        return {node: depth for depth, level in enumerate(levels) for node in level}


def unique_nodes(g: SnapshotGraph) -> Iterator[Fault]:
    """No node listed twice: in ``nodes``, across the levels, or on the critical path."""
    snapshot = g.snapshot
    first: dict[str, int] = {}
    for i, node in enumerate(snapshot.nodes):
        if node in first:
            yield Fault(("nodes", i), f"node {node!r} is listed twice (first at nodes[{first[node]}])")
        first.setdefault(node, i)
    level_of: dict[str, int] = {}
    for depth, level in enumerate(snapshot.topo_levels):
        for i, node in enumerate(level):
            if node in level_of:
                yield Fault(("topo_levels", depth, i), f"node {node!r} is on level {level_of[node]} and again here")
            level_of.setdefault(node, depth)
    on_path: set[str] = set()
    for i, node in enumerate(snapshot.critical_path):
        if node in on_path:
            yield Fault(("critical_path", i), f"the critical path visits {node!r} twice")
        on_path.add(node)


def node_ids(g: SnapshotGraph) -> Iterator[Fault]:
    """Each node id has the format of its tier (``dag_type``)."""
    pattern, what = NODE_FORMATS[g.snapshot.dag_type]
    for i, node in enumerate(g.snapshot.nodes):
        if not pattern.fullmatch(node):
            message = f"{node!r} is not a valid node of a {g.snapshot.dag_type} snapshot: expected {what}"
            yield Fault(("nodes", i), message)


def known_nodes(g: SnapshotGraph) -> Iterator[Fault]:
    """Edges, levels and the critical path name only nodes listed in ``nodes``."""
    snapshot, known = g.snapshot, g.known
    unknown = "which is not in nodes"
    for node, deps in snapshot.edges.items():
        if node not in known:
            yield Fault(("edges", node), f"edge from unknown node {node!r}, {unknown}")
        for i, dep in enumerate(deps):
            if dep not in known:
                yield Fault(("edges", node, i), f"{node} depends on unknown node {dep!r}, {unknown}")
    for depth, level in enumerate(snapshot.topo_levels):
        for i, node in enumerate(level):
            if node not in known:
                yield Fault(("topo_levels", depth, i), f"level {depth} holds unknown node {node!r}, {unknown}")
    for i, node in enumerate(snapshot.critical_path):
        if node not in known:
            yield Fault(("critical_path", i), f"the critical path passes unknown node {node!r}, {unknown}")


def acyclic(g: SnapshotGraph) -> Iterator[Fault]:
    """The edges have no cycle; each cycle is named in full, once (searched for only when Kahn's
    algorithm cannot place every node)."""
    if g.depths is not None:
        return
    for loop in graph.cycles(g.prereqs):
        yield Fault(("edges", loop[0]), f"dependency cycle: {' -> '.join(loop)} (each node depends on the next)")


def kahn_layering(g: SnapshotGraph) -> Iterator[Fault]:
    """``topo_levels`` are the Kahn levels of the edges: every node on exactly the level one after its
    deepest prerequisite (level 0 without any). Skipped when the edges have a cycle (see ``acyclic``)."""
    depths = g.depths
    if depths is None:
        return
    placed: set[str] = set()
    for level, members in enumerate(g.snapshot.topo_levels):
        for i, node in enumerate(members):
            if node not in depths or node in placed:
                continue  # unknown or repeated: the other rules report it
            placed.add(node)
            if depths[node] != level:
                deps = g.prereqs[node]
                why = (
                    f"its deepest prerequisite {max(deps, key=lambda d: (depths[d], d))} is on level {depths[node] - 1}"
                    if deps
                    else "it has no prerequisites"
                )
                message = f"{node} is on level {level} but belongs on level {depths[node]}: {why}"
                yield Fault(("topo_levels", level, i), message)
    if len(placed) < len(depths):
        for node in g.snapshot.nodes:
            if node not in placed and node in depths:
                yield Fault(("topo_levels",), f"node {node} is on no level (it belongs on level {depths[node]})")
                placed.add(node)


def real_chain(g: SnapshotGraph) -> Iterator[Fault]:
    """The critical path is a chain of the edges from a node without prerequisites to one without
    dependants (a longest chain can be extended at neither end); empty only for an empty graph."""
    path, known = g.snapshot.critical_path, g.known
    if not path:
        if known:
            yield Fault(("critical_path",), f"the critical path is empty but the graph has {len(known)} node(s)")
        return
    prereqs = g.prereqs
    for i in range(1, len(path)):
        before, node = path[i - 1], path[i]
        if before in known and node in known and before not in prereqs[node]:
            message = f"the critical path steps from {before} to {node}, which does not depend on it"
            yield Fault(("critical_path", i), message)
    first, last = path[0], path[-1]
    if first in known and prereqs[first]:
        message = f"the critical path starts at {first}, which depends on {prereqs[first][0]}: not the whole chain"
        yield Fault(("critical_path", 0), message)
    if last in known:
        after = next((node for node, deps in prereqs.items() if last in deps), None)
        if after is not None:
            message = f"the critical path ends at {last}, but {after} depends on it: not the whole chain"
            yield Fault(("critical_path", len(path) - 1), message)


Rule = Callable[[SnapshotGraph], Iterator[Fault]]

RULES: Final[Mapping[str, Rule]] = {
    "unique_nodes": unique_nodes,
    "node_ids": node_ids,
    "known_nodes": known_nodes,
    "acyclic": acyclic,
    "kahn_layering": kahn_layering,
    "real_chain": real_chain,
}


def snapshot_faults(snapshot: DagSnapshot) -> list[Fault]:
    """Every fault of one snapshot, rule by rule in the order of ``RULES``."""
    g = SnapshotGraph(snapshot)
    with gc_paused():  # the derived maps are large and all alive: a collection would walk them for nothing
        return [fault for rule in RULES.values() for fault in rule(g)]


# -- the task tier: a ModuleTasks holds one task snapshot per workstream -----------------------------------------


def task_tier(tasks: ModuleTasks) -> Iterator[Fault]:
    """Each workstream once, each snapshot of the task tier and sound by every rule of ``RULES``."""
    seen: dict[str, int] = {}
    for w, item in enumerate(tasks.workstreams):
        at = ("workstreams", w)
        for name in ("workstream_id", "phase_id"):
            value = getattr(item, name)
            key = f"{name}:{value}"
            if key in seen:
                yield Fault((*at, name), f"{name} {value} is listed twice (first in workstreams[{seen[key]}])")
            seen.setdefault(key, w)
        if item.snapshot.dag_type != "task":
            message = f"the snapshot of {item.workstream_id} is a {item.snapshot.dag_type} snapshot; expected task"
            yield Fault((*at, "snapshot", "dag_type"), message)
            continue
        for fault in snapshot_faults(item.snapshot):
            yield Fault((*at, "snapshot", *fault.path), f"{item.workstream_id}: {fault.message}")


def batches(tasks: ModuleTasks) -> Iterator[Fault]:
    """Each workstream's batches run every node exactly once, each after all its prerequisites."""
    for w, item in enumerate(tasks.workstreams):
        ws = item.workstream_id
        known = set(item.snapshot.nodes)
        batch_of: dict[str, int] = {}
        for b, batch in enumerate(item.batches):
            for i, node in enumerate(batch):
                at = ("workstreams", w, "batches", b, i)
                if node not in known:
                    yield Fault(at, f"{ws}: batch {b} runs unknown node {node!r}, which is not in the snapshot")
                elif node in batch_of:
                    yield Fault(at, f"{ws}: {node} runs in batch {batch_of[node]} and again in batch {b}")
                else:
                    batch_of[node] = b
        for node in item.snapshot.nodes:
            if node not in batch_of:
                yield Fault(("workstreams", w, "batches"), f"{ws}: {node} runs in no batch")
        for node, deps in item.snapshot.edges.items():
            for dep in deps:
                if node in batch_of and dep in batch_of and batch_of[dep] >= batch_of[node]:
                    message = (
                        f"{ws}: {node} runs in batch {batch_of[node]}, not after its prerequisite {dep}"
                        f" (batch {batch_of[dep]})"
                    )
                    yield Fault(("workstreams", w, "batches", batch_of[node]), message)


TASK_RULES: Final[Mapping[str, Callable[[ModuleTasks], Iterator[Fault]]]] = {
    "task_tier": task_tier,
    "batches": batches,
}


def module_tasks_faults(tasks: ModuleTasks) -> list[Fault]:
    """Every fault of a task tier, rule by rule in the order of ``TASK_RULES``."""
    return [fault for rule in TASK_RULES.values() for fault in rule(tasks)]


# -- located problems ---------------------------------------------------------------------------------------------

LOCATED: Final = 100
"""Faults of one document given a line and column; the rest keep their JSON path only."""


def located(faults: Sequence[Fault], text: str | None = None, file: str | None = None) -> list[Problem]:
    """The faults as Problems; with the document's ``text``, each with the line and column of its path, in
    the order of the file."""
    problems = []
    for n, fault in enumerate(faults):
        # Each locate composes the document again: past LOCATED faults the rest go without a line, so a
        # snapshot broken everywhere still costs time linear in its size.
        at = text is not None and n < LOCATED
        line, column = uet_contracts.locate(text, list(fault.path)) if at and text is not None else (None, None)
        problems.append(Problem(fault.message, json_path(fault.path), file, line, column))
    # In file order (stable: rule order within one spot); those without a line last, in rule order.
    return sorted(problems, key=lambda p: (p.line is None, p.line or 0, p.column or 0))


CHECKS: Final[Mapping[type, Callable[[Any], list[Fault]]]] = {
    DagSnapshot: snapshot_faults,
    ModuleTasks: module_tasks_faults,
}
"""The contracts that carry a graph, and the check each gets after its schema."""


def graph_problems(instance: object, text: str | None = None, file: str | None = None) -> list[Problem]:
    """The integrity problems of a DagSnapshot or ModuleTasks instance ([] for other contracts)."""
    check = CHECKS.get(type(instance))
    return located(check(instance), text, file) if check is not None else []


def load_checked(path: str | Path, cls: type[T]) -> T:
    """``uet_contracts.load`` plus the graph check: ``ContractError`` naming every schema or integrity problem."""
    text = uet_contracts.read_text(path)
    instance = uet_contracts.loads(text, cls, uet_contracts.format_of(path), file=str(path))
    problems = graph_problems(instance, text, str(path))
    if problems:
        raise ContractError(problems)
    return instance
