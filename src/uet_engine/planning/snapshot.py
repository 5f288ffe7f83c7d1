"""The DagSnapshots of a checked phase set: their levels, their critical paths, their source hashes.

``build_snapshot`` derives the pipeline tier's DagSnapshotV1 the scheduler hands on (validated by its own
schema before it is returned), ``task_snapshot`` and ``build_module_tasks`` the task tier (the module tier
is ``planning.modules``'); ``compare_snapshots`` and ``compare_module_tasks`` say how a committed file
differs from the current plan.
Walking the DAG during a run is execution's business (``uet_engine.execution.ready``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal

import uet_contracts
from uet_contracts import DagSnapshot, DagType, ModuleTasks, PhaseSpec, Problem, TaskGraph
from uet_engine.planning import graph, tasks
from uet_engine.planning.loading import CANONICAL as CANONICAL
from uet_engine.planning.loading import canonical_json
from uet_engine.planning.phase_set import PhaseSet, gc_paused

SCHEMA_VERSION = "1.0.0"

Weight = int | Decimal


def source_hash(phase_set: PhaseSet) -> str:
    """``sha256:`` over the canonical JSON of the specs in phase-id order (keys sorted, no whitespace).

    File names, file order, YAML or JSON, key order, quoting and comments do not change it; any change
    of a spec's content does (including ``2`` written as ``2.0``, which is a different JSON number).
    Each spec's canonical JSON was made where its file was read (``loading.SpecRecord.canonical``).
    """
    digest = hashlib.sha256()
    record = phase_set.specs.record
    for phase_id in sorted(phase_set.specs):
        digest.update(record(phase_id).canonical)
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


def derive_snapshot(
    dag_type: DagType,
    digest: str,
    nodes: list[str],
    edges: dict[str, list[str]],
    levels: list[list[str]],
    weights: Mapping[str, Weight],
    generated_at: datetime | None,
    *,
    external_depends_on: dict[str, list[str]] | None = None,
    assumed_done: list[str] | None = None,
) -> DagSnapshot:
    """A DagSnapshot of any tier from its parts (``edges`` sorted, ``levels`` its Kahn levels), checked by
    its schema (a failure there is a bug). The pipeline tier also names what lies outside the set."""
    snapshot = DagSnapshot(
        schema_version=SCHEMA_VERSION,
        generated_at=_timestamp(generated_at or datetime.now(UTC).replace(microsecond=0)),
        dag_type=dag_type,
        source_hash=digest,
        nodes=nodes,
        edges=edges,
        topo_levels=levels,
        critical_path=critical_path(edges, levels, weights),
        external_depends_on=external_depends_on,
        assumed_done=assumed_done,
    )
    uet_contracts.check(uet_contracts.to_dict(snapshot), DagSnapshot)
    return snapshot


def build_snapshot(phase_set: PhaseSet, *, generated_at: datetime | None = None) -> DagSnapshot:
    """The DagSnapshotV1 of a checked phase set, validated by its schema (a failure there is a bug).

    ``generated_at`` defaults to now (UTC, whole seconds); a naive datetime is taken as UTC.
    """
    with gc_paused():
        records = [phase_set.specs.record(phase) for phase in phase_set.specs]
        weights = {r.phase_id: weight(r.estimate_hours) for r in records}
        return derive_snapshot(
            "pipeline",
            source_hash(phase_set),
            sorted(phase_set.specs),
            {node: list(prereqs) for node, prereqs in phase_set.edges.items()},
            [list(level) for level in phase_set.topo_levels],
            weights,
            generated_at,
            external_depends_on={r.phase_id: list(r.external_depends_on) for r in records if r.external_depends_on}
            or None,
            assumed_done=list(phase_set.assumed_done) or None,
        )


def spec_hash(spec: PhaseSpec) -> str:
    """``sha256:`` over one spec's canonical JSON: the source of its task-tier snapshot."""
    return "sha256:" + hashlib.sha256(canonical_json(spec)).hexdigest()


