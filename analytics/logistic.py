"""Logistic pieces of the strength model: a sign-constrained regression, and the
recalibration of a model's probabilities on the user's newest rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted
from threadpoolctl import threadpool_limits


def _sigmoid(z: NDArray[np.float64]) -> NDArray[np.float64]:
    p: NDArray[np.float64] = 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))
    return p


def _logit(p: NDArray[np.float64]) -> NDArray[np.float64]:
    q = np.clip(p, 1e-4, 1 - 1e-4)
    z: NDArray[np.float64] = np.log(q / (1 - q))
    return z


# Rows' worth of belief that the model is already calibrated, for the intercept a and the
# slope b. A user's slope moved freely on a few hundred rows stretches one user's ties
# against another's and cost the pooled ranking (analytics/STATUS.md, sixth pass), so it
# is held harder than the intercept, which carries the drift of the user's level.
RECAL_PENALTY = 20.0
RECAL_SLOPE_PENALTY = 200.0


def _penalised_fit(
    columns: list[NDArray[np.float64]],
    t: NDArray[np.float64],
    w: NDArray[np.float64],
    centre: NDArray[np.float64],
    penalty: NDArray[np.float64],
    bounds: list[tuple[float | None, float | None]],
) -> NDArray[np.float64]:
    """theta minimising the weighted log loss of logit p' = sum_k theta_k columns_k plus
    sum_k penalty_k (theta_k - centre_k)^2 (L-BFGS-B within `bounds`, from `centre`)."""
    from scipy.optimize import minimize

    X = np.stack(columns, axis=1)

    def objective(theta: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
        u = X @ theta
        loss = np.sum(w * (np.logaddexp(0.0, u) - t * u)) + np.sum(penalty * (theta - centre) ** 2)
        return float(loss), X.T @ (w * (_sigmoid(u) - t)) + 2 * penalty * (theta - centre)

    fitted: NDArray[np.float64] = minimize(objective, centre, jac=True, method="L-BFGS-B", bounds=bounds).x
    return fitted


def recalibration(
    p: NDArray[np.float64],
    y: NDArray[np.int_],
    w: NDArray[np.float64],
    *,
    pulls: tuple[float, float] = (RECAL_PENALTY, RECAL_SLOPE_PENALTY),
) -> tuple[float, float] | None:
    """(a, b) of logit p' = a + b logit p fitted on the user's newest rows (weighted log
    loss, ridge pulls of `pulls` (default RECAL_PENALTY, RECAL_SLOPE_PENALTY) towards a = 0
    and b = 1, b kept positive so the order of ties never changes): the drift of the user's
    own mail, corrected."""
    if len(np.unique(y)) < 2 or w.sum() <= 0:
        return None
    z, t = _logit(p), (y == 1).astype(float)
    a, b = _penalised_fit(
        [np.ones_like(z), z],
        t,
        w,
        centre=np.array([0.0, 1.0]),
        penalty=np.array(pulls, float),
        bounds=[(None, None), (0.05, None)],
    )
    return float(a), float(b)


# The young calibration (PriorSpec.young) reads the mailbox's age as log(days / 90), with
# days held within the windows it was fitted on (training.YOUNG_DAYS).
YOUNG_REFERENCE_DAYS = 90.0
YOUNG_DAYS_RANGE = (14.0, 120.0)


def young_age(days: ArrayLike) -> NDArray[np.float64]:
    """log(days / 90), days clipped to YOUNG_DAYS_RANGE."""
    d = np.clip(np.asarray(days, float), *YOUNG_DAYS_RANGE)
    out: NDArray[np.float64] = np.log(d / YOUNG_REFERENCE_DAYS)
    return out


def young_recalibration(
    p: NDArray[np.float64], days: NDArray[np.float64], y: NDArray[np.int_], w: NDArray[np.float64]
) -> tuple[float, float, float, float] | None:
    """(a, b, c, e) of logit p' = (a + c l) + (b + e l) logit p, for l = young_age(days):
    the calibration of a mailbox `days` old with no snapshot of its own, fitted on other
    people's ties seen through windows that young (the same ridge pulls as
    `recalibration`, and c, e pulled to 0 as the intercept is). The slope is kept positive
    over the whole range of ages, so the order of a user's ties never changes."""
    if len(np.unique(y)) < 2 or w.sum() <= 0:
        return None
    z, t, age = _logit(p), (y == 1).astype(float), young_age(days)
    columns = [np.ones_like(z), z, age, age * z]
    centre = np.array([0.0, 1.0, 0.0, 0.0])
    penalty = np.array([RECAL_PENALTY, RECAL_SLOPE_PENALTY, RECAL_PENALTY, RECAL_PENALTY])
    ends = young_age(np.array(YOUNG_DAYS_RANGE))
    free: tuple[float | None, float | None] = (None, None)
    for e_bounds in (free, (0.0, 0.0)):  # if the slope would turn at some age, the age moves the level only
        bounds = [free, (0.05, None), free, e_bounds]
        a, b, c, e = (float(v) for v in _penalised_fit(columns, t, w, centre, penalty, bounds))
        if np.min(b + e * ends) >= 0.05:
            break
    return a, b, c, e


