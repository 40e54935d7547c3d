"""Rhythm (cooling, dormant), reciprocity and the multiple-testing control, on small cases."""

from __future__ import annotations

import numpy as np

from analytics import Exchange
from analytics.frame import build_frame
from analytics.features import snapshot
from analytics.reciprocity import reciprocity
from analytics.rhythm import COOLING_QUIET_DAYS, COOLING_SILENCE, benjamini_hochberg, rhythm
from tests.support.analytics import DAY, T_END, conversation, regular


def test_benjamini_hochberg_step_up():
    p = np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, np.nan])
    # q = 0.05, m = 8: thresholds .00625, .0125, ...; the largest k with p_(k) <= q k/m is 2.
    assert benjamini_hochberg(p, 0.05).tolist() == [True, True] + [False] * 7
    assert not benjamini_hochberg(np.full(3, np.nan)).any()


def flags_for(exchanges):
    frame = build_frame(exchanges, T_END)
    snap = snapshot(frame, T_END)
    return frame, rhythm(frame, T_END, snap.present), reciprocity(frame, T_END, snap.present)


def test_cooling_needs_a_significant_drop_against_its_own_baseline():
    """Given a tie that went from every 4 days to every 40, then its rate dropped
    (rate_drop) but it is still in touch, so not cooling; given one that went from every 4
    days to silent for 85 days (21x its rhythm), then cooling; given a tie that was always
    every 40 days, or every 5, then neither (its rate did not change)."""
    ex = regular(1, every_days=4, start_days_ago=600, stop_days_ago=100)
    ex += regular(1, every_days=40, start_days_ago=99)
    ex += regular(2, every_days=40, start_days_ago=600)
    ex += regular(3, every_days=5, start_days_ago=600)
    ex += regular(4, every_days=4, start_days_ago=600, stop_days_ago=100) + conversation(4, T_END - 85 * DAY)
    frame, rh, _ = flags_for(ex)
    assert rh.rate_drop[frame.index_of(1)] and not rh.cooling[frame.index_of(1)]
    assert rh.rate_drop[frame.index_of(4)] and rh.cooling[frame.index_of(4)]
    for quiet in (2, 3):
        assert not rh.rate_drop[frame.index_of(quiet)] and not rh.cooling[frame.index_of(quiet)]


def test_cooling_needs_a_silence_long_against_the_ties_own_rhythm():
    """Given a tie every 20 days that has been silent for 100 days (5x its gap: under
    COOLING_SILENCE), then its rate dropped but it is not cooling; given a weekly tie silent
    for 45 days (over 8x its gap, but under COOLING_QUIET_DAYS), then not cooling either;
    the same tie silent for 65 days is."""
    ex = regular(1, every_days=20, start_days_ago=700, stop_days_ago=100)
    ex += regular(2, every_days=4, start_days_ago=600, stop_days_ago=45)
    ex += regular(3, every_days=4, start_days_ago=600, stop_days_ago=65)
    frame, rh, _ = flags_for(ex)
    one, two, three = (frame.index_of(p) for p in (1, 2, 3))
    assert rh.rate_drop[one] and 3 < rh.silence_ratio[one] < COOLING_SILENCE and not rh.cooling[one]
    assert rh.rate_drop[two] and rh.silence_ratio[two] > COOLING_SILENCE and not rh.cooling[two]
    assert rh.rate_drop[three] and rh.silence_days[three] >= COOLING_QUIET_DAYS and rh.cooling[three]


def test_dormant_after_a_strong_peak_only():
    ex = regular(1, every_days=3, start_days_ago=900, stop_days_ago=420)  # strong, then silent
    ex += regular(2, every_days=60, start_days_ago=900, stop_days_ago=420)  # never strong
    ex += regular(3, every_days=3, start_days_ago=900, stop_days_ago=200)  # silent, not long
    frame, rh, _ = flags_for(ex)
    assert rh.dormant[frame.index_of(1)] and rh.revival[frame.index_of(1)] > 0
    assert not rh.dormant[frame.index_of(2)] and not rh.dormant[frame.index_of(3)]


def test_small_counts_are_never_one_sided():
    """Three unanswered messages are not evidence of anything."""
    ex = [Exchange(T_END - d * DAY, "email", 0, (1,)) for d in (5, 20, 40)]
    ex += regular(2, every_days=7, start_days_ago=300)
    frame, _, rec = flags_for(ex)
    i = frame.index_of(1)
    assert not rec.one_sided_you[i] and not rec.one_sided_them[i]
    assert rec.balance[i] > 0  # but the balance leans the user's way


def test_a_user_who_always_initiates_is_judged_against_that_habit():
    """Given a user who writes most messages with everyone, then ties that follow the
    habit are not one-sided; only one far beyond it is."""
    ex = []
    for c in range(1, 9):
        ex += regular(c, every_days=6, start_days_ago=360, you_share=0.8, answered=0.6, seed=c)
    ex += [Exchange(T_END - d * DAY, "email", 0, (9,)) for d in range(2, 360, 4)]
    frame, _, rec = flags_for(ex)
    assert not any(rec.one_sided_you[frame.index_of(c)] for c in range(1, 9))
    assert rec.one_sided_you[frame.index_of(9)]
    assert all(rec.habit[frame.index_of(c)] > 0.55 for c in range(1, 9))