def task_snapshot(spec: PhaseSpec, *, generated_at: datetime | None = None) -> DagSnapshot:
    """The task-tier DagSnapshot of one checked spec: a node per step, each weighing 1."""
    built = tasks.step_graph(spec)
    levels = graph.kahn_levels(built.prereqs)
    return derive_snapshot(
        "task", spec_hash(spec), sorted(built.nodes), built.edges, levels, dict.fromkeys(built.nodes, 1), generated_at
    )


def build_module_tasks(phase_set: PhaseSet, *, generated_at: datetime | None = None) -> ModuleTasks:
    """The task tier of a checked phase set (a ModuleTasks): each phase's task graph and batches."""
    moment = _timestamp(generated_at or datetime.now(UTC).replace(microsecond=0))
    graphs = []
    for phase, spec in phase_set.specs.items():
        nodes = [tasks.step_node(step, i) for i, step in enumerate(spec.steps or [])]
        graphs.append(
            TaskGraph(
                workstream_id=spec.workstream_id,
                phase_id=phase,
                module_ids=phase_set.modules.get(phase) if phase_set.modules else None,
                snapshot=task_snapshot(spec, generated_at=moment),
                batches=[[nodes[i] for i in batch] for batch in tasks.batches(spec)],
            )
        )
    result = ModuleTasks(
        schema_version=SCHEMA_VERSION, generated_at=moment, source_hash=source_hash(phase_set), workstreams=graphs
    )
    uet_contracts.check(uet_contracts.to_dict(result), ModuleTasks)
    return result


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
    return found + _hash_changed(committed.source_hash, current.source_hash, "snapshot", file)


def _hash_changed(old: str, new: str, holder: str, file: str | None) -> list[Problem]:
    """The problem of a changed ``source_hash`` (what the specs give differs), or none."""
    if old == new:
        return []
    message = f"source_hash changed (the specs changed): {holder} has {old}, specs give {new}"
    return [Problem(message, "$.source_hash", file)]


def compare_module_tasks(committed: ModuleTasks, current: ModuleTasks, *, file: str | None = None) -> list[Problem]:
    """What differs between a committed task tier and the one the specs give now ([] when nothing).

    Workstreams are matched by phase; within one, the snapshots are compared as ``compare_snapshots`` does
    (each message names the workstream, each path points into its entry of the committed file).
    """
    found: list[Problem] = []
    if committed.schema_version != current.schema_version:
        old_version, new_version = committed.schema_version, current.schema_version
        message = f"schema_version changed: file has {old_version!r}, specs give {new_version!r}"
        found.append(Problem(message, "$.schema_version", file))
    old = {item.phase_id: (i, item) for i, item in enumerate(committed.workstreams)}
    new = {item.phase_id: item for item in current.workstreams}
    found += [
        Problem(f"added workstream {new[p].workstream_id} ({p}): in the specs, not in the file", "$.workstreams", file)
        for p in sorted(new.keys() - old.keys())
    ]
    for phase in sorted(old.keys() - new.keys()):
        i, item = old[phase]
        message = f"removed workstream {item.workstream_id} ({phase}): in the file, no longer in the specs"
        found.append(Problem(message, f"$.workstreams[{i}]", file))
    for phase in sorted(old.keys() & new.keys()):
        i, was = old[phase]
        now, at = new[phase], f"$.workstreams[{i}]"
        for name in ("workstream_id", "module_ids", "batches"):
            if getattr(was, name) != getattr(now, name):
                message = f"{phase}: {name} changed: file has {getattr(was, name)}, specs give {getattr(now, name)}"
                found.append(Problem(message, f"{at}.{name}", file))
        for problem in compare_snapshots(was.snapshot, now.snapshot, file=file):
            path = f"{at}.snapshot{problem.json_path[1:]}"
            found.append(Problem(f"{now.workstream_id}: {problem.message}", path, file))
    return found + _hash_changed(committed.source_hash, current.source_hash, "file", file)


def _edge_set(snapshot: DagSnapshot) -> set[tuple[str, str]]:
    return {(node, prereq) for node, prereqs in snapshot.edges.items() for prereq in prereqs}
