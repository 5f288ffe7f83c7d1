"""Graph algorithms over phase ids: Kahn levels, every dependency cycle, and ancestor queries in bulk.

The graph is given as ``prereqs``: every node mapped to the nodes it depends on (all of them nodes too).
These are the pieces the plan stage needs beyond what ``graphlib`` offers: ``graphlib`` names one cycle
only, and asking "is A an ancestor of B" for many pairs of a 100,000-phase set must not cost a graph
walk per pair (see ``Ancestry``).
"""

from __future__ import annotations

import graphlib
from collections.abc import Iterable, Mapping, Sequence
from itertools import chain

Prereqs = Mapping[str, Sequence[str]]


def kahn_levels(prereqs: Prereqs) -> list[list[str]]:
    """Level 0: the nodes without prerequisites; level n: those whose prerequisites all lie in earlier
    levels. Each level sorted. Raises ``graphlib.CycleError`` when the graph has a cycle.

    Plain Kahn with counters rather than ``graphlib``: ``graphlib.prepare`` searches the whole graph for
    a cycle before sorting, a second pass the plan stage does not need (a cycle shows as nodes left
    unplaced, and ``cycles`` names them), and its per-node bookkeeping costs about 5x this at 100,000
    phases. The error's second argument lists the unplaced nodes (those on a cycle or after one).
    """
    waiting: dict[str, int] = {}
    dependents: dict[str, list[str]] = {}
    for node, deps in prereqs.items():
        waiting[node] = waiting.get(node, 0) + len(deps)
        for dep in deps:
            dependents.setdefault(dep, []).append(node)
            waiting.setdefault(dep, 0)
    levels: list[list[str]] = []
    level = sorted(node for node, count in waiting.items() if count == 0)
    placed = 0
    while level:
        levels.append(level)
        placed += len(level)
        ready: list[str] = []
        for node in level:
            for dependent in dependents.get(node, ()):
                waiting[dependent] -= 1
                if not waiting[dependent]:
                    ready.append(dependent)
        level = sorted(ready)
    if placed < len(waiting):
        unplaced = sorted(node for node, count in waiting.items() if count)
        raise graphlib.CycleError("the graph has a cycle", unplaced)
    return levels


def cycles(prereqs: Prereqs) -> list[list[str]]:
    """One cycle per strongly connected component that has one, each written as the whole loop in
    dependency order starting and ending at its smallest node (``[a, b, c, a]``: a depends on b, b on c,
    c on a). It is the shortest loop through that node, so the output is deterministic and minimal."""
    found = [_shortest_loop(prereqs, component) for component in _components(prereqs)]
    return sorted(found)


def _components(prereqs: Prereqs) -> Iterable[set[str]]:
    """Strongly connected components with a cycle (more than one node, or a node that depends on itself).

    Tarjan's algorithm, iterative so that long dependency chains cannot hit the recursion limit.
    """
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    for root in sorted(prereqs):
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(prereqs[root]))]
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(prereqs[child])))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    if len(component) > 1 or node in prereqs[node]:
                        yield component


def _shortest_loop(prereqs: Prereqs, component: set[str]) -> list[str]:
    start = min(component)
    parent: dict[str, str] = {}
    queue = [start]
    for node in queue:  # breadth first: the list grows while it is walked
        for child in sorted(prereqs[node]):
            if child == start:
                loop = [node]
                while loop[-1] != start:
                    loop.append(parent[loop[-1]])
                return [*reversed(loop), start]
            if child in component and child not in parent:
                parent[child] = node
                queue.append(child)
    raise AssertionError(f"component without a loop through {start}")  # pragma: no cover


