"""Issue 15's signals and the model's recalibration, on small hand-made histories."""

from __future__ import annotations

import re

import numpy as np
import pytest

from analytics import Exchange
from analytics.explain import facts, paced_words, sentence, silence_words
from analytics.features import F, snapshot
from analytics.frame import DAY, build_frame
from analytics.introductions import introductions
from analytics.logistic import _logit, recalibration
from analytics.pace import KEPT_SILENCE, kept_rate, sustained_rate, sustained_window
from tests.support.analytics import T_END, regular


def test_a_tie_keeping_its_pace_is_not_capped_and_a_silent_one_is():
    # Given a tie with a conversation every 7 days for a year, and a young one that had one
    # every 2 days and then fell silent for 20 (ten of its beats; its age limits every
    # window of the sustained rate, so only the silence can hold it down)
    steady = regular(1, every_days=7, start_days_ago=365, seed=1)
    silent = regular(2, every_days=2, start_days_ago=40, stop_days_ago=20, seed=1)
    frame = build_frame(steady + silent, T_END)
    # When the snapshot is taken
    x = snapshot(frame, T_END).X
    a, b = frame.index_of(1), frame.index_of(2)
    # Then the steady tie's kept pace is its sustained pace, and the silent one is held to
    # three events over its silence
    assert x[a, F["two_way_kept"]] == x[a, F["two_way_sustained"]]
    silence = (T_END - max(e.at for e in silent)) / DAY
    assert np.expm1(x[b, F["two_way_kept"]]) <= KEPT_SILENCE * 30.0 / silence + 1e-9
    assert x[b, F["two_way_kept"]] < x[b, F["two_way_sustained"]]


def test_kept_rate_never_falls_when_an_event_is_added():
    # Given random events of five contacts, when one more event is added anywhere before as_of
    rng = np.random.default_rng(4)
    for _ in range(200):
        n = int(rng.integers(1, 30))
        t, c = T_END - rng.uniform(0, 400, n) * DAY, rng.integers(0, 5, n)
        sustained = rng.uniform(0, 5, 5)
        more = rng.uniform(0, 2, 5)  # an added event can only raise the sustained rate
        extra_t, extra_c = T_END - rng.uniform(0, 400) * DAY, int(rng.integers(0, 5))
        before = kept_rate(sustained, t, c, T_END, 5)
        after = kept_rate(sustained + more, np.r_[t, extra_t], np.r_[c, extra_c], T_END, 5)
        # Then no contact's kept rate falls
        assert np.all(after >= before - 1e-12)


def test_introductions_given_and_received():
    # Given the user writing to 1 and 2 apart, then to both together (an introduction the
    # user gave), and contact 3 writing to the user and a new person 4 (one received from 3)
    day = 86400.0
    t0 = T_END - 100 * day
    ex = [
        Exchange(t0, "email", 0, (1,)),
        Exchange(t0 + day, "email", 0, (2,)),
        Exchange(t0 + 2 * day, "email", 0, (1, 2)),
        Exchange(t0 + 3 * day, "email", 3, (0,)),
        Exchange(t0 + 4 * day, "email", 3, (0, 4)),
        Exchange(t0 + 5 * day, "email", 0, (1, 2)),  # they have met by now: no new one
    ]
    frame = build_frame(ex, T_END)
    # When counted
    given, received = introductions(frame, T_END)
    i = {p: frame.index_of(p) for p in (1, 2, 3, 4)}
    # Then 1 and 2 each got one introduction from the user, and 3 gave the user one
    assert np.expm1(given[i[1]]) == 1 and np.expm1(given[i[2]]) == 1
    assert np.expm1(received[i[3]]) == 1
    assert given[i[3]] == 0 and received[i[1]] == 0 and received[i[4]] == 0
    # And before the introduction happened, nothing is counted
    g0, r0 = introductions(build_frame(ex, t0 + 2 * day), t0 + 2 * day)
    assert not g0.any() and not r0.any()


def test_silence_in_words():
    # Given silence ratios, then only a silence of at least twice the usual gap is news
    assert silence_words(3.44, "Ana") == "Quiet for 3.4x your usual gap with Ana"
    assert silence_words(12.2) == "Quiet for 12x your usual gap with them"
    assert silence_words(1.4) is None and silence_words(100.0) is None


