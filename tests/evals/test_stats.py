"""Wilson intervals, percentiles and calibration error: the numbers every eval table prints."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.evals.stats import (
    Rate,
    expected_calibration_error,
    percentile,
    reliability,
    wilson,
)


@given(
    st.integers(min_value=1, max_value=5000).flatmap(
        lambda n: st.tuples(st.integers(0, n), st.just(n))
    )
)
def test_the_wilson_interval_lies_in_0_1_and_holds_the_observed_rate(case):
    hits, total = case
    low, high = wilson(hits, total)
    assert 0.0 <= low <= hits / total <= high <= 1.0


@given(st.integers(min_value=0, max_value=50), st.integers(min_value=2, max_value=20))
def test_more_observations_of_the_same_rate_narrow_the_interval(hits, factor):
    total = 50
    low, high = wilson(hits, total)
    low_more, high_more = wilson(hits * factor, total * factor)
    assert high_more - low_more < high - low


def test_the_wilson_interval_matches_the_textbook_values():
    # 0 of 10: upper bound 0.2775; 8 of 10: 0.490-0.943 (Wilson 1927 / Newcombe 1998).
    assert wilson(0, 10) == pytest.approx((0.0, 0.2775), abs=1e-4)
    assert wilson(8, 10) == pytest.approx((0.4902, 0.9433), abs=1e-4)


def test_no_observations_say_nothing_and_impossible_counts_are_refused():
    assert wilson(0, 0) == (0.0, 1.0)
    assert str(Rate(0, 0)) == "—"
    with pytest.raises(ValueError, match="hits"):
        wilson(11, 10)


def test_a_rate_prints_its_interval_and_counts():
    assert str(Rate(9, 10)) == "90.0% [60%–98%] (9/10)"


def test_percentiles_interpolate():
    assert percentile([], 50) == 0.0
    assert percentile([3.0, 1.0, 2.0], 50) == 2.0
    assert percentile([0.0, 10.0], 95) == pytest.approx(9.5)


def test_a_perfectly_calibrated_model_has_no_calibration_error():
    confidences = [0.95] * 20 + [0.55] * 20
    correct = [True] * 19 + [False] + [True] * 11 + [False] * 9
    bins = reliability(confidences, correct)
    assert [b.count for b in bins if b.count] == [20, 20]
    assert expected_calibration_error(bins) == pytest.approx(0.0, abs=1e-9)


def test_an_overconfident_model_has_a_calibration_error():
    bins = reliability([0.9] * 10, [True] * 5 + [False] * 5)
    assert expected_calibration_error(bins) == pytest.approx(0.4)
    assert expected_calibration_error([]) == 0.0
    with pytest.raises(ValueError, match="equal length"):
        reliability([0.5], [])