class Ancestry:
    """Answers "is A an ancestor of B" (B depends on A, directly or through others) for many pairs at once.

    A full transitive closure of a 100,000-node layered DAG does not fit in memory (a bit per pair is
    1.25 GB), and one walk per query is quadratic. So: pairs are first settled by levels (an ancestor
    lies on a strictly lower level) and direct edges, which decides most real queries at no cost. Then a
    walk up from B that never goes below A's level, given up after ``BUDGET`` nodes: cheap for the usual
    pairs on nearby levels. The rest are answered with ancestor sets restricted to the queried
    ancestors, as Python ints used as bitsets, propagated once in topological order per chunk of
    ``CHUNK`` candidates.
    """

    CHUNK = 4096
    BUDGET = 256

    def __init__(self, prereqs: Prereqs, levels: Sequence[Sequence[str]]) -> None:
        self._prereqs = prereqs
        self._order = list(chain.from_iterable(levels))
        self._position = {node: i for i, node in enumerate(self._order)}
        self._level = {node: depth for depth, level in enumerate(levels) for node in level}
        self._level_start: list[int] = []
        start = 0
        for level in levels:
            self._level_start.append(start)
            start += len(level)

    def level(self, node: str) -> int:
        return self._level[node]

    def ancestor_pairs(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """The ``(a, b)`` among ``pairs`` where ``a`` is an ancestor of ``b``."""
        level = self._level
        yes: set[tuple[str, str]] = set()
        open_pairs: list[tuple[str, str]] = []
        for a, b in pairs:
            if level[a] >= level[b]:
                continue
            found = self._walk(a, b)
            if found is None:
                open_pairs.append((a, b))
            elif found:
                yes.add((a, b))
        candidates = sorted({a for a, _ in open_pairs}, key=self._position.__getitem__)
        for begin in range(0, len(candidates), self.CHUNK):
            chunk = candidates[begin : begin + self.CHUNK]
            members = set(chunk)
            asked = [(a, b) for a, b in open_pairs if a in members]
            reach = self._reach(chunk, max(level[b] for _, b in asked))
            bit = {a: 1 << j for j, a in enumerate(chunk)}
            yes.update((a, b) for a, b in asked if reach.get(b, 0) & bit[a])
        return yes

    def _walk(self, a: str, b: str) -> bool | None:
        """Whether ``a`` is an ancestor of ``b``, by a walk up from ``b`` above ``a``'s level; None when
        the walk would visit more than ``BUDGET`` nodes."""
        level, prereqs, floor = self._level, self._prereqs, self._level[a]
        stack, seen = [b], {b}
        while stack:
            for parent in prereqs[stack.pop()]:
                if parent == a:
                    return True
                if level[parent] > floor and parent not in seen:
                    if len(seen) > self.BUDGET:
                        return None
                    seen.add(parent)
                    stack.append(parent)
        return False

    def _reach(self, chunk: list[str], last_level: int) -> dict[str, int]:
        """For every node up to ``last_level``: the bitset of the ``chunk`` nodes it has as ancestors."""
        own = {a: 1 << j for j, a in enumerate(chunk)}
        reach: dict[str, int] = {}
        first = self._level_start[self._level[chunk[0]]]
        end = self._level_start[last_level + 1] if last_level + 1 < len(self._level_start) else len(self._order)
        prereqs = self._prereqs
        for node in self._order[first:end]:
            bits = 0
            for parent in prereqs[node]:
                bits |= reach.get(parent, 0) | own.get(parent, 0)
            if bits:
                reach[node] = bits
        return reach


def prerequisites_of(edges: Mapping[str, Iterable[str]], ids: Iterable[str]) -> set[str]:
    """Every phase that some phase of ``ids`` depends on, directly or through others.

    The ids themselves are included only when one of them is a prerequisite of another. ``edges`` maps
    a phase to its prerequisites (phases without any may be absent), as in a DagSnapshot.
    """
    found: set[str] = set()
    stack = list(ids)
    while stack:
        for prereq in edges.get(stack.pop(), ()):
            if prereq not in found:
                found.add(prereq)
                stack.append(prereq)
    return found
