"""The graph integrity check of a DagSnapshot against its schema check, and how it scales.

Builds the pipeline snapshot of a layered DAG (the corpus' prerequisite rule: a few phases of the two
layers before) of 50,000 and 100,000 phases, then times, median of 5: the schema check of the plain data
(``uet_contracts.check``, what ``uet validate`` ran alone before), the integrity rules
(``integrity.snapshot_faults``) and each rule on its own. Prints the rules' cost as a ratio of the schema
check's and the ratio of the two sizes' times (about 2 when the rules are linear). Fails when the sound
snapshot gets a fault. ``--quick``: 5,000 and 10,000 phases, 3 runs.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime

import uet_contracts
from benchmarks.corpus import phase_id, prerequisites
from uet_contracts import DagSnapshot
from uet_engine.planning import graph, integrity
from uet_engine.planning.snapshot import derive_snapshot


def layered_snapshot(size: int) -> DagSnapshot:
    rng = random.Random(11)
    nodes = [phase_id(i) for i in range(size)]
    prereqs = {node: prerequisites(i, rng, layer_width=50, max_deps=3) for i, node in enumerate(nodes)}
    edges = {node: sorted(deps) for node, deps in sorted(prereqs.items()) if deps}
    levels = graph.kahn_levels(prereqs)
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    return derive_snapshot(
        "pipeline", "sha256:" + "0" * 64, sorted(nodes), edges, levels, dict.fromkeys(nodes, 1), moment
    )


def median_time(work: Callable[[], object], runs: int) -> float:
    """Median CPU time of this process (all of it is one thread's work): steadier than wall time on a
    shared machine."""
    times = []
    for _ in range(runs):
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    return statistics.median(times)


def main(quick: bool) -> int:
    small, large = (5_000, 10_000) if quick else (50_000, 100_000)
    runs = 3 if quick else 5
    measured: dict[int, tuple[float, float]] = {}
    for size in (small, large):
        snapshot = layered_snapshot(size)
        data = uet_contracts.to_dict(snapshot)
        faults = integrity.snapshot_faults(snapshot)
        if faults:
            print(f"bench integrity: the sound snapshot of {size} phases got {len(faults)} fault(s): {faults[0]}")
            return 1
        schema = median_time(lambda data=data: uet_contracts.check(data, DagSnapshot), runs)
        rules = median_time(lambda snapshot=snapshot: integrity.snapshot_faults(snapshot), runs)
        measured[size] = (schema, rules)
        edges = sum(len(deps) for deps in snapshot.edges.values())
        print(
            f"{size:>7,} phases, {edges:,} edges: schema check {schema * 1000:8.1f} ms, graph rules"
            f" {rules * 1000:8.1f} ms ({rules / schema:.2f}x the schema check)"
        )
        for name, rule in integrity.RULES.items():
            alone = median_time(
                lambda rule=rule, snapshot=snapshot: list(rule(integrity.SnapshotGraph(snapshot))), runs
            )
            print(f"    {name:<14} {alone * 1000:8.1f} ms")
    (schema_small, rules_small), (schema_large, rules_large) = measured[small], measured[large]
    print(
        f"{large:,} / {small:,} phases: schema check {schema_large / schema_small:.2f}x, graph rules"
        f" {rules_large / rules_small:.2f}x (2.00x is linear)"
    )
    return 0
