"""Schedule: the DagSnapshot of a checked phase set, its critical path, and ready-set iteration.

``build_snapshot`` derives the DagSnapshotV1 the scheduler hands on (validated by its own schema before
it is returned). ``ReadySet`` is what the execute stage drives: which phases may start now, given which
have finished or failed, and which are skipped because a prerequisite failed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal

import uet_contracts
from uet_contracts import DagSnapshot, Problem
from uet_engine.planning import graph
from uet_engine.planning.phase_set import PhaseSet, gc_paused

SCHEMA_VERSION = "1.0.0"

Weight = int | Decimal

_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)
"""What ``json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)`` uses, built once:
``dumps`` with options builds a new encoder per call, and ``source_hash`` calls it once per spec."""


def source_hash(phase_set: PhaseSet) -> str:
    """``sha256:`` over the canonical JSON of the specs in phase-id order (keys sorted, no whitespace).

    File names, file order, YAML or JSON, key order, quoting and comments do not change it; any change
    of a spec's content does (including ``2`` written as ``2.0``, which is a different JSON number).
    """
    digest = hashlib.sha256()
    encode = _CANONICAL.encode
    for phase_id in sorted(phase_set.specs):
        digest.update(encode(uet_contracts.to_dict(phase_set.specs[phase_id])).encode())
        digest.update(b"\n")
    return "sha256:" + digest.hexdigest()


def weight(estimate_hours: float | None) -> Weight:
    """A phase's critical-path weight: exact, so that equal sums compare equal (0.1 + 0.2 == 0.3)."""
    if estimate_hours is None:
        return 1
    if float(estimate_hours).is_integer():
        return int(estimate_hours)
    return Decimal(repr(estimate_hours))


def critical_path(
    edges: Mapping[str, Sequence[str]], levels: Sequence[Sequence[str]], weights: Mapping[str, Weight]
) -> list[str]:
    """The heaviest chain of dependent phases, first phase first; among equally heavy chains the one
    whose phase ids, read in order, sort first. ``levels`` are the Kahn levels of the DAG ``edges``.

    ``rest[v]`` is the weight of the heaviest chain starting at ``v`` (v, then a phase that depends on v,
    ...). It is computed from the last level back; the path then starts at the smallest heaviest start
    and always steps to the smallest dependent that keeps the weight, which makes it the
    lexicographically first of the heaviest chains.
    """
    dependents: dict[str, list[str]] = {}
    for node, prereqs in edges.items():
        for prereq in prereqs:
            dependents.setdefault(prereq, []).append(node)
    rest: dict[str, Weight] = {}
    for level in reversed(levels):
        for node in level:
            after = dependents.get(node)
            rest[node] = weights[node] + (max(rest[d] for d in after) if after else 0)
    if not rest:
        return []
    best = max(rest.values())
    node = min(n for n, w in rest.items() if w == best)
    path = [node]
    while node in dependents:
        remaining = rest[node] - weights[node]
        node = min(d for d in dependents[node] if rest[d] == remaining)
        path.append(node)
    return path


def build_snapshot(phase_set: PhaseSet, *, generated_at: datetime | None = None) -> DagSnapshot:
    """The DagSnapshotV1 of a checked phase set, validated by its schema (a failure there is a bug).

    ``generated_at`` defaults to now (UTC, whole seconds); a naive datetime is taken as UTC.
    """
    with gc_paused():
        weights = {phase: weight(spec.estimate_hours) for phase, spec in phase_set.specs.items()}
        snapshot = DagSnapshot(
            schema_version=SCHEMA_VERSION,
            generated_at=_timestamp(generated_at or datetime.now(UTC).replace(microsecond=0)),
            dag_type="pipeline",
            source_hash=source_hash(phase_set),
            nodes=sorted(phase_set.specs),
            edges={node: list(prereqs) for node, prereqs in phase_set.edges.items()},
            topo_levels=[list(level) for level in phase_set.topo_levels],
            critical_path=critical_path(phase_set.edges, phase_set.topo_levels, weights),
        )
        uet_contracts.check(uet_contracts.to_dict(snapshot), DagSnapshot)
    return snapshot