def test_recalibration_corrects_drift_and_keeps_the_order():
    # Given a model whose probabilities are twice the observed rate on the newest rows
    rng = np.random.default_rng(2)
    p = rng.uniform(0.02, 0.4, 4000)
    y = (rng.uniform(size=4000) < p / 2).astype(int)
    # When recalibrated
    fit = recalibration(p, y, np.ones(len(y)))
    assert fit is not None
    a, b = fit
    q = 1 / (1 + np.exp(-(a + b * _logit(p))))
    # Then the mean prediction meets the observed rate, and the order of rows is unchanged
    assert abs(q.mean() - y.mean()) < 0.01 < abs(p.mean() - y.mean())
    assert b > 0 and np.array_equal(np.argsort(q, kind="stable"), np.argsort(p, kind="stable"))


def test_steady_rates_binomial_tests_equal_scipy_stats_value_for_value():
    """pace.steady_rate's binomial tails skip rv_discrete's checks: they must still be
    scipy.stats.binom's cdf and sf exactly, inside and at the edges of the support."""
    from scipy.stats import binom

    from analytics.pace import _binom_cdf, _binom_sf

    rng = np.random.default_rng(5)
    n = rng.integers(0, 400, 20_000).astype(float)
    k = np.floor(n * rng.uniform(0, 1, n.size))
    k[::9] = n[::9]
    share = rng.uniform(0, 1, n.size)
    share[::7], share[::13] = 1.0, 0.0
    assert np.array_equal(_binom_cdf(k, n, share), binom.cdf(k, n, share))
    assert np.array_equal(_binom_sf(k - 1, n, share), binom.sf(k - 1, n, share))


def test_the_sustained_rate_is_said_by_the_window_it_rests_on():
    # Given a steady tie for two years, one silent for the last 14 months, and one of 20 days
    steady = regular(1, every_days=3, start_days_ago=900, seed=2)
    silent = regular(2, every_days=10, start_days_ago=900, stop_days_ago=425, seed=2)
    young = regular(3, every_days=4, start_days_ago=20, seed=2)
    frame = build_frame(steady + silent + young, T_END)
    x = snapshot(frame, T_END).X
    fx = facts(frame, T_END)
    said = {
        cid: sentence("two_way_sustained", frame.index_of(cid), x[frame.index_of(cid)], fx, {}) for cid in (1, 2, 3)
    }
    # Then each sentence counts the two-way exchanges of the window that holds the rate down
    assert re.fullmatch(r"\d+ two-way exchanges in the last 2 years, about (9|10|11) a month", said[1]), said[1]
    assert said[2] == "No two-way exchange in the last 12 months"
    assert re.fullmatch(r"[3-6] two-way exchanges in the last (19|20|21) days", said[3]), said[3]
    # and the window's count is the rate the model reads: (n + 1 + sqrt(n + 1/4)) / days
    for cid in (1, 2, 3):
        i = frame.index_of(cid)
        n, days = fx.paced_events[i], fx.paced_days[i]
        assert np.expm1(x[i, F["two_way_sustained"]]) == pytest.approx((n + 1 + np.sqrt(n + 0.25)) / days * 30)


def test_the_window_of_a_tie_first_seen_today_is_the_last_day():
    assert paced_words(0, 1.0) == "No two-way exchange in the last day"
    assert paced_words(1, 1.0) == "1 two-way exchange in the last day"
    assert paced_words(2, 45.0) == "2 two-way exchanges in the last 45 days"
    assert paced_words(40, 365.0) == "40 two-way exchanges in the last 12 months, about 3 a month"
    assert paced_words(5, 365.0) == "5 two-way exchanges in the last 12 months"  # under one a month: no rate


def test_the_window_is_the_lowest_bound_for_any_events():
    # Given random events of four ties, the window said in words holds the events it counts
    # and gives the rate the model reads
    rng = np.random.default_rng(11)
    for _ in range(200):
        n = int(rng.integers(0, 40))
        t, c = T_END - rng.uniform(0, 900, n) * DAY, rng.integers(0, 4, n)
        # each tie's first contact at or before its first event
        first = np.array([t[c == j].min() if (c == j).any() else T_END for j in range(4)]) - rng.uniform(0, 60, 4) * DAY
        rate = sustained_rate(t, c, T_END, first, 4)
        days, events = sustained_window(t, c, T_END, first, 4)
        assert np.allclose(rate, (events + 1 + np.sqrt(events + 0.25)) / days * 30)
        ago = (T_END - t) / DAY
        for j in range(4):
            assert events[j] == np.sum((c == j) & (ago < days[j] + 1e-6))
