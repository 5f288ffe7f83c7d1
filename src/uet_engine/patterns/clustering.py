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
from functools import cached_property
from operator import itemgetter
from typing import NamedTuple

from uet_engine.patterns import features

# A log as mining reads it, a row of ``RunStore.execution_log_rows``: (id, operation kind, file types,
# tools, input signature, success 0/1, seconds). Ids are the order the store recorded the executions in,
# which is the order they ended (the coordinator records each task when it ends).
Row = tuple[int, str, str, str, str, int, float]
_SUCCESS = itemgetter(5)


class Shape(NamedTuple):
    """What the similarity rules compare: an execution's operation kind, file types, tools and signature."""

    operation_kind: str
    file_types: frozenset[str]
    tools_used: frozenset[str]
    signature: str


@dataclass
class Group:
    """The executions of one shape, as read (``rows`` in ascending id order), and what is derived from them.

    The rows are kept as the store returned them (one list append per log while reading, nothing else);
    the aggregates are computed once, when first asked for.
    """

    shape: Shape
    rows: list[Row] = field(default_factory=list)

    def add(self, log_id: int, success: bool, seconds: float) -> None:
        """Adds one execution, after those it has (for callers that do not read rows from the store)."""
        self.rows.append((log_id, self.shape.operation_kind, "", "", self.shape.signature, int(success), seconds))

    @cached_property
    def ids(self) -> list[int]:
        return [row[0] for row in self.rows]

    @cached_property
    def times(self) -> list[float]:
        return [row[6] for row in self.rows]

    @cached_property
    def successes(self) -> int:
        return sum(map(_SUCCESS, self.rows))

    @cached_property
    def first_success(self) -> int | None:
        """The id of the first execution that succeeded: the shape's place in the leader order."""
        return next((row[0] for row in self.rows if row[5]), None)

    @cached_property
    def last_success(self) -> int:
        """The id of the last execution that succeeded (0 when none did)."""
        return next((row[0] for row in reversed(self.rows) if row[5]), 0)


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
