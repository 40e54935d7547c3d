"""The strength model: P(personal two-way contact in a given week), learned without labels.

A user's own history labels itself: at snapshots in the past, every tie's features are
paired with the share of the 13 weeks after it that held personal two-way contact (see
training.py). A StandardScaler + sign-constrained logistic pipeline learns from the older
snapshots; its score is blended, in logit space, with the score of the prior fitted on real
Enron mail (`prior.json`), which reads two signals the user's model does not
(features.PRIOR_FEATURES). The user's model enters the blend only where it predicts the
newest snapshots, which it was not fitted on, clearly better than the prior alone;
otherwise the prior alone scores the user's ties. The score is recalibrated on the same
newest slice of the user's own snapshots (logit p = a + b score, b > 0) so the drift of
their mail does not bias it. Every step is strictly increasing in the
blended score, so strength orders ties exactly as the score does: no calibration step
turns different scores into equal strengths (a step-wise isotonic curve did, and cost the
ranking; analytics/STATUS.md). `horizon_proba` turns the weekly probability into the
chance of two-way contact within the next n weeks (strength: four), with the weeks of one
tie taken to go together as much as the user's newest snapshots show they do, pulled
towards the prior's finding (analytics/horizon.py); compounding the weekly chance as if
the weeks were independent overstated it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NotRequired, TypedDict

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from analytics.features import FEATURES, MODEL_FEATURES, SIGNS
from analytics.horizon import INDEPENDENT, any_within, fit_dispersion, weeks_of_rows
from analytics.training import PERIODS
from analytics.logistic import (
    YOUNG_REFERENCE_DAYS,
    HeldOut,
    SignedLogisticRegression,
    _logit,
    _sigmoid,
    held_out_weight,
    recalibration,
    young_age,
)
from analytics.monotone import basis, knots_of, shapes
from analytics.signals import SIGNAL_SIGNS

PRIOR_PATH = Path(__file__).with_name("prior.json")
# The evidence the user's own model must show before it enters the blend: the likelihood-
# ratio statistic of its held-out gain over the prior alone (logistic.held_out_weight) must
# exceed the chi-squared(1) quantile at p = 0.001. Strict on purpose: the newest quarter's
# rows are the same ties at a few snapshots, not independent draws. Session 11
# (analytics/STATUS.md): Enron users mostly fall short of it (3% of fits pass even 3.84),
# the synthetic world's users clear it by far (17-42).
BLEND_EVIDENCE = 10.83
# Once it enters, rows' worth of belief in the weight n / (n + prior_rows), against the
# weight the newest snapshots choose. Measured at 0, 50, 100, 200, 500, 1000 and 3000
# (analytics/STATUS.md, session 10): below 1000 a provisional model (a first sync's 180
# days of mail) trusts its few rows too far (tests/unit/test_provisional_strength.py).
BLEND_PULL = 1000.0
# The pulls of a user's 90-day touch correction towards the prior's (rows' worth, for the
# intercept and the slope; `recalibration`'s are 20 and 200). Its rows are the 90-day
# outcomes themselves, one per tie and snapshot. ECE of the 90-day chance (analytics/
# STATUS.md, sessions 15 and 16), intercept pull 20 / 5 / 2 / 1 with the slope's at 50
# (200 for the first): July-December 2000 0.041 / 0.030 / 0.023 / 0.021, the 78 0.015 /
# 0.012 / 0.011 / 0.009, the 30 0.015 / 0.011 / 0.011 / 0.012, a stationary organisation
# with five-year-old mailboxes - / 0.025 / 0.022 / -; 90-day mailboxes (no snapshot of
# their own: the prior's alone) 0.022 throughout. A lighter pull follows a drifting level
# further; the 30 pay a little for it from 2 on. Chosen on the 2000 period, checked on
# the rest.
TOUCH_PULLS = (2.0, 50.0)


class Calibration(TypedDict):
    x: list[float]
    y: list[float]


class Young(TypedDict):
    a: float
    b: float
    # The mailbox's age (logistic.young_age): logit p = (a + c l) + (b + e l) x the prior's
    # score. Absent in a prior fitted before ages were read: 0.
    c: NotRequired[float]
    e: NotRequired[float]


class Touch(TypedDict):
    a: float
    b: float


class PriorSpec(TypedDict):
    """The JSON of a prior (`prior.json`, or one fitted in memory by `prior_spec`)."""

    features: list[str]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    calibration: Calibration
    # Present for a monotone additive prior (analytics/monotone.py): each feature's ramp
    # knots, `coef` then holds one coefficient per ramp, and `reference` each feature's
    # shape at the training rows' mean (what contributions are measured from).
    knots: NotRequired[list[list[float]]]
    reference: NotRequired[list[float]]
    # For a user with no snapshot of their own to recalibrate on (a mailbox younger than
    # about 121 days): logit p = (a + c l) + (b + e l) x the prior's score for a mailbox
    # of age l (logistic.young_age), fitted on other people's ties seen through windows
    # that young (training.YOUNG_DAYS; analytics/prior.py).
    young: NotRequired[Young]
    # The concentration of the weekly chance across the weeks of a tie (analytics/horizon.py),
    # fitted on the rows that calibrated the prior: what a user's own fit is pulled towards.
    # Absent in a prior fitted before it was read: the weeks taken as independent.
    dispersion: NotRequired[float]
    # The calibration of the 90-day chance of two-way touch (StrengthModel.touch_proba) on
    # the same rows: logit p90 = a + b logit(the weekly chance over 13 weeks), for a user
    # with no snapshot of their own to fit theirs on. Absent: a = 0, b = 1.
    touch: NotRequired[Touch]
    # Free-form facts about the fit (source, egos, row counts), only ever reported.
    meta: dict[str, Any]


class PriorModel:
    """The shipped prior: a scaler, a linear model and a calibration curve, from JSON."""

    def __init__(self, spec: PriorSpec) -> None:
        names = tuple(spec["features"])
        if not set(names) <= set(FEATURES):
            raise ValueError("prior.json names unknown features; refit it with analytics/prior.py")
        self.features = names
        self.cols_ = np.array([FEATURES.index(n) for n in names], int)
        self.mean_ = np.asarray(spec["mean"], float)
        self.scale_ = np.asarray(spec["scale"], float)
        self.coef_ = np.asarray(spec["coef"], float)
        self.intercept_ = float(spec["intercept"])
        self.cal_x_ = np.asarray(spec["calibration"]["x"], float)
        self.cal_y_ = np.asarray(spec["calibration"]["y"], float)
        self.knots_ = spec.get("knots")
        self.reference_ = np.asarray(spec.get("reference", np.zeros(len(names))), float)
        young = spec.get("young")
        self.young_: tuple[float, float, float, float] | None = (
            (float(young["a"]), float(young["b"]), float(young.get("c", 0.0)), float(young.get("e", 0.0)))
            if young
            else None
        )
        self.dispersion_ = float(spec.get("dispersion", INDEPENDENT))
        touch = spec.get("touch")
        self.touch_: tuple[float, float] | None = (float(touch["a"]), float(touch["b"])) if touch else None
        self.meta = spec.get("meta", {})

    @classmethod
    def load(cls, path: Path = PRIOR_PATH) -> PriorModel | None:
        if not path.exists():
            return None
        return cls(json.loads(path.read_text()))

    def decision(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        if self.knots_ is not None:
            additive: NDArray[np.float64] = shapes(X[:, self.cols_], self.knots_, self.coef_).sum(axis=1)
            return additive + self.intercept_
        z: NDArray[np.float64] = ((X[:, self.cols_] - self.mean_) / self.scale_) @ self.coef_ + self.intercept_
        return z

    def predict(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        """The prior's own probability through its isotonic curve (step-wise: equal for
        many different scores). StrengthModel blends `decision` instead and calibrates the
        blend per user, so strength keeps the order of the scores."""
        p: NDArray[np.float64] = np.interp(self.decision(X), self.cal_x_, self.cal_y_)
        return p

    def contributions(self, X: np.ndarray) -> np.ndarray:
        out = np.zeros_like(X, dtype=float)
        if self.knots_ is not None:
            out[:, self.cols_] = shapes(X[:, self.cols_], self.knots_, self.coef_) - self.reference_
        else:
            out[:, self.cols_] = (X[:, self.cols_] - self.mean_) / self.scale_ * self.coef_
        return out


def prior_spec(
    pipe: Pipeline,
    X_cal: np.ndarray,
    y_cal: np.ndarray,
    w_cal: np.ndarray,
    meta: dict[str, Any],
    features: tuple[str, ...] = MODEL_FEATURES,
) -> PriorSpec:
    """Turn a fitted scaler+logistic pipeline into the JSON the PriorModel reads; the
    calibration curve is isotonic on held-out (later) rows, stored as knots."""
    from sklearn.isotonic import IsotonicRegression

    scaler, logit = pipe[0], pipe[-1]
    z = pipe.decision_function(X_cal[:, [FEATURES.index(n) for n in features]])
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.001, y_max=0.999).fit(z, y_cal, sample_weight=w_cal)
    return {
        "features": list(features),
        "mean": scaler.mean_.tolist(),
        "scale": scaler.scale_.tolist(),
        "coef": logit.coef_[0].tolist(),
        "intercept": float(logit.intercept_[0]),
        "calibration": {"x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()},
        "meta": meta,
    }


def additive_spec(
    X: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    train: np.ndarray,
    meta: dict[str, Any],
    features: tuple[str, ...],
    C: float,
    n_knots: int,
) -> PriorSpec:
    """A monotone additive prior (analytics/monotone.py): ramps cut at the training rows'
    quantiles, sign-constrained logistic on them, isotonic calibration on the newer rows."""
    from sklearn.isotonic import IsotonicRegression

    Xf = X[:, [FEATURES.index(n) for n in features]]
    knots = [knots_of(Xf[train, j], n_knots) for j in range(len(features))]
    B = basis(Xf, knots)
    signs = [SIGNS[n] if n in SIGNS else SIGNAL_SIGNS[n] for n in features]
    per_ramp = [s for s, k in zip(signs, knots) for _ in range(max(len(k) - 1, 0))]
    logit = SignedLogisticRegression(C=C, signs=per_ramp).fit(B[train], y[train], sample_weight=w[train])
    coef = logit.coef_[0]
    f = shapes(Xf, knots, coef)
    reference = np.average(f[train], axis=0, weights=w[train])
    cal = ~train
    z = f[cal].sum(axis=1) + logit.intercept_[0]
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.001, y_max=0.999).fit(z, y[cal], sample_weight=w[cal])
    return {
        "features": list(features),
        "mean": [0.0] * len(features),
        "scale": [1.0] * len(features),
        "coef": coef.tolist(),
        "intercept": float(logit.intercept_[0]),
        "calibration": {"x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()},
        "knots": knots,
        "reference": reference.tolist(),
        "meta": meta,
    }


def _fit(pipe: Pipeline, X: np.ndarray, y: np.ndarray, w: np.ndarray) -> Pipeline:
    # The scaler is a reparametrisation: unweighted (weighted variances of constant
    # columns can come out slightly negative).
    return pipe.fit(X, y, **{f"{pipe.steps[-1][0]}__sample_weight": w})


def base_pipeline(C: float = 1.0, features: tuple[str, ...] = MODEL_FEATURES) -> Pipeline:
    signs = [SIGNS[n] if n in SIGNS else SIGNAL_SIGNS[n] for n in features]
    return make_pipeline(StandardScaler(), SignedLogisticRegression(C=C, signs=signs))


class StrengthModel(ClassifierMixin, BaseEstimator):
    """Calibrated tie-strength classifier blended with the shipped prior.

    fit(X, y, sample_time, sample_weight) — rows are (tie, snapshot) pairs (see
    training.py: each pair appears as a weighted positive and negative); `sample_time`
    orders them so the newest `calibration_share` of snapshots calibrates and the rest trains.
    The user's model and the prior are blended in logit space (`decision_function`). The
    user's model takes part only when the blend that predicts the newest snapshots best
    beats the prior alone there by more than `blend_evidence` (None: always); its weight
    is then n / (n + `prior_rows`) for n training rows, moved towards that best blend's
    weight as far as the newest rows' weight outweighs `blend_pull` rows (infinite: not
    moved). See `_blend_weight`. `prior` is a prior
    spec (the dict `prior_spec` returns) to use instead of the shipped `prior.json`: the
    backtest passes one fitted on other people than the user it scores. `recalibrate`:
    fit logit p = a + b score on the newest `calibration_share` of snapshots (b > 0, so the
    order of ties never changes; see `recalibration`); otherwise p = sigmoid(score).
    The same newest snapshots also fit how a tie's weeks go together (`dispersion_`, read
    by `horizon_proba`) and, given each row's 90-day touch (`fit(..., touched=)`), the
    calibration of `touch_proba`; both start from the prior's.
    """

    def __init__(
        self,
        C: float = 1.0,
        features: tuple[str, ...] = MODEL_FEATURES,
        calibration_share: float = 0.25,
        prior_rows: float = 2500.0,
        use_prior: bool = True,
        max_rows: int = 60000,
        prior: PriorSpec | None = None,
        recalibrate: bool = True,
        blend_pull: float = BLEND_PULL,
        blend_evidence: float | None = BLEND_EVIDENCE,
    ) -> None:
        self.C = C
        self.features = features
        self.calibration_share = calibration_share
        self.prior_rows = prior_rows
        self.use_prior = use_prior
        self.max_rows = max_rows
        self.prior = prior
        self.recalibrate = recalibrate
        self.blend_pull = blend_pull
        self.blend_evidence = blend_evidence

    def fit(
        self,
        X: ArrayLike,
        y: ArrayLike,
        sample_time: ArrayLike | None = None,
        sample_weight: ArrayLike | None = None,
        *,
        history_days: float | None = None,
        touched: ArrayLike | None = None,
    ) -> StrengthModel:
        """`history_days`: the days the user's mail is known to cover (training.covered_days),
        read only by a mailbox with no snapshot of its own (the prior's young calibration);
        None: not known, taken as 90. `touched`: per row, two-way touch in the 90 days after
        its snapshot (TrainingSet.touched), what `touch_proba` is calibrated on; None: the
        prior's calibration of it."""
        self.history_days_ = history_days
        # Weights given: the shares of weeks training.py counts, read back for the
        # dispersion (_dispersion); none: plain 0/1 rows.
        self.shares_ = sample_weight is not None
        X = np.asarray(X, float)
        y = np.asarray(y).astype(int)
        w: NDArray[np.float64] = np.ones(len(y)) if sample_weight is None else np.asarray(sample_weight, float)
        self.classes_ = np.array([0, 1])
        self.n_features_in_ = X.shape[1]
        self.cols_ = np.array([FEATURES.index(n) for n in self.features], int)
        if not self.use_prior:
            self.prior_ = None
        else:
            self.prior_ = PriorModel(self.prior) if self.prior is not None else PriorModel.load()
        if sample_time is None:
            sample_time = np.arange(len(y), dtype=float)
        seen = None if touched is None else np.asarray(touched, bool)
        if seen is not None and len(seen) != len(y):
            raise ValueError(f"touched has {len(seen)} rows, the training rows {len(y)}")
        return self._fit_rows(X, y, w, np.asarray(sample_time, float), seen)

    def _fit_rows(
        self,
        X: NDArray[np.float64],
        y: NDArray[np.int_],
        w: NDArray[np.float64],
        sample_time: NDArray[np.float64],
        touched: NDArray[np.bool_] | None,
    ) -> StrengthModel:
        if len(y) > self.max_rows:
            # Deterministic thinning that keeps every snapshot represented.
            keep = np.linspace(0, len(y) - 1, self.max_rows).astype(int)
            X, y, w, sample_time = X[keep], y[keep], w[keep], sample_time[keep]
            touched = None if touched is None else touched[keep]
        self.n_rows_ = len(y)
        X_all, X = X, X[:, self.cols_]
        self.pipeline_: Pipeline | None = None
        self.weight_ = 0.0
        self.blend_choice_: HeldOut | None = None  # what the newest snapshots chose (_blend_weight)
        self.base_rate_: float | None = None
        times = np.unique(sample_time)
        newest = np.zeros(len(y), bool)
        if len(times) >= 2:
            newest = sample_time >= times[-max(1, int(round(len(times) * self.calibration_share)))]
        if len(times) >= 2 and len(np.unique(y)) == 2 and len(np.unique(y[~newest])) == 2:
            # The older snapshots train; the newest are kept for the recalibration.
            self.pipeline_ = _fit(base_pipeline(self.C, self.features), X[~newest], y[~newest], w[~newest])
            self.weight_ = self._blend_weight(X_all[newest], y[newest], w[newest]) if self.prior_ is not None else 1.0
        if self.pipeline_ is None and self.prior_ is None:
            # No prior and nothing learnable: a plain fit on everything (or a constant).
            if len(np.unique(y)) == 2:
                self.pipeline_ = _fit(base_pipeline(self.C, self.features), X, y, w)
                self.weight_ = 1.0
            else:
                self.base_rate_ = float(np.average(y, weights=w)) if w.sum() > 0 else 0.5
        self.recal_: tuple[float, float] | None = None
        if self.recalibrate and newest.any() and self.base_rate_ is None:
            self.recal_ = recalibration(_sigmoid(self.decision_function(X_all[newest])), y[newest], w[newest])
        # The newest snapshots' (tie, snapshot) units and their weeks with contact, when the
        # rows are training.py's shares of weeks (not plain 0/1 rows): what the weeks' going
        # together and the 90-day calibration are fitted on, against the weekly chance the
        # model now gives them. Otherwise both are the prior's.
        units = weeks_of_rows(y[newest], w[newest]) if self.shares_ and newest.any() else None
        if units is None or self.base_rate_ is not None:
            self.dispersion_ = self.prior_.dispersion_ if self.prior_ is not None else INDEPENDENT
            self.touch_recal_ = self.prior_.touch_ if self.prior_ is not None else None
            return self
        unit, weeks = units
        p = self.predict_proba(X_all[newest][unit])[:, 1]
        self.dispersion_ = self._dispersion(p, weeks[unit])
        self.touch_recal_ = self._touch_calibration(p, None if touched is None else touched[newest][unit])
        return self

    def _dispersion(self, p: NDArray[np.float64], weeks: NDArray[np.int_]) -> float:
        """How the weeks of one tie go together (analytics/horizon.py), fitted on units whose
        weekly chance is `p` and which had contact in `weeks` of 13, pulled towards the
        prior's (no prior: not pulled)."""
        if self.prior_ is None:
            return fit_dispersion(p, weeks)
        return fit_dispersion(p, weeks, centre=self.prior_.dispersion_)

    def _touch_calibration(
        self, p: NDArray[np.float64], touched: NDArray[np.bool_] | None
    ) -> tuple[float, float] | None:
        """(a, b) of logit p90 = a + b logit(the weekly chance over 13 weeks): the prior's
        (PriorSpec.touch, fitted on many people's rows), then corrected on units whose weekly
        chance is `p` against their two-way touch in the 90 days after, pulled towards no
        correction by TOUCH_PULLS. Without `touched`, the prior's alone
        (None: a = 0, b = 1)."""
        prior = self.prior_.touch_ if self.prior_ is not None else None
        if touched is None:
            return prior
        a0, b0 = prior if prior is not None else (0.0, 1.0)
        p13 = self.over_weeks(p, PERIODS)
        own = recalibration(_sigmoid(a0 + b0 * _logit(p13)), touched.astype(int), np.ones(len(p)), pulls=TOUCH_PULLS)
        if own is None:
            return prior
        a, b = own
        return a + b * a0, b * b0

    def _blend_weight(self, X: NDArray[np.float64], y: NDArray[np.int_], w: NDArray[np.float64]) -> float:
        """The user's own model's weight in the blend. On the newest snapshots, which the
        user's model was not fitted on, `held_out_weight` finds the blend that predicts
        them best and its evidence over the prior alone. Evidence at or below
        `blend_evidence`: 0, the prior alone (a few hundred rows of the user's own rarely
        teach more than a prior fitted on many people). Above it: n / (n + prior_rows) for
        n training rows, moved towards the best blend's weight as far as the newest rows'
        weight outweighs `blend_pull` rows. A user whose own mail keeps a pace the prior
        misreads comes to trust their own model."""
        assert self.pipeline_ is not None and self.prior_ is not None
        default = self.n_rows_ / (self.n_rows_ + self.prior_rows)
        if self.blend_evidence is None and np.isinf(self.blend_pull):
            return default
        choice = held_out_weight(self.pipeline_.decision_function(X[:, self.cols_]), self.prior_.decision(X), y, w)
        self.blend_choice_ = choice
        if self.blend_evidence is not None and (choice is None or choice.evidence <= self.blend_evidence):
            return 0.0
        if choice is None or np.isinf(self.blend_pull):
            return default
        m = float(w.sum())
        return (m * choice.weight + self.blend_pull * default) / (m + self.blend_pull)

    def reads(self) -> tuple[str, ...]:
        """The features this model reads: its own and, when it blends the prior, the
        prior's (fitted: the prior it holds; unfitted: the one `fit` would load). A
        snapshot for it need compute no others (features.snapshot's `only`)."""
        names = list(self.features)
        if hasattr(self, "prior_"):
            prior = self.prior_
        elif self.use_prior:
            prior = PriorModel(self.prior) if self.prior is not None else PriorModel.load()
        else:
            prior = None
        if prior is not None:
            names += [n for n in prior.features if n not in names]
        return tuple(names)

    def predict_proba(self, X: ArrayLike) -> NDArray[np.float64]:
        check_is_fitted(self, "n_rows_")
        X = np.asarray(X, float)
        if self.base_rate_ is not None:
            p = np.full(len(X), self.base_rate_)
        else:
            z = self.decision_function(X)
            recal = self.recal_
            if recal is None and self.recalibrate and self.n_rows_ == 0 and self.prior_ is not None:
                # No snapshot of the user's own at all (a mailbox younger than about 121
                # days): the prior's calibration for a mailbox this old (PriorSpec.young).
                recal = self._young_calibration()
            if recal is not None:
                a, b = recal
                z = a + b * z
            p = _sigmoid(z)
        return np.stack([1 - p, p], axis=1)

    def touch_proba(self, X: ArrayLike) -> NDArray[np.float64]:
        """P(two-way touch in the next 90 days) of snapshot rows `X` (touch_of)."""
        return self.touch_of(self.predict_proba(X)[:, 1])

    def horizon_proba(self, X: ArrayLike, weeks: int) -> NDArray[np.float64]:
        """P(two-way contact in at least one of the next `weeks` weeks) of snapshot rows `X`
        (over_weeks)."""
        return self.over_weeks(self.predict_proba(X)[:, 1], weeks)

    def over_weeks(self, p_week: NDArray[np.float64], weeks: int) -> NDArray[np.float64]:
        """The weekly chances `p_week` (predict_proba's) over `weeks` weeks, the weeks of a tie
        going together as the fit found them to (analytics/horizon.py). Rises strictly with
        the weekly chance."""
        return any_within(p_week, weeks, getattr(self, "dispersion_", INDEPENDENT))

    def touch_of(self, p_week: NDArray[np.float64]) -> NDArray[np.float64]:
        """P(two-way touch in the next 90 days) for weekly chances `p_week`: their chance over
        13 weeks (over_weeks), calibrated on what the user's newest snapshots saw in the 90
        days after them (_touch_calibration); the outcome the yardstick scores."""
        p13 = self.over_weeks(p_week, PERIODS)
        recal = getattr(self, "touch_recal_", None)
        if recal is None:
            return p13
        a, b = recal
        out: NDArray[np.float64] = _sigmoid(a + b * _logit(p13))
        return out

    def _young_calibration(self) -> tuple[float, float] | None:
        if self.prior_ is None or self.prior_.young_ is None:
            return None
        a, b, c, e = self.prior_.young_
        days = getattr(self, "history_days_", None)
        age = float(young_age(YOUNG_REFERENCE_DAYS if days is None else days))
        return a + c * age, b + e * age

    def decision_function(self, X: ArrayLike) -> NDArray[np.float64]:
        """The blended score (logit units): strength rises strictly with it."""
        check_is_fitted(self, "n_rows_")
        X = np.asarray(X, float)
        z = np.zeros(len(X))
        if self.pipeline_ is not None and self.weight_ > 0:
            z += self.weight_ * self.pipeline_.decision_function(X[:, self.cols_])
        if self.prior_ is not None and self.weight_ < 1:
            z += (1 - self.weight_) * self.prior_.decision(X)
        return z

    def predict(self, X: ArrayLike) -> NDArray[np.int_]:
        return (self.predict_proba(X)[:, 1] >= 0.5).astype(int)

    def contributions(self, X: ArrayLike) -> NDArray[np.float64]:
        """Per-feature contributions (coef x standardised value) to the blended score."""
        check_is_fitted(self, "n_rows_")
        X = np.asarray(X, float)
        out = np.zeros_like(X)
        if self.pipeline_ is not None and self.weight_ > 0:
            scaler, logit = self.pipeline_[0], self.pipeline_[-1]
            out[:, self.cols_] += self.weight_ * scaler.transform(X[:, self.cols_]) * logit.coef_[0]
        if self.prior_ is not None and self.weight_ < 1:
            out += (1 - self.weight_) * self.prior_.contributions(X)
        return out
