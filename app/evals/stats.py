"""Small statistics for eval reports: Wilson intervals, percentiles, calibration."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Rate:
    """`hits` of `total`, with its 95 % Wilson score interval."""

    hits: int
    total: int

    @property
    def value(self) -> float:
        return self.hits / self.total if self.total else 0.0

    @property
    def interval(self) -> tuple[float, float]:
        return wilson(self.hits, self.total)

    def __str__(self) -> str:
        if not self.total:
            return "—"
        low, high = self.interval
        return f"{self.value:.1%} [{low:.0%}–{high:.0%}] ({self.hits}/{self.total})"

    def as_json(self) -> dict[str, float | int]:
        low, high = self.interval
        return {"value": self.value, "low": low, "high": high, "hits": self.hits, "n": self.total}


def wilson(hits: int, total: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion; (0, 1) when there is no observation.

    Unlike the normal approximation it stays inside [0, 1] and is honest at 0 or n hits, which
    small eval slices often have.
    """
    if total <= 0:
        return 0.0, 1.0
    if not 0 <= hits <= total:
        raise ValueError(f"hits must be within 0..{total}, got {hits}")
    p = hits / total
    denominator = 1 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    # Exactly 0 / 1 at the ends, where rounding would leave a hair of 1e-19.
    low = 0.0 if hits == 0 else max(0.0, centre - half)
    high = 1.0 if hits == total else min(1.0, centre + half)
    return min(low, p), max(high, p)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Bin:
    """One band of a reliability diagram: confidences in [low, high)."""

    low: float
    high: float
    count: int
    accuracy: float
    confidence: float
    """Mean confidence of the answers in the band."""


def reliability(confidences: Sequence[float], correct: Sequence[bool], bins: int = 10) -> list[Bin]:
    """Answers grouped into `bins` equal confidence bands (the last one includes 1.0)."""
    if len(confidences) != len(correct):
        raise ValueError("confidences and correct must be of equal length")
    grouped: list[list[tuple[float, bool]]] = [[] for _ in range(bins)]
    for confidence, ok in zip(confidences, correct, strict=True):
        index = min(bins - 1, max(0, int(confidence * bins)))
        grouped[index].append((confidence, ok))
    result = []
    for i, members in enumerate(grouped):
        count = len(members)
        accuracy = sum(ok for _, ok in members) / count if count else 0.0
        mean = sum(c for c, _ in members) / count if count else 0.0
        result.append(Bin(i / bins, (i + 1) / bins, count, accuracy, mean))
    return result


def expected_calibration_error(bins: Sequence[Bin]) -> float:
    """ECE: Σ (n_b / N) · |accuracy_b − confidence_b| over the bands."""
    total = sum(b.count for b in bins)
    if not total:
        return 0.0
    return sum(b.count / total * abs(b.accuracy - b.confidence) for b in bins)
