"""Leader clustering: who leads, who joins, ties, failures that never succeeded, and determinism."""

from __future__ import annotations

import random

from uet_engine.patterns.clustering import Group, Shape, cluster


def group(kind: str, types: set[str], tools: set[str], signature: str, *outcomes: tuple[int, bool]) -> Group:
    found = Group(Shape(kind, frozenset(types), frozenset(tools), signature))
    for log_id, success in outcomes:
        found.add(log_id, success, 1.0)
    return found


def summary(groups: list[Group]) -> list[tuple[str, list[tuple[str, float]]]]:
    return [
        (c.leader.shape.signature, [(g.shape.signature, round(score, 6)) for g, score in c.members])
        for c in cluster(groups)
    ]


def test_leaders_and_members() -> None:
    a = group("EXEC-X", {".py"}, {"sh", "touch"}, "s1", (1, True), (4, True))
    b = group("EXEC-X", {".py"}, {"sh", "touch"}, "s2", (2, True))  # 0.3 + 0.3 + 0.2 = 0.8: joins a
    c = group("EXEC-X", {".md"}, {"sh", "touch"}, "s3", (3, True))  # 0 + 0.3 + 0.2 = 0.5: leads
    d = group("EXEC-Y", {".py"}, {"sh", "touch"}, "s1", (5, True))  # another kind: leads
    e = group("EXEC-X", {".py"}, {"sh", "touch"}, "s1x", (6, False), (7, False))  # never succeeded: joins a
    f = group("EXEC-Z", {".py"}, {"sh"}, "s9", (8, False))  # never succeeded, nothing similar: in no cluster
    assert summary([f, e, d, c, b, a]) == [
        ("s1", [("s1", 1.0), ("s2", 0.8), ("s1x", 0.8)]),
        ("s3", [("s3", 1.0)]),
        ("s1", [("s1", 1.0)]),
    ]


def test_a_shape_leads_from_its_first_success_not_its_first_failure() -> None:
    late = group("EXEC-X", {".py"}, {"sh"}, "late", (1, False), (9, True))
    early = group("EXEC-X", {".py"}, {"sh"}, "early", (5, True))
    assert [c.leader.shape.signature for c in cluster([late, early])] == ["early"]


def test_a_tie_goes_to_the_older_leader() -> None:
    first = group("EXEC-X", {".py"}, {"a"}, "s", (1, True))
    second = group("EXEC-X", {".py"}, {"b"}, "s", (2, True))  # 0.3 + 0 + 0.4 = 0.7: its own leader
    both = group("EXEC-X", {".py"}, {"a", "b"}, "s", (3, True))  # 0.3 + 0.15 + 0.4 = 0.85 to each
    assert summary([both, second, first]) == [("s", [("s", 1.0), ("s", 0.85)]), ("s", [("s", 1.0)])]


def test_the_same_groups_in_any_order_give_the_same_clusters() -> None:
    groups = [
        group("EXEC-X", {f".e{i % 3}"}, {"sh", f"t{i % 4}"}, f"s{i % 5}", (i, i % 7 != 0), (100 + i, True))
        for i in range(1, 40)
    ]
    expected = summary(groups)
    shuffled = list(groups)
    random.Random(7).shuffle(shuffled)
    assert summary(shuffled) == expected
