"""The strength model: scikit-learn rules, sign constraints, calibration, the prior."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.base import clone

from analytics.features import FEATURES, MODEL_FEATURES, SIGNS
from analytics.frame import build_frame
from analytics.logistic import young_age, young_recalibration
from analytics.model import PRIOR_PATH, PriorModel, SignedLogisticRegression, StrengthModel
from analytics.training import HORIZON, training_set
from tests.support.analytics import T_END, small_world


@pytest.fixture(scope="module")
def rows():
    frame = build_frame(small_world(), T_END)
    return training_set(frame, T_END)


def test_training_rows_are_labelled_from_the_past_only(rows):
    """Every snapshot's 13-week label window ends at or before as_of; each (tie, snapshot)
    is a weighted positive and negative whose weights add up to one."""
    assert len(rows.y) > 0 and set(np.unique(rows.y)) == {0, 1}
    assert rows.time.max() + HORIZON <= T_END
    totals = {}
    for c, t, w in zip(rows.contact, rows.time, rows.weight):
        totals[(c, t)] = totals.get((c, t), 0.0) + w
    assert np.allclose(list(totals.values()), 1.0)


def test_follows_scikit_learn_rules(rows):
    model = StrengthModel(C=0.5)
    assert model.get_params()["C"] == 0.5 and clone(model).get_params() == model.get_params()
    assert not hasattr(model, "n_rows_")
    assert model.fit(rows.X, rows.y, sample_time=rows.time, sample_weight=rows.weight) is model
    learned = [a for a in vars(model) if a.endswith("_") and not a.startswith("_")]
    assert {"pipeline_", "recal_", "weight_", "n_rows_", "classes_"} <= set(learned)
    p = model.predict_proba(rows.X)
    assert p.shape == (len(rows.X), 2) and np.allclose(p.sum(axis=1), 1)
    assert set(np.unique(model.predict(rows.X))) <= {0, 1}
    assert model.contributions(rows.X).shape == rows.X.shape


def test_coefficients_keep_their_signs(rows):
    model = StrengthModel().fit(rows.X, rows.y, sample_time=rows.time, sample_weight=rows.weight)
    coef = model.pipeline_[-1].coef_[0]
    signs = np.array([SIGNS[n] for n in MODEL_FEATURES])
    assert np.all(coef[signs > 0] >= 0) and np.all(coef[signs < 0] <= 0)


def test_signed_regression_matches_plain_when_unconstrained():
    """Without bounds it is ordinary L2 logistic regression."""
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 3))
    y = (X @ [1.0, -2.0, 0.5] + rng.normal(size=400) > 0).astype(int)
    ours = SignedLogisticRegression(C=1.0).fit(X, y)
    ref = LogisticRegression(C=1.0).fit(X, y)
    assert np.allclose(ours.coef_, ref.coef_, atol=1e-3)
    bounded = SignedLogisticRegression(C=1.0, signs=[0, 1, 0]).fit(X, y)
    assert bounded.coef_[0, 1] >= 0


def synthetic(n: int, seed: int = 0):
    """Rows whose label follows volume_long; 20 snapshot times."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, len(FEATURES)))
    X[:, FEATURES.index("volume_long")] = rng.gamma(2.0, 1.0, n)
    y = (rng.random(n) < 1 / (1 + np.exp(3 - 1.5 * X[:, FEATURES.index("volume_long")]))).astype(int)
    return X, y, np.repeat(np.arange(20.0), n // 20 + 1)[:n]


def test_calibrated_on_the_newest_snapshots_without_flattening_the_order():
    """Calibration (logit p = a + b score, fitted on the newest quarter of snapshots) keeps
    predicted ~ observed bin by bin, and strength rises strictly with the model's score: no
    two different scores share a probability (a step-wise curve would tie them)."""
    X, y, t = synthetic(8000)
    model = StrengthModel(use_prior=False).fit(X, y, sample_time=t)
    assert model.recal_ is not None and model.recal_[1] > 0
    p = model.predict_proba(X)[:, 1]
    for lo in (0.1, 0.3, 0.5, 0.7):  # calibrated: predicted ~ observed, bin by bin
        sel = (p >= lo) & (p < lo + 0.2)
        assert abs(p[sel].mean() - y[sel].mean()) < 0.06
    z = model.decision_function(X)
    order = np.argsort(z, kind="stable")
    distinct = np.diff(z[order]) > 1e-9
    assert np.all(np.diff(p[order])[distinct] > 0)


def test_time_split_calibrates_on_the_newest_snapshots():
    """Shuffling rows changes nothing: the split follows sample_time, never row order."""
    X, y, t = synthetic(4000, seed=1)
    order = np.random.default_rng(2).permutation(len(y))
    a = StrengthModel(use_prior=False).fit(X, y, sample_time=t).predict_proba(X)
    b = StrengthModel(use_prior=False).fit(X[order], y[order], sample_time=t[order]).predict_proba(X)
    assert np.allclose(a, b, atol=1e-6)


def test_prior_is_shipped_json_fitted_on_enron():
    spec = json.loads(PRIOR_PATH.read_text())
    assert spec["meta"]["source"] == "enron-igraph" and spec["meta"]["rows"] > 1000
    # with its calibration for mailboxes too young for a snapshot of their own
    assert spec["young"]["b"] > 0 and spec["meta"]["young_rows"] > 1000
    # with how its weeks go together and its 90-day chance of touch (analytics/horizon.py)
    assert 0 < spec["dispersion"] < 1000 and spec["touch"]["b"] > 0 and spec["meta"]["horizon_units"] > 1000
    assert PriorModel(spec).dispersion_ == spec["dispersion"]
    prior = PriorModel.load()
    assert set(prior.features) <= set(FEATURES)
    assert np.all(np.diff(prior.cal_y_) >= 0)  # monotone calibration curve


def test_prior_carries_a_user_without_history():
    model = StrengthModel().fit(np.zeros((0, len(FEATURES))), np.zeros(0, int))
    assert model.weight_ == 0.0 and model.prior_ is not None
    X = np.zeros((2, len(FEATURES)))
    X[1, FEATURES.index("volume_long")] = 3.0
    p = model.predict_proba(X)[:, 1]
    assert p[1] > p[0]


def _spread_rows(prior: PriorModel, n: int = 300, seed: int = 4) -> np.ndarray:
    """Rows whose model features run over and past the prior's knots."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, len(FEATURES)))
    for j, knots in zip(prior.cols_, prior.knots_ or [[0.0, 5.0]] * len(prior.cols_)):
        X[:, j] = rng.uniform(min(knots) - 0.5, max(knots) + 0.5, n)
    return X


def test_shipped_prior_is_monotone_the_way_each_sign_says():
    """Given the shipped (additive) prior, when one feature rises and the rest stay, then the
    score moves only the way features.SIGNS allows: more contact never lowers it."""
    prior = PriorModel.load()
    assert prior is not None and prior.knots_ is not None
    X = _spread_rows(prior)
    for j, name in zip(prior.cols_, prior.features):
        grid = np.linspace(X[:, j].min(), X[:, j].max(), 25)
        for row in X[:10]:
            rows = np.repeat(row[None, :], len(grid), axis=0)
            rows[:, j] = grid
            step = np.diff(prior.decision(rows)) * SIGNS[name]
            assert np.all(step >= -1e-12), name


def test_contributions_add_up_to_the_score():
    """Given the additive prior and a user's model blended with it (at the fixed weight
    n / (n + prior_rows), so both take part), then each row's contributions sum to its score
    less one constant: explanations name what the score is made of, not an approximation."""
    prior = PriorModel.load()
    X = _spread_rows(prior)
    gap = prior.decision(X) - prior.contributions(X).sum(axis=1)
    assert np.ptp(gap) < 1e-9
    frame = build_frame(small_world(), T_END)
    ts = training_set(frame, T_END)
    model = StrengthModel(blend_evidence=None).fit(ts.X, ts.y, sample_time=ts.time, sample_weight=ts.weight)
    assert 0 < model.weight_ < 1
    gap = model.decision_function(X) - model.contributions(X).sum(axis=1)
    assert np.ptp(gap) < 1e-9


def test_a_young_mailbox_is_calibrated_by_the_priors_young_curve_and_an_older_one_by_its_own():
    spec = json.loads(PRIOR_PATH.read_text())
    spec["young"] = {"a": 0.8, "b": 0.5}
    X = _spread_rows(PriorModel(spec))
    # Given a user with no snapshot of their own (a mailbox younger than ~121 days)
    young = StrengthModel(prior=spec).fit(np.zeros((0, len(FEATURES))), np.zeros(0, int))
    z = PriorModel(spec).decision(X)
    # Then the probability is the prior's score through the young curve, in the score's order
    assert np.allclose(young.predict_proba(X)[:, 1], 1 / (1 + np.exp(-(0.8 + 0.5 * z))))
    assert np.array_equal(young.decision_function(X), z)
    # And without the curve, or with recalibration off, the raw score's probability
    del spec["young"]
    plain = StrengthModel(prior=spec).fit(np.zeros((0, len(FEATURES))), np.zeros(0, int))
    assert np.allclose(plain.predict_proba(X)[:, 1], 1 / (1 + np.exp(-z)))
    spec["young"] = {"a": 0.8, "b": 0.5}
    off = StrengthModel(prior=spec, recalibrate=False).fit(np.zeros((0, len(FEATURES))), np.zeros(0, int))
    assert np.allclose(off.predict_proba(X)[:, 1], plain.predict_proba(X)[:, 1])


def test_a_user_with_snapshots_of_their_own_ignores_the_young_curve(rows):
    spec = json.loads(PRIOR_PATH.read_text())
    with_curve = StrengthModel(prior={**spec, "young": {"a": 3.0, "b": 0.2}})
    without = StrengthModel(prior={k: v for k, v in spec.items() if k != "young"})
    a = with_curve.fit(rows.X, rows.y, sample_time=rows.time, sample_weight=rows.weight)
    b = without.fit(rows.X, rows.y, sample_time=rows.time, sample_weight=rows.weight)
    assert a.recal_ is not None
    assert np.array_equal(a.predict_proba(rows.X), b.predict_proba(rows.X))


def test_young_rows_see_only_the_last_days_before_each_snapshot_and_keep_the_training_label():
    from analytics.frame import DAY
    from analytics.training import snapshot_times, young_set
    from tests.support.analytics import random_history

    history = random_history(2, n=1500, people=60, span_days=800)
    full = build_frame(history, T_END)
    young = young_set(history, T_END, days=(90,), only=(*MODEL_FEATURES, "tie_age"))
    whole = training_set(full, T_END, max_snapshots=18)
    assert set(np.unique(young.time)) == set(snapshot_times(full, T_END, max_snapshots=18)) == set(whole.time)
    tie_age = FEATURES.index("tie_age")
    for s in np.unique(young.time):
        at = young.time == s
        seen = {p for x in history if s - 90 * DAY <= x.at < s for p in (x.sender, *x.recipients) if p != 0}
        # Only the ties in the last 90 days' mail, and none looks older than 90 days
        assert {int(full.contacts[c]) for c in young.contact[at]} <= seen
        assert young.X[at, tie_age].max() <= np.log1p(90.0)
        # The same label (weekly shares after s) as the whole history's training rows
        ws = {
            (c, y): w
            for c, y, w in zip(whole.contact[whole.time == s], whole.y[whole.time == s], whole.weight[whole.time == s])
        }
        assert all(ws[(c, y)] == w for c, y, w in zip(young.contact[at], young.y[at], young.weight[at]))
    # And what lies further back is not counted: the year-long two-way count is lower for
    # most ties (not all: an answer whose question is older than the window reads otherwise)
    long = FEATURES.index("two_way_long")
    pairs = {(c, t, y): x for c, t, y, x in zip(whole.contact, whole.time, whole.y, whole.X[:, long])}
    before = np.array([pairs[(c, t, y)] for c, t, y in zip(young.contact, young.time, young.y)])
    assert np.mean(young.X[:, long] < before - 0.01) > 0.5 and young.X[:, long].mean() < 0.8 * before.mean()


def test_the_priors_young_curve_is_fitted_on_young_rows_and_lowers_their_log_loss():
    from analytics.prior import prior_from_rows, with_young
    from analytics.training import young_set
    from tests.support.analytics import random_history

    histories = [random_history(seed, n=1200, people=50, span_days=800) for seed in range(3)]
    sets = [training_set(build_frame(h, T_END), T_END) for h in histories]
    y, w, t = (np.concatenate([getattr(s, f) for s in sets]) for f in ("y", "weight", "time"))
    young = young_set(histories[0], T_END)
    spec = with_young(prior_from_rows(np.vstack([s.X for s in sets]), y, w, t, {}), young)
    a, b, c, e = (spec["young"][k] for k in "abce")
    assert b > 0 and spec["meta"]["young_rows"] == len(young.y)
    z = PriorModel(spec).decision(young.X)
    assert young.history is not None
    age = young_age(young.history)

    def loss(u):
        return float(np.sum(young.weight * (np.logaddexp(0.0, u) - young.y * u)))

    # The age terms fit the young rows better than the best calibration blind to age
    from analytics.logistic import recalibration

    blind = recalibration(1 / (1 + np.exp(-z)), young.y, young.weight)
    assert blind is not None
    assert loss(a + c * age + (b + e * age) * z) < loss(blind[0] + blind[1] * z) < loss(z)
    assert "young" not in prior_from_rows(np.vstack([s.X for s in sets]), y, w, t, {})
    assert with_young(spec, young_set([], T_END)) == spec  # no young rows: as it was


def test_a_young_mailbox_is_calibrated_for_its_age():
    """Given the prior's young curve with an age term, a mailbox with no snapshot of its
    own is calibrated for the days of mail it holds: 30 days through (a + c l, b + e l) at
    l = log(30 / 90), 90 days (or an unknown age) through (a, b), and an age beyond the
    fitted windows as the nearest one (14 or 120 days). The order of its ties never changes."""
    spec = json.loads(PRIOR_PATH.read_text())
    spec["young"] = {"a": 0.1, "b": 1.0, "c": -0.3, "e": 0.1}
    X = _spread_rows(PriorModel(spec))
    z = PriorModel(spec).decision(X)
    empty = np.zeros((0, len(FEATURES))), np.zeros(0, int)

    def p(days):
        return StrengthModel(prior=spec).fit(*empty, history_days=days).predict_proba(X)[:, 1]

    for days, l in ((30, np.log(30 / 90)), (90, 0.0), (None, 0.0), (5, np.log(14 / 90)), (400, np.log(120 / 90))):
        assert np.allclose(p(days), 1 / (1 + np.exp(-(0.1 - 0.3 * l + (1.0 + 0.1 * l) * z)))), days
    assert np.mean(p(30)) > np.mean(p(90)) and np.all(np.diff(p(30)[np.argsort(z)]) >= 0)


def test_the_young_curve_learns_how_age_moves_calibration():
    """Given rows whose true calibration depends on the mailbox's age (younger: higher and
    flatter), young_recalibration recovers it; where the data would turn the slope at some
    age within the fitted windows, the age moves only the level and the slope stays positive."""
    rng = np.random.default_rng(4)
    n = 40_000
    days = rng.choice([14.0, 30.0, 60.0, 90.0, 120.0], n)
    l = young_age(days)
    z = rng.normal(-2.0, 1.5, n)
    truth = 0.2 - 0.4 * l + (0.9 + 0.15 * l) * z
    y = (rng.random(n) < 1 / (1 + np.exp(-truth))).astype(int)
    a, b, c, e = young_recalibration(1 / (1 + np.exp(-z)), days, y, np.ones(n))
    assert abs(a - 0.2) < 0.08 and abs(b - 0.9) < 0.05 and abs(c + 0.4) < 0.1 and abs(e - 0.15) < 0.06
    # A slope that would be negative for the youngest mailboxes is not allowed
    turned = 0.5 * z * (l - young_age(20.0))
    y = (rng.random(n) < 1 / (1 + np.exp(-turned))).astype(int)
    a, b, c, e = young_recalibration(1 / (1 + np.exp(-z)), days, y, np.ones(n))
    assert e == 0.0 and b > 0


def test_the_age_a_young_mailbox_is_calibrated_for_is_the_coverage_it_is_known_to_have():
    """fit_strength_model hands the model the days its mail is known to cover: from `since`
    while a first sync reads older mail; with no such moment, none (the first exchange of a
    60-day history is not taken for its age), and the young curve is the 90 days' one."""
    from analytics.frame import DAY
    from analytics.scoring import fit_strength_model
    from analytics.training import covered_days
    from tests.support.analytics import random_history

    history = [x for x in random_history(2, n=300, people=20, span_days=60) if x.at < T_END]
    frame = build_frame(history, T_END)
    assert covered_days(T_END, T_END - 20 * DAY) == pytest.approx(20.0) and covered_days(T_END, None) is None
    syncing = fit_strength_model(frame, T_END, since=T_END - 20 * DAY)
    assert syncing.n_rows_ == 0 and syncing.history_days_ == pytest.approx(20.0)
    whole = fit_strength_model(frame, T_END)
    assert whole.n_rows_ == 0 and whole.history_days_ is None