# The blend weights tried on the user's newest snapshots (held_out_weight).
BLEND_GRID = np.linspace(0.0, 1.0, 21)


@dataclass(frozen=True)
class HeldOut:
    """The blend weight that best predicts held-out rows, and its evidence over the prior
    alone: twice the drop in weighted log loss (a likelihood-ratio statistic, 0 when the
    prior alone is best)."""

    weight: float
    evidence: float


def held_out_weight(
    own: NDArray[np.float64], prior: NDArray[np.float64], y: NDArray[np.int_], w: NDArray[np.float64]
) -> HeldOut | None:
    """The weight g of the user's own model in the blend g own + (1 - g) prior that, once
    recalibrated (`recalibration`), best predicts rows the user's model was not fitted on
    (the newest snapshots): weighted log loss, over BLEND_GRID, with its evidence against
    g = 0. None when those rows hold one class only."""
    if len(np.unique(y)) < 2 or w.sum() <= 0:
        return None
    t = (y == 1).astype(float)
    losses: dict[float, float] = {}
    for g in BLEND_GRID:
        z = g * own + (1 - g) * prior
        recal = recalibration(_sigmoid(z), y, w)
        if recal is None:
            continue
        u = recal[0] + recal[1] * z
        losses[float(g)] = float(np.sum(w * (np.logaddexp(0.0, u) - t * u)))
    if not losses:
        return None
    best = min(losses, key=lambda g: (losses[g], g))
    alone = losses.get(0.0)
    evidence = 0.0 if alone is None else max(0.0, 2.0 * (alone - losses[best]))
    return HeldOut(best, evidence)


class SignedLogisticRegression(ClassifierMixin, BaseEstimator):
    """L2-regularised logistic regression whose coefficients keep given signs.

    Same objective as scikit-learn's LogisticRegression (C x weighted log-loss + half the
    squared norm), solved with L-BFGS-B under bounds: `signs[j]` = +1 keeps coef j >= 0,
    -1 keeps it <= 0, 0 leaves it free. Signs make the model monotone where it must be
    (more contact never weakens a tie) and its explanations read the right way round.
    """

    def __init__(self, C: float = 1.0, signs: Sequence[float] | None = None, max_iter: int = 500) -> None:
        self.C = C
        self.signs = signs
        self.max_iter = max_iter

    def fit(self, X: ArrayLike, y: ArrayLike, sample_weight: ArrayLike | None = None) -> SignedLogisticRegression:
        from scipy.optimize import minimize

        X = np.asarray(X, float)
        y = np.asarray(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) != 2:
            raise ValueError("SignedLogisticRegression needs two classes")
        t = (y == self.classes_[1]).astype(float)
        w = np.ones(len(t)) if sample_weight is None else np.asarray(sample_weight, float)
        _n, d = X.shape
        signs = np.zeros(d) if self.signs is None else np.asarray(self.signs, float)
        bounds = [(None, None)] + [(0.0, None) if s > 0 else (None, 0.0) if s < 0 else (None, None) for s in signs]

        def objective(theta: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
            z = X @ theta[1:] + theta[0]
            loss = np.sum(w * (np.logaddexp(0.0, z) - t * z))
            r = w * (_sigmoid(z) - t)
            grad = np.concatenate([[r.sum()], X.T @ r]) * self.C
            grad[1:] += theta[1:]
            return self.C * loss + 0.5 * theta[1:] @ theta[1:], grad

        # Tall, thin products: one BLAS thread is fastest, and on a busy machine a pool of
        # them spinning against each other is ten times slower.
        with threadpool_limits(limits=1, user_api="blas"):
            res = minimize(
                objective,
                np.zeros(d + 1),
                jac=True,
                method="L-BFGS-B",
                bounds=bounds,
                options={"maxiter": self.max_iter},
            )
        self.coef_ = res.x[1:][None, :]
        self.intercept_ = np.array([res.x[0]])
        self.n_features_in_ = d
        self.n_iter_ = np.array([res.nit])
        return self

    def decision_function(self, X: ArrayLike) -> NDArray[np.float64]:
        check_is_fitted(self, "coef_")
        z: NDArray[np.float64] = np.asarray(X, float) @ self.coef_[0] + self.intercept_[0]
        return z

    def predict_proba(self, X: ArrayLike) -> NDArray[np.float64]:
        p = _sigmoid(self.decision_function(X))
        return np.stack([1 - p, p], axis=1)

    def predict(self, X: ArrayLike) -> np.ndarray:
        labels: np.ndarray = self.classes_[(self.decision_function(X) > 0).astype(int)]
        return labels