def _timestamp(moment: datetime) -> datetime:
    """``moment`` as loading the snapshot back would give it: aware (naive is UTC), with a fixed offset.

    The snapshot is checked as plain data but not structured back (at 100,000 phases that rebuilds
    every list for nothing), so the one field that round trip would change is normalised here.
    """
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return datetime.fromisoformat(moment.isoformat())


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


class ReadySet:
    """Ready-set iteration over a DAG: which phases may start, given which finished, failed or were skipped.

    A phase is ready when it has not started and all its prerequisites succeeded. When a phase fails,
    every phase that depends on it (directly or through others) is skipped, with the reason naming the
    prerequisite that failed or was skipped. ``done()`` once every phase succeeded, failed or was skipped.
    Misuse (starting a phase that is not ready, finishing one that is not running) raises ``ValueError``.
    """

    def __init__(self, edges: Mapping[str, Iterable[str]], nodes: Iterable[str]) -> None:
        self._nodes = set(nodes)
        self._prereqs: dict[str, set[str]] = {node: set() for node in self._nodes}
        self._dependents: dict[str, list[str]] = {node: [] for node in self._nodes}
        for node, prereqs in edges.items():
            if node not in self._nodes:
                continue
            for prereq in prereqs:
                if prereq not in self._nodes:
                    raise ValueError(f"{node} depends on {prereq}, which is not among the nodes")
                self._prereqs[node].add(prereq)
                self._dependents[prereq].append(node)
        loops = graph.cycles({node: sorted(prereqs) for node, prereqs in self._prereqs.items()})
        if loops:
            raise ValueError(f"dependency cycle: {' -> '.join(loops[0])}")
        self._waiting = {node: len(prereqs) for node, prereqs in self._prereqs.items()}
        self._ready = {node for node, count in self._waiting.items() if count == 0}
        self._running: set[str] = set()
        self.succeeded: set[str] = set()
        self.failed: set[str] = set()
        self.skipped: dict[str, str] = {}

    def ready(self) -> list[str]:
        """Phases not yet started whose prerequisites all succeeded, sorted."""
        return sorted(self._ready)

    def running(self) -> list[str]:
        """Phases started and not yet finished, sorted."""
        return sorted(self._running)

    def start(self, phase_id: str) -> None:
        if phase_id not in self._ready:
            raise ValueError(f"{phase_id} is not ready to start ({self._state(phase_id)})")
        self._ready.remove(phase_id)
        self._running.add(phase_id)

    def finish(self, phase_id: str, succeeded: bool) -> None:
        """Records the outcome of a running phase: its dependents become ready, or are skipped."""
        if phase_id not in self._running:
            raise ValueError(f"{phase_id} is not running ({self._state(phase_id)})")
        self._running.remove(phase_id)
        if succeeded:
            self._succeed(phase_id)
        else:
            self.failed.add(phase_id)
            self._skip_dependents(phase_id, f"prerequisite {phase_id} failed")

    def assume_succeeded(self, ids: Iterable[str]) -> None:
        """Marks phases as already succeeded without running them (resume, or prerequisites outside a
        ``--ws-id`` selection). Only phases that have not started may be marked."""
        for phase_id in sorted(set(ids)):
            if phase_id in self.succeeded:
                continue
            if phase_id not in self._nodes or phase_id in self._running or phase_id in self.failed:
                raise ValueError(f"{phase_id} cannot be marked succeeded ({self._state(phase_id)})")
            self.skipped.pop(phase_id, None)
            self._ready.discard(phase_id)
            self._succeed(phase_id)

    def done(self) -> bool:
        return len(self.succeeded) + len(self.failed) + len(self.skipped) == len(self._nodes)

    def _succeed(self, phase_id: str) -> None:
        self.succeeded.add(phase_id)
        for dependent in self._dependents[phase_id]:
            self._waiting[dependent] -= 1
            if self._waiting[dependent] == 0 and dependent not in self.skipped and dependent not in self.succeeded:
                self._ready.add(dependent)

    def _skip_dependents(self, phase_id: str, reason: str) -> None:
        queue = [(phase_id, reason)]
        for node, why in queue:  # breadth first: the list grows while it is walked
            for dependent in sorted(self._dependents[node]):
                if dependent in self.skipped or dependent in self.succeeded:
                    continue
                self.skipped[dependent] = why
                self._ready.discard(dependent)
                queue.append((dependent, f"prerequisite {dependent} was skipped"))

    def _state(self, phase_id: str) -> str:
        if phase_id not in self._nodes:
            return "unknown phase"
        if phase_id in self._running:
            return "running"
        for name, group in (("succeeded", self.succeeded), ("failed", self.failed), ("skipped", self.skipped)):
            if phase_id in group:
                return name
        if phase_id in self._ready:
            return "ready"
        waiting = sorted(p for p in self._prereqs[phase_id] if p not in self.succeeded)
        return "waiting for " + ", ".join(waiting)


