"""From a weekly chance to a horizon's: exchangeable weeks (analytics/horizon.py)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.features import FEATURES
from analytics.horizon import INDEPENDENT, any_within, fit_dispersion, weekly_chance, weeks_of_rows
from analytics.model import PriorModel, StrengthModel
from analytics.prior import prior_from_rows
from analytics.training import PERIODS, _Rows


def clustered_rows(n: int, dispersion: float, seed: int = 0, snapshots: int = 20, other_touch: float = 0.0):
    """Training rows (training.py's encoding) of `n` tie-snapshots whose weekly chance
    follows volume_long, each tie's real weekly rate drawn around it with concentration
    `dispersion` (infinity: every tie at its chance). A tie is in touch within 90 days when
    one of its weeks had personal two-way contact or, with chance `other_touch`, by mail
    both ways that was no answer (what the weeks do not count)."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, len(FEATURES)))
    volume = rng.gamma(2.0, 1.0, n)
    X[:, FEATURES.index("volume_long")] = volume
    p = 1 / (1 + np.exp(2.5 - 1.2 * volume))
    q = p if math.isinf(dispersion) else rng.beta(p * dispersion, (1 - p) * dispersion)
    k = rng.binomial(PERIODS, q)
    touched = (k > 0) | (rng.random(n) < other_touch)
    times = np.repeat(np.arange(float(snapshots)), n // snapshots + 1)[:n]
    rows = _Rows()
    for s in np.unique(times):
        sel = times == s
        rows.add(X[sel], k[sel] / PERIODS, float(s), np.flatnonzero(sel), touched=touched[sel])
    return rows.training_set(), X, touched, k, times


def test_independent_weeks_compound():
    p = np.array([0.0, 0.1, 0.5, 1.0])
    assert np.allclose(any_within(p, 13), 1 - (1 - p) ** 13)
    assert np.allclose(any_within(p, 0, 2.0), 0.0)


def test_weeks_that_go_together_give_a_lower_chance_over_the_horizon_and_keep_the_order():
    p = np.linspace(0.01, 0.99, 50)
    for phi in (0.5, 3.0, 30.0):
        chance = any_within(p, 13, phi)
        assert np.all(np.diff(chance) > 0)  # strictly rising: the order of ties never changes
        assert np.all(chance < 1 - (1 - p) ** 13)
        assert np.allclose(any_within(p, 1, phi), p)  # one week is the weekly chance itself
    assert np.all(any_within(p, 13, 0.5) < any_within(p, 13, 3.0))  # more clustering, lower
    assert np.allclose(any_within(p, 13, 1e7), 1 - (1 - p) ** 13, atol=1e-5)


def test_the_chance_over_the_horizon_is_what_a_beta_binomial_gives():
    """Against simulation: ties whose weekly rate is Beta(p phi, (1 - p) phi)."""
    rng = np.random.default_rng(1)
    for p, phi in ((0.3, 2.0), (0.6, 5.0), (0.05, 1.0)):
        q = rng.beta(p * phi, (1 - p) * phi, 200_000)
        seen = (rng.binomial(13, q) > 0).mean()
        assert abs(float(any_within([p], 13, phi)[0]) - seen) < 0.005


@settings(max_examples=60, deadline=None)
@given(
    st.floats(0.0, 1.0),
    st.integers(1, 20),
    st.one_of(st.just(INDEPENDENT), st.floats(0.06, 5000.0)),
)
def test_weekly_chance_undoes_the_horizon(p, weeks, phi):
    back = float(weekly_chance(any_within([p], weeks, phi), weeks, phi)[0])
    assert abs(float(any_within([back], weeks, phi)[0]) - float(any_within([p], weeks, phi)[0])) < 1e-9


def test_the_weeks_are_read_back_from_training_rows():
    rows = _Rows()
    X = np.zeros((4, len(FEATURES)))
    rows.add(X, np.array([0, 3, 13, 7]) / PERIODS, 1.0, np.arange(4))
    ts = rows.training_set()
    read = weeks_of_rows(ts.y, ts.weight)
    assert read is not None
    unit, weeks = read
    assert sorted(weeks[unit].tolist()) == [0, 3, 7, 13] and unit.sum() == 4
    # Rows that are not shares of the 13 weeks say nothing of them.
    assert weeks_of_rows(np.array([1, 0]), np.array([0.5, 0.5])) is None
    assert weeks_of_rows(np.array([1]), np.array([2.0])) is None
    assert weeks_of_rows(np.zeros(0, int), np.zeros(0)) is None


def _chance(X):
    return 1 / (1 + np.exp(2.5 - 1.2 * X[:, FEATURES.index("volume_long")]))


def test_the_dispersion_fitted_is_the_one_the_weeks_came_from():
    for phi in (1.0, 4.0):
        _, X, _, k, _ = clustered_rows(6000, phi, seed=2)
        fitted = fit_dispersion(_chance(X), k)
        assert phi / 1.3 < fitted < phi * 1.3
    _, X, _, k, _ = clustered_rows(6000, INDEPENDENT, seed=3)
    assert fit_dispersion(_chance(X), k) > 200  # independent weeks: far above any clustering seen


def test_a_few_units_stay_near_the_centre_they_are_pulled_to():
    _, X, _, k, _ = clustered_rows(15, 1.0, seed=4)
    assert 5.0 < fit_dispersion(_chance(X), k, centre=8.0) <= 8.0 * 1.01
    _, X, _, k, _ = clustered_rows(6000, 1.0, seed=4)
    assert fit_dispersion(_chance(X), k, centre=8.0) < 1.5  # many units outweigh the pull
    assert fit_dispersion([], [], centre=8.0) == 8.0
    assert fit_dispersion([], []) == INDEPENDENT


def test_a_users_model_learns_how_its_weeks_go_together_and_its_horizon_chance_is_calibrated():
    """Where the weeks of a tie go together, compounding the weekly chance overstates the
    90-day chance; the model's own horizon chance matches what happened, bin by bin."""
    ts, X, _, k, times = clustered_rows(12000, 2.0, seed=5)
    model = StrengthModel(use_prior=False).fit(ts.X, ts.y, sample_time=ts.time, sample_weight=ts.weight)
    assert 1.4 < model.dispersion_ < 2.9
    chance = model.horizon_proba(X, PERIODS)
    compounded = 1 - (1 - model.predict_proba(X)[:, 1]) ** PERIODS
    seen = k > 0
    newest = times >= 15
    for lo in (0.2, 0.4, 0.6, 0.8):
        sel = newest & (chance >= lo) & (chance < lo + 0.2)
        assert sel.sum() > 100
        assert abs(chance[sel].mean() - seen[sel].mean()) < 0.04
    high = newest & (chance >= 0.6)
    assert compounded[high].mean() - seen[high].mean() > 0.08  # what independence claimed
    # The order of ties is the weekly chance's.
    order = np.argsort(model.decision_function(X), kind="stable")
    assert np.all(np.diff(chance[order]) >= -1e-12)


def test_plain_rows_leave_the_weeks_independent():
    """0/1 rows without weights are not counts of weeks: nothing is read from them."""
    _, X, _, k, times = clustered_rows(4000, 1.0, seed=6)
    model = StrengthModel(use_prior=False).fit(X, (k > 6).astype(int), sample_time=times)
    assert model.dispersion_ == INDEPENDENT
    assert np.allclose(model.horizon_proba(X, 4), 1 - (1 - model.predict_proba(X)[:, 1]) ** 4)


def test_the_prior_carries_its_dispersion_and_a_user_without_snapshots_takes_it():
    ts, _, _, _, _ = clustered_rows(8000, 2.0, seed=7)
    spec = prior_from_rows(ts.X, ts.y, ts.weight, ts.time, {}, knots=0)
    assert 1.3 < spec["dispersion"] < 3.0
    assert PriorModel(spec).dispersion_ == spec["dispersion"]
    young = StrengthModel(prior=spec).fit(np.zeros((0, len(FEATURES))), np.zeros(0, int))
    assert young.dispersion_ == spec["dispersion"]
    # A prior fitted before the dispersion was read: independent weeks.
    old = {key: value for key, value in spec.items() if key != "dispersion"}
    assert PriorModel(old).dispersion_ == INDEPENDENT


@pytest.mark.parametrize("phi", [1.0, 6.0])
def test_a_users_fit_is_pulled_towards_the_priors(phi):
    ts, _, _, _, _ = clustered_rows(8000, 2.0, seed=8)
    spec = {**prior_from_rows(ts.X, ts.y, ts.weight, ts.time, {}, knots=0), "dispersion": phi}
    few, _, _, _, _ = clustered_rows(60, 2.0, seed=9, snapshots=4)
    model = StrengthModel(prior=spec).fit(few.X, few.y, sample_time=few.time, sample_weight=few.weight)
    assert abs(math.log(model.dispersion_ / phi)) < 0.5


def _bins_agree(chance, seen, edges, tolerance):
    for lo, hi in itertools.pairwise(edges):
        sel = (chance >= lo) & (chance < hi)
        assert sel.sum() > 200
        assert abs(chance[sel].mean() - seen[sel].mean()) < tolerance, (lo, chance[sel].mean(), seen[sel].mean())


def test_the_90_day_chance_of_touch_is_calibrated_on_what_the_newest_snapshots_saw():
    """Touch counts more than the weeks do (mail both ways that was no answer): the chance
    over 13 weeks runs low, the 90-day chance of touch matches, bin by bin."""
    ts, X, touched, _, times = clustered_rows(16000, 2.0, seed=10, other_touch=0.25)
    model = StrengthModel(use_prior=False).fit(
        ts.X, ts.y, sample_time=ts.time, sample_weight=ts.weight, touched=ts.touched
    )
    assert model.touch_recal_ is not None
    chance = model.touch_proba(X)
    newest = times >= 15
    _bins_agree(chance[newest], touched[newest], [0.45, 0.7, 0.9, 1.0], 0.05)
    low = newest & (chance < 0.7)
    assert touched[low].mean() - model.horizon_proba(X[low], PERIODS).mean() > 0.08  # what the weeks claimed
    order = np.argsort(model.decision_function(X), kind="stable")
    assert np.all(np.diff(chance[order]) >= -1e-12)  # the order of ties is kept
    # Without the 90 days' outcomes (and no prior): the chance over 13 weeks as it is.
    plain = StrengthModel(use_prior=False).fit(ts.X, ts.y, sample_time=ts.time, sample_weight=ts.weight)
    assert plain.touch_recal_ is None
    assert np.allclose(plain.touch_proba(X), plain.horizon_proba(X, PERIODS))


def test_touch_must_have_one_value_per_row():
    ts, _, _, _, _ = clustered_rows(400, 2.0, seed=11)
    with pytest.raises(ValueError, match="touched"):
        StrengthModel(use_prior=False).fit(
            ts.X, ts.y, sample_time=ts.time, sample_weight=ts.weight, touched=ts.touched[:-1]
        )


def test_the_prior_carries_its_touch_calibration_and_a_users_own_corrects_it():
    ts, _, _, _, _ = clustered_rows(16000, 2.0, seed=12, other_touch=0.25)
    spec = prior_from_rows(ts.X, ts.y, ts.weight, ts.time, {}, knots=0, touched=ts.touched)
    assert spec["touch"]["a"] > 0.3  # touch runs above the weeks' chance: the level goes up
    young = StrengthModel(prior=spec).fit(np.zeros((0, len(FEATURES))), np.zeros(0, int))
    assert young.touch_recal_ == (spec["touch"]["a"], spec["touch"]["b"])
    assert "touch" not in prior_from_rows(ts.X, ts.y, ts.weight, ts.time, {}, knots=0)
    # A user with a few snapshots of their own: near the prior's, not back at no correction.
    few, _, _, _, _ = clustered_rows(80, 2.0, seed=13, snapshots=4, other_touch=0.25)
    user = StrengthModel(prior=spec).fit(
        few.X, few.y, sample_time=few.time, sample_weight=few.weight, touched=few.touched
    )
    assert user.touch_recal_ is not None and abs(user.touch_recal_[0] - spec["touch"]["a"]) < 0.3


def test_training_rows_carry_the_90_days_touch_of_their_tie():
    """Each row's `touched` is two-way touch (features.two_way_between) in the 90 days after
    its snapshot, for the same tie; the young rows carry it too."""
    from analytics.features import two_way_between
    from analytics.frame import DAY, build_frame
    from analytics.training import TOUCH_DAYS, training_set, young_set
    from tests.support.analytics import T_END, small_world

    frame = build_frame(small_world(), T_END)
    rows = training_set(frame, T_END)
    assert rows.touched is not None and len(rows.touched) == len(rows.y)
    for s in np.unique(rows.time):
        at = rows.time == s
        expected = two_way_between(frame, s, s + TOUCH_DAYS * DAY)[rows.contact[at]]
        assert np.array_equal(rows.touched[at], expected)
    assert 0 < rows.touched.mean() < 1
    young = young_set(small_world(), T_END, max_snapshots=3)
    assert young.touched is not None and len(young.touched) == len(young.y)
