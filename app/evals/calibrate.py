"""Confidence calibration: accuracy by confidence band, and the dialog thresholds derived from
the `dev` split (never from `test`), written to data/thresholds.yaml for app/config.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import yaml

from app.evals.stats import expected_calibration_error, reliability

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from app.config import DialogSettings
    from app.evals.results import CaseResult
    from app.evals.stats import Bin

CARD_MAX_WRONG = 0.01
"""A card names the wrong product at most this often (the issue's wrong-SKU target)."""
ASK_MIN_RIGHT = 0.5
"""'Is it one of these?' is worth asking when the right product is among the options at
least this often; below, a question or a person serves the customer better."""
TEXT_CARD_MIN_PRECISION = 0.95
"""A card from a text message is the product meant at least this often."""
MIN_EVIDENCE = 30
"""Answers a band needs before a threshold moves: with fewer, one wrong answer more or less
swings the rate by several points, and the threshold keeps its current value."""


@dataclass(frozen=True)
class Calibration:
    """Reliability of the confidence of one suite."""

    bins: list[Bin]
    ece: float
    points: int


def points(results: Sequence[CaseResult], split: str) -> list[tuple[float, bool]]:
    """(confidence, was the named SKU right) of every answer of `split` that named one."""
    return [
        (r.confidence, bool(r.detail.get("sku_right")))
        for r in results
        if r.confidence is not None and (split == "all" or r.split == split)
    ]


def calibration(results: Sequence[CaseResult], split: str, bins: int = 10) -> Calibration:
    pairs = points(results, split)
    # Text scores are not probabilities (fused ranks, 2-3 for exact names): squashed to [0, 1].
    top = max((c for c, _ in pairs), default=1.0)
    scale = 1.0 if top <= 1.0 else top
    bands = reliability([c / scale for c, _ in pairs], [ok for _, ok in pairs], bins)
    return Calibration(bands, expected_calibration_error(bands), len(pairs))


def lowest_safe(
    pairs: list[tuple[float, bool]], max_wrong: float, min_answers: int = MIN_EVIDENCE
) -> float | None:
    """The lowest confidence t such that, going down from the top, every band [t', 1] with
    t' >= t has at most `max_wrong` wrong answers, and [t, 1] holds at least `min_answers`;
    None when there is no such t."""
    best: float | None = None
    for t in sorted({c for c, _ in pairs}, reverse=True):
        above = [ok for c, ok in pairs if c >= t]
        if (len(above) - sum(above)) / len(above) > max_wrong:
            break
        if len(above) >= min_answers:
            best = t
    return best


def card_threshold(pairs: list[tuple[float, bool]], current: float) -> tuple[float, str | None]:
    """The photo card threshold from `pairs`, and why it was kept when it was.

    lowest_safe() judges the band [t, 1] as a whole, so a few weak answers below the current
    threshold ride on many strong ones above it (dev, 2026-12-01: 43 answers from 0.83 up, 3
    between 0.53 and 0.8, all right, and [0.53, 1] "had" 46 safe answers). Lowering the
    threshold turns the answers between the two into cards: it needs MIN_EVIDENCE of those
    answers of their own. Raising it (fewer cards) needs only lowest_safe's evidence.
    """
    found = lowest_safe(pairs, CARD_MAX_WRONG)
    if found is None:
        return current, f"kept: no band of >= {MIN_EVIDENCE} safe answers on dev"
    if found >= current:
        return found, None
    admitted = sum(1 for c, _ in pairs if found <= c < current)
    if admitted < MIN_EVIDENCE:
        return current, (
            f"kept: {admitted} answers on dev between {round(found, 3)} and {current} would "
            f"become cards, fewer than {MIN_EVIDENCE}"
        )
    return found, None


@dataclass(frozen=True)
class Derived:
    high_confidence: float
    low_confidence: float
    text_card_min_score: float | None
    evidence: dict[str, Any]


def derive(
    vision: Sequence[CaseResult], text: Sequence[CaseResult], current: DialogSettings
) -> Derived:
    """The photo card and "one of these?" thresholds and the text card score, from `dev`.

    high: the lowest confidence from which cards were wrong at most CARD_MAX_WRONG of the time;
    low: the lowest confidence (below high) such that in [low, high) the named product was the
    right one at least ASK_MIN_RIGHT of the time. Without MIN_EVIDENCE answers a threshold keeps
    its current value.
    """
    photo = points(vision, "dev")
    evidence: dict[str, Any] = {"photo_answers": len(photo)}
    high, kept = card_threshold(photo, current.high_confidence)
    if kept is not None:
        evidence["high_confidence"] = kept
    below = [(c, ok) for c, ok in photo if c < high]
    low: float | None = None
    for t in sorted({c for c, _ in below}, reverse=True):
        # The band [t, high) as a whole: asking pays off on average, however its top looks.
        band = [ok for c, ok in below if c >= t]
        if len(band) >= MIN_EVIDENCE and sum(band) / len(band) >= ASK_MIN_RIGHT:
            low = t
    if low is None:
        low = current.low_confidence
        evidence["low_confidence"] = f"kept: fewer than {MIN_EVIDENCE} answers below high on dev"
    evidence["photo_cards_wrong_at_high"] = sum(1 for c, ok in photo if c >= high and not ok)
    words = points(text, "dev")
    text_score = lowest_safe(words, 1 - TEXT_CARD_MIN_PRECISION)
    evidence["text_answers"] = len(words)
    return Derived(round(high, 3), round(min(low, high), 3), text_score, evidence)


def write_thresholds(path: Path, derived: Derived, dataset: str) -> None:
    """data/thresholds.yaml: read by app/config.py as the defaults of the dialog settings."""
    header = (
        "# Dialog thresholds derived by `kramar eval --write-thresholds` from the dev split of\n"
        f"# {dataset} on {datetime.now(UTC):%Y-%m-%d}. Read by app/config.py as the defaults of\n"
        "# KRAMAR_DIALOG_*; environment variables still override them. See evals/README.md.\n"
    )
    body: dict[str, Any] = {
        "dialog": {
            "high_confidence": derived.high_confidence,
            "low_confidence": derived.low_confidence,
        },
        "evidence": derived.evidence,
    }
    if derived.text_card_min_score is not None:
        # For the text card threshold of issue 12: the retrieval score of the top hit.
        body["dialog"]["text_card_min_score"] = round(derived.text_card_min_score, 4)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + yaml.safe_dump(body, sort_keys=False), encoding="utf-8")
