"""The flag gate (analytics/flag_gate.py): a flag that cannot clear its bar is not shown,
and the silence a flag rests on, in words."""

from __future__ import annotations

import math

import pytest

from analytics import flag_gate, score_ties
from analytics.explain import flag_silence_words
from analytics.flag_gate import MIN_EXPECTED, MIN_FLAGGED, Evidence, shown
from tests.support.analytics import AS_OF, DAY, T_END, conversation, regular


def test_a_flag_whose_ratio_misses_its_bar_is_not_shown():
    """Given cooling measured at 0.586 against its bar of 0.5, then it is not shown; at
    0.438, it is."""
    assert not shown("cooling", {"cooling": Evidence(bar=0.5, estimate=0.586, low=0.34, high=0.95, flagged=181)})
    assert shown("cooling", {"cooling": Evidence(bar=0.5, estimate=0.438, low=0.23, high=0.79, flagged=160)})
    assert shown("cooling", {"cooling": Evidence(bar=0.5, estimate=0.5, low=0.3, high=0.7, flagged=160)})


def test_a_flag_measured_on_too_little_is_not_shown():
    """Given dormant measured on one flagged tie, or with fewer revivals expected than
    MIN_EXPECTED, or not measured at all, then it is not shown, whatever its ratio."""
    few = Evidence(bar=0.2, estimate=0.0, low=0.0, high=0.0, flagged=MIN_FLAGGED - 1, expected=10.0)
    thin = Evidence(bar=0.2, estimate=0.0, low=0.0, high=0.0, flagged=29, expected=MIN_EXPECTED - 3.7)
    nan = Evidence(bar=0.2, estimate=math.nan, low=math.nan, high=math.nan, flagged=100, expected=9.0)
    for evidence in (few, thin, nan):
        assert not shown("dormant", {"dormant": evidence})
    assert not shown("dormant", {})
    assert shown("dormant", {"dormant": Evidence(bar=0.2, estimate=0.1, low=0, high=0.4, flagged=80, expected=6.0)})


def test_one_sided_flags_make_no_claim_and_are_not_gated():
    assert shown("one_sided_you", {}) and shown("one_sided_them", {})


def test_the_shipped_measurements_clear_their_bars():
    """The figures the development backtest measured (re-measured by the slow Enron test)."""
    assert flag_gate.MEASURED["cooling"].bar == 0.5 and flag_gate.MEASURED["dormant"].bar == 0.2
    assert shown("cooling") and shown("dormant")


def history():
    """Tie 1 went from every 4 days to silent for 85 days; tie 2 is steady weekly."""
    ex = regular(1, every_days=4, start_days_ago=600, stop_days_ago=100) + conversation(1, T_END - 85 * DAY)
    ex += regular(2, every_days=7, start_days_ago=600)
    return ex


def test_score_ties_shows_cooling_with_the_silence_it_rests_on():
    """Given a tie flagged cooling, then its explanation says the silence the flag rests
    on, once (here in the suggestion's reason), and not a second, different ratio."""
    tie = {s.contact: s for s in score_ties(history(), AS_OF)}[1]
    assert "cooling" in tie.flags
    said = [line for line in tie.explanation if "no personal mail or meeting" in line.lower()]
    assert len(said) == 1 and said[0].startswith("Cooling: ")
    assert said[0].endswith("; no personal mail or meeting with them for 3 months, 21x your usual gap")
    assert not any(line.startswith("Quiet for ") for line in tie.explanation)


def test_score_ties_hides_a_gated_flag_and_does_not_act_on_it(monkeypatch):
    """Given the gate's measurement of cooling above its bar, then no tie carries the flag
    and none is suggested as cooling."""
    failed = Evidence(bar=0.5, estimate=0.66, low=0.48, high=0.84, flagged=524)
    monkeypatch.setitem(flag_gate.MEASURED, "cooling", failed)
    scores = score_ties(history(), AS_OF)
    assert all("cooling" not in s.flags for s in scores)
    assert all(not (s.suggestion or "").startswith("You used to be in touch") for s in scores)


@pytest.mark.parametrize(
    ("ratio", "days", "words"),
    [
        (12.3, 75.0, "No personal mail or meeting with them for 2 months, 12x your usual gap"),
        (8.6, 45.0, "No personal mail or meeting with them for 45 days, 8.6x your usual gap"),
        (1.2, 45.0, "No personal mail or meeting with them for 45 days"),
        (math.inf, 400.0, "No personal mail or meeting with them for 13 months"),
        (12.0, math.nan, None),
    ],
)
def test_flag_silence_words(ratio, days, words):
    assert flag_silence_words(ratio, days) == words