def test_held_out_weight_trusts_whichever_score_predicts_the_rows():
    """Given held-out rows whose labels follow one score and not the other, the blend
    weight chosen on them goes to that score (1: the user's own model, 0: the prior), with
    evidence over the prior alone only when it is the user's model that predicts them."""
    from analytics.logistic import held_out_weight

    rng = np.random.default_rng(5)
    signal, noise = rng.normal(size=2000), rng.normal(size=2000)
    y = (rng.random(2000) < 1 / (1 + np.exp(-2 * signal))).astype(int)
    w = np.ones(2000)
    own_better, prior_better = held_out_weight(signal, noise, y, w), held_out_weight(noise, signal, y, w)
    assert own_better is not None and prior_better is not None
    assert own_better.weight == 1.0 and own_better.evidence > 100
    assert prior_better.weight == 0.0 and prior_better.evidence == 0.0
    # and with one class only there is nothing to choose on
    assert held_out_weight(signal, noise, np.zeros(2000, int), w) is None


def test_a_user_whose_own_model_predicts_better_trusts_it():
    """Given a prior that misreads this user's mail (here: its coefficients turned the wrong
    way) and a history of the user's own, when the model is fitted, then the user's own
    model's held-out gain over the prior clears BLEND_EVIDENCE, and its weight moves from
    n / (n + prior_rows) (the weight held when blend_pull is infinite) towards the one the
    newest snapshots chose."""
    from analytics.model import BLEND_EVIDENCE

    spec = json.loads(PRIOR_PATH.read_text())
    spec["coef"] = [-c for c in spec["coef"]]
    frame = build_frame(small_world(), T_END)
    ts = training_set(frame, T_END)
    held = StrengthModel(prior=spec, blend_pull=float("inf")).fit(
        ts.X, ts.y, sample_time=ts.time, sample_weight=ts.weight
    )
    assert held.weight_ == pytest.approx(held.n_rows_ / (held.n_rows_ + held.prior_rows))
    chosen = StrengthModel(prior=spec).fit(ts.X, ts.y, sample_time=ts.time, sample_weight=ts.weight)
    choice = chosen.blend_choice_
    assert choice.evidence > BLEND_EVIDENCE and choice.weight == 1.0
    # The newest quarter of snapshots chose the user's own model alone (g = 1), pulled
    # towards the held weight by blend_pull rows against those rows' weight
    newest = ts.time >= np.unique(ts.time)[-max(1, round(len(np.unique(ts.time)) / 4))]
    m, pull = ts.weight[newest].sum(), chosen.blend_pull
    assert chosen.weight_ == pytest.approx((m * choice.weight + pull * held.weight_) / (m + pull))
    assert chosen.weight_ > held.weight_ + 0.05
    # and the ranking it gives on those rows is better than the held blend's
    from analytics.metrics import auc

    X, labels = ts.X[newest], ts.y[newest]
    assert auc(chosen.decision_function(X), labels) > auc(held.decision_function(X), labels)


def test_a_user_whose_own_model_is_no_clear_gain_keeps_the_prior():
    """Given the shipped prior and a small history whose newest snapshots favour some of the
    user's own model but with little evidence (a few hundred rows), when the model is
    fitted, then the prior alone scores the ties (weight 0); a lower bar on the same rows
    would have let the user's model in, so it is the evidence that decides."""
    from analytics.model import BLEND_EVIDENCE

    frame = build_frame(small_world(), T_END)
    ts = training_set(frame, T_END)
    model = StrengthModel().fit(ts.X, ts.y, sample_time=ts.time, sample_weight=ts.weight)
    choice = model.blend_choice_
    assert choice.weight > 0 and 0 < choice.evidence <= BLEND_EVIDENCE
    assert model.weight_ == 0.0
    X = ts.X[:50]
    assert np.allclose(model.decision_function(X), model.prior_.decision(X))
    lenient = StrengthModel(blend_evidence=choice.evidence / 2).fit(
        ts.X, ts.y, sample_time=ts.time, sample_weight=ts.weight
    )
    assert lenient.weight_ > 0.1