def compare_snapshots(committed: DagSnapshot, current: DagSnapshot, *, file: str | None = None) -> list[Problem]:
    """What differs between a committed snapshot and the one the specs give now ([] when nothing).

    ``generated_at`` is ignored: a snapshot is up to date when everything derived from the specs is equal.
    Each problem is attributed to ``file`` (the committed snapshot) at the JSON path of what changed.
    """
    found: list[Problem] = []
    for name in ("schema_version", "dag_type"):
        old, new = getattr(committed, name), getattr(current, name)
        if old != new:
            found.append(Problem(f"{name} changed: snapshot has {old!r}, specs give {new!r}", f"$.{name}", file))
    old_nodes, new_nodes = set(committed.nodes), set(current.nodes)
    found += [
        Problem(f"added node {n}: in the specs, not in the snapshot", "$.nodes", file)
        for n in sorted(new_nodes - old_nodes)
    ]
    found += [
        Problem(f"removed node {n}: in the snapshot, no longer in the specs", "$.nodes", file)
        for n in sorted(old_nodes - new_nodes)
    ]
    old_edges, new_edges = _edge_set(committed), _edge_set(current)
    found += [
        Problem(f"added edge {a} -> {b}: {a} now depends on {b}", "$.edges", file)
        for a, b in sorted(new_edges - old_edges)
    ]
    found += [
        Problem(f"removed edge {a} -> {b}: {a} no longer depends on {b}", "$.edges", file)
        for a, b in sorted(old_edges - new_edges)
    ]
    if committed.topo_levels != current.topo_levels:
        level = next(
            (i for i, (a, b) in enumerate(zip(committed.topo_levels, current.topo_levels, strict=False)) if a != b),
            min(len(committed.topo_levels), len(current.topo_levels)),
        )
        old_level = committed.topo_levels[level] if level < len(committed.topo_levels) else []
        new_level = current.topo_levels[level] if level < len(current.topo_levels) else []
        message = f"topo_levels changed from level {level} on: snapshot has {old_level}, specs give {new_level}"
        found.append(Problem(message, f"$.topo_levels[{level}]", file))
    if committed.critical_path != current.critical_path:
        message = (
            f"critical_path changed: snapshot has {' -> '.join(committed.critical_path) or '(empty)'},"
            f" specs give {' -> '.join(current.critical_path) or '(empty)'}"
        )
        found.append(Problem(message, "$.critical_path", file))
    if committed.source_hash != current.source_hash:
        message = (
            f"source_hash changed (the specs changed): snapshot has {committed.source_hash},"
            f" specs give {current.source_hash}"
        )
        found.append(Problem(message, "$.source_hash", file))
    return found


def _edge_set(snapshot: DagSnapshot) -> set[tuple[str, str]]:
    return {(node, prereq) for node, prereqs in snapshot.edges.items() for prereq in prereqs}
