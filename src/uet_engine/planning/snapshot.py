"""The DagSnapshot of a checked phase set: its levels, its critical path, its source hash.

``build_snapshot`` derives the DagSnapshotV1 the scheduler hands on (validated by its own schema before
it is returned); ``compare_snapshots`` says how a committed snapshot differs from the current plan.
Walking the DAG during a run is execution's business (``uet_engine.execution.ready``).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal

import uet_contracts
from uet_contracts import DagSnapshot, Problem
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
            external_depends_on={
                p: list(s.external_depends_on) for p, s in phase_set.specs.items() if s.external_depends_on
            }
            or None,
            assumed_done=list(phase_set.assumed_done) or None,
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
    for name in ("external_depends_on", "assumed_done"):
        old, new = getattr(committed, name), getattr(current, name)
        if old != new:
            found.append(
                Problem(f"{name} changed: snapshot has {old or 'none'}, specs give {new or 'none'}", f"$.{name}", file)
            )
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
