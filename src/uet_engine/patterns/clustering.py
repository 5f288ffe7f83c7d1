"""Leader clustering of execution shapes: deterministic, explainable, fast on many logs of few shapes.

Executions are first grouped by their exact *shape* (operation kind, file types, tools, input signature):
executions of one shape are identical to the rules (similarity 1), so the rules are applied to shapes,
not to pairs of logs. Then, in the order of each shape's first successful execution, a shape joins the
cluster whose *leader* it is most similar to (at least ``features.THRESHOLD``; ties go to the older
cluster), or else leads a new cluster. Only shapes that succeeded at least once can lead — a pattern is
a shape that works — and shapes that never succeeded join the cluster they are similar to afterwards,
so they count against its success rate. The same logs always give the same clusters and leaders; a
cluster is explained by its leader and the similarity of each member shape to it.

Cost: one pass over the logs, then shapes × leaders of the same operation kind similarity computations.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

from uet_engine.patterns import features

EXAMPLE_RUNS = 5


class Shape(NamedTuple):
    """What the similarity rules compare: an execution's operation kind, file types, tools and signature."""

    operation_kind: str
    file_types: frozenset[str]
    tools_used: frozenset[str]
    signature: str


@dataclass
class Group:
    """The executions of one shape: their log ids (ascending), times, outcomes, runs and time span."""

    shape: Shape
    ids: list[int] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    successes: int = 0
    first_success: int | None = None  # log id
    first_seen: tuple[float, str] = (float("inf"), "")  # (Julian day, timestamp text)
    last_seen: tuple[float, str] = (float("-inf"), "")
    last_success_day: float = float("-inf")
    runs: list[str] = field(default_factory=list)  # the first EXAMPLE_RUNS distinct run ids
    leader_task: tuple[str | None, str | None] = (None, None)  # (run_id, workstream_id) of first_success

    def add(
        self,
        log_id: int,
        day: float,
        stamp: str,
        success: bool,
        seconds: float,
        run_id: str | None,
        workstream_id: str | None,
    ) -> None:
        self.ids.append(log_id)
        self.times.append(seconds)
        if success:
            self.successes += 1
            if self.first_success is None:
                self.first_success = log_id
                self.leader_task = (run_id, workstream_id)
            self.last_success_day = max(self.last_success_day, day)
        if day < self.first_seen[0]:
            self.first_seen = (day, stamp)
        if day > self.last_seen[0]:
            self.last_seen = (day, stamp)
        if run_id is not None and len(self.runs) < EXAMPLE_RUNS and run_id not in self.runs:
            self.runs.append(run_id)


@dataclass
class Cluster:
    """A leader shape and the shapes that joined it, each with its similarity to the leader."""

    leader: Group
    members: list[tuple[Group, float]]

    @property
    def groups(self) -> list[Group]:
        return [group for group, _ in self.members]


def _similarity(a: Shape, b: Shape) -> float:
    return features.similarity(*a, *b)


def cluster(groups: Iterable[Group]) -> list[Cluster]:
    """The clusters of these shape groups, oldest leader first (see the module docstring for the rule)."""
    pending = list(groups)
    leaders: dict[str, list[Cluster]] = {}
    clusters: list[Cluster] = []

    def best(shape: Shape) -> tuple[Cluster | None, float]:
        found: Cluster | None = None
        score = 0.0
        for candidate in leaders.get(shape.operation_kind, ()):
            value = _similarity(shape, candidate.leader.shape)
            if value >= features.THRESHOLD and value > score:
                found, score = candidate, value
        return found, score

    succeeded = sorted((g for g in pending if g.first_success is not None), key=lambda g: g.first_success or 0)
    for group in succeeded:
        home, score = best(group.shape)
        if home is None:
            home = Cluster(group, [(group, 1.0)])
            leaders.setdefault(group.shape.operation_kind, []).append(home)
            clusters.append(home)
        else:
            home.members.append((group, score))
    for group in sorted((g for g in pending if g.first_success is None), key=lambda g: g.ids[0]):
        home, score = best(group.shape)
        if home is not None:
            home.members.append((group, score))
    return clusters
