"""The similarity and confidence rules pattern mining clusters by (those of the original pipeline design).

- Two executions are comparable only when their operation kinds are equal. Then
  ``similarity = 0.3 × Jaccard(file_types) + 0.3 × Jaccard(tools_used) + 0.4 × s``, where ``s`` is 1 when
  the input signatures are equal and 0.5 otherwise. Two empty sets are identical (Jaccard 1).
- An execution belongs to a cluster when its similarity to the cluster's leader is at least 0.75.
- ``confidence = 0.4 × success rate + 0.3 × min(n / 10, 1) + 0.3 × consistency``, where ``consistency``
  is how steady the members' times are: 1 minus their coefficient of variation (population standard
  deviation / mean), floored at 0; 1 for fewer than two executions or a mean of zero.

Plain functions of plain values, so the rules are tested on hand-computed examples.
"""

from __future__ import annotations

import math
from collections.abc import Sequence, Set
from typing import Final

THRESHOLD: Final = 0.75
FILE_TYPES_WEIGHT: Final = 0.3
TOOLS_WEIGHT: Final = 0.3
SIGNATURE_WEIGHT: Final = 0.4
OTHER_SIGNATURE: Final = 0.5


def jaccard(a: Set[str], b: Set[str]) -> float:
    """|a ∩ b| / |a ∪ b|; 1 for two empty sets."""
    union = len(a | b)
    return 1.0 if union == 0 else len(a & b) / union


def similarity(
    kind_a: str,
    types_a: Set[str],
    tools_a: Set[str],
    signature_a: str,
    kind_b: str,
    types_b: Set[str],
    tools_b: Set[str],
    signature_b: str,
) -> float:
    """How alike two executions are, 0 to 1; 0 when their operation kinds differ."""
    if kind_a != kind_b:
        return 0.0
    same = 1.0 if signature_a == signature_b else OTHER_SIGNATURE
    return (
        FILE_TYPES_WEIGHT * jaccard(types_a, types_b)
        + TOOLS_WEIGHT * jaccard(tools_a, tools_b)
        + SIGNATURE_WEIGHT * same
    )


def consistency(times: Sequence[float]) -> float:
    """1 minus the coefficient of variation of ``times``, floored at 0 (1 when it cannot be computed)."""
    if len(times) < 2:
        return 1.0
    mean = math.fsum(times) / len(times)
    if mean <= 0:
        return 1.0
    deviation = math.sqrt(math.fsum((t - mean) ** 2 for t in times) / len(times))  # statistics.pstdev, in floats
    return max(0.0, 1.0 - deviation / mean)


def confidence(success_rate: float, occurrences: int, steadiness: float) -> float:
    """0.4 × success rate + 0.3 × min(occurrences / 10, 1) + 0.3 × consistency."""
    return 0.4 * success_rate + 0.3 * min(occurrences / 10, 1.0) + 0.3 * steadiness
