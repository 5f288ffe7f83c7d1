"""The similarity and confidence rules on hand-computed examples."""

from __future__ import annotations

import pytest

from uet_engine.patterns.features import THRESHOLD, confidence, consistency, jaccard, similarity


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (set(), set(), 1.0),
        ({".py"}, {".py"}, 1.0),
        ({".py"}, {".py", ".md"}, 0.5),
        ({"sh", "python", "ruff"}, {"sh", "python"}, 2 / 3),
        ({".py"}, {".md"}, 0.0),
        ({".py"}, set(), 0.0),
    ],
)
def test_jaccard(a: set[str], b: set[str], expected: float) -> None:
    assert jaccard(a, b) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("types", "tools", "same_signature", "expected"),
    [
        # 0.3 × 1 + 0.3 × 1 + 0.4 × 1
        (({".py"}, {".py"}), ({"sh", "touch"}, {"sh", "touch"}), True, 1.0),
        # 0.3 × 1 + 0.3 × 1 + 0.4 × 0.5: different signatures still cluster when everything else agrees
        (({".py"}, {".py"}), ({"sh", "touch"}, {"sh", "touch"}), False, 0.8),
        # 0.3 × 0.5 + 0.3 × 1 + 0.4 × 1
        (({".py"}, {".py", ".md"}), ({"sh"}, {"sh"}), True, 0.85),
        # 0.3 × 0.5 + 0.3 × 1 + 0.4 × 0.5
        (({".py"}, {".py", ".md"}), ({"sh"}, {"sh"}), False, 0.65),
        # 0.3 × 1 + 0.3 × 2/3 + 0.4 × 0.5
        (({".py"}, {".py"}), ({"sh", "python", "ruff"}, {"sh", "python"}), False, 0.7),
        # 0.3 × 1 (two empty sets) + 0.3 × 0 + 0.4 × 1
        ((set(), set()), ({"sh", "a"}, {"python"}), True, 0.7),
    ],
)
def test_similarity(
    types: tuple[set[str], set[str]], tools: tuple[set[str], set[str]], same_signature: bool, expected: float
) -> None:
    other = "sha256:a" if same_signature else "sha256:b"
    assert similarity("EXEC-X", types[0], tools[0], "sha256:a", "EXEC-X", types[1], tools[1], other) == pytest.approx(
        expected
    )


def test_another_operation_kind_is_never_similar() -> None:
    assert similarity("EXEC-X", {".py"}, {"sh"}, "sha256:a", "EXEC-Y", {".py"}, {"sh"}, "sha256:a") == 0.0
    assert THRESHOLD == 0.75


@pytest.mark.parametrize(
    ("times", "expected"),
    [
        ([], 1.0),
        ([4.0], 1.0),
        ([1.0, 1.0, 1.0], 1.0),
        ([1.0, 3.0], 0.5),  # mean 2, population standard deviation 1
        ([1.0, 9.0], 0.2),  # mean 5, deviation 4
        ([0.0, 10.0], 0.0),  # mean 5, deviation 5
        ([0.0, 30.0], 0.0),  # mean 10, deviation 15: floored at 0
        ([0.0, 0.0], 1.0),  # a mean of zero
    ],
)
def test_consistency(times: list[float], expected: float) -> None:
    assert consistency(times) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("rate", "count", "steady", "expected"),
    [
        (1.0, 3, 0.5, 0.4 + 0.09 + 0.15),
        (0.9, 20, 1.0, 0.36 + 0.3 + 0.3),
        (1.0, 10, 1.0, 1.0),
        (0.0, 1, 0.0, 0.03),
    ],
)
def test_confidence(rate: float, count: int, steady: float, expected: float) -> None:
    assert confidence(rate, count, steady) == pytest.approx(expected)
