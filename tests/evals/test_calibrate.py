"""Thresholds derived from the dev split, written where app/config.py reads them."""

from __future__ import annotations

from app.config import DialogSettings
from app.evals.calibrate import MIN_EVIDENCE, derive, lowest_safe, write_thresholds
from app.evals.results import CaseResult


def answer(confidence: float, right: bool, split: str = "dev") -> CaseResult:
    detail = {"sku_right": right}
    return CaseResult(
        "vision",
        f"{confidence}-{right}-{id(detail)}",
        split,
        {},
        "",
        {},
        1.0,
        confidence=confidence,
        detail=detail,
    )


def test_the_card_threshold_is_the_lowest_confidence_with_few_enough_wrong_answers():
    pairs = [(0.9, True)] * 40 + [(0.6, True)] * 20 + [(0.55, False)] * 5
    assert lowest_safe(pairs, 0.01) == 0.6
    assert lowest_safe(pairs, 0.01, min_answers=100) is None


def test_derived_thresholds_come_from_dev_only_and_need_evidence():
    dev = [answer(0.95, True)] * 40 + [answer(0.7, True)] * MIN_EVIDENCE + [answer(0.6, False)] * 2
    dev += [answer(0.4, True)] * 20 + [answer(0.3, False)] * 15
    test = [answer(0.99, False, "test")] * 50  # would forbid every card if it were used

    derived = derive(dev + test, [], DialogSettings(high_confidence=0.8, low_confidence=0.5))

    assert derived.high_confidence == 0.7
    assert derived.low_confidence == 0.3


def test_a_few_weak_answers_do_not_become_cards_on_the_strength_of_many_strong_ones():
    """The second stage's dev answers of 2026-12-01: many verified cards at the top, three
    weak ones between 0.5 and 0.8 (its "one of these?" band), all right."""
    dev = [answer(0.99, True)] * 43 + [answer(0.73, True), answer(0.56, True), answer(0.53, True)]

    derived = derive(dev, [], DialogSettings(high_confidence=0.8, low_confidence=0.5))

    assert derived.high_confidence == 0.8
    assert "3 answers on dev between 0.53 and 0.8" in derived.evidence["high_confidence"]


def test_the_card_threshold_may_rise_on_the_evidence_of_the_band_alone():
    dev = [answer(0.95, True)] * MIN_EVIDENCE + [answer(0.85, False)] * 3

    derived = derive(dev, [], DialogSettings(high_confidence=0.8, low_confidence=0.5))

    assert derived.high_confidence == 0.95


def test_too_little_evidence_keeps_the_current_thresholds():
    derived = derive(
        [answer(0.9, True)] * (MIN_EVIDENCE - 1),
        [],
        DialogSettings(high_confidence=0.8, low_confidence=0.5),
    )

    assert (derived.high_confidence, derived.low_confidence) == (0.8, 0.5)
    assert "kept" in derived.evidence["high_confidence"]


def test_the_app_reads_written_thresholds_and_the_environment_still_wins(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    derived = derive([answer(0.9, True)] * 40, [], DialogSettings())
    write_thresholds(tmp_path / "data" / "thresholds.yaml", derived, "demo")

    assert DialogSettings().high_confidence == 0.9
    monkeypatch.setenv("KRAMAR_DIALOG_HIGH_CONFIDENCE", "0.95")
    assert DialogSettings().high_confidence == 0.95


def test_without_the_file_the_code_defaults_hold(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert DialogSettings().high_confidence == 0.8
