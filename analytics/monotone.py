"""Monotone piecewise-linear feature shapes for the pooled prior (a monotone additive model).

Each feature x is cut at knots k_0 < ... < k_m (quantiles of the pooled training rows) into
ramps r_i(x) = clip((x - k_{i-1}) / (k_i - k_{i-1}), 0, 1), each rising from 0 to 1 over one
interval. A logistic regression on the ramps whose coefficients all keep the feature's sign
(features.SIGNS) gives the feature a shape f(x) = sum_i c_i r_i(x) that is piecewise linear
and monotone the right way: more contact never lowers the score, as with the linear model,
but a feature may matter a lot at first and then saturate (the tenth message of a month
says less than the first). The score is additive, intercept + sum_j f_j(x_j), so each
feature's contribution f_j(x_j) - f_j(reference) is exact: the explanations stay truthful.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

KNOTS = 6  # intervals per feature (fewer where the feature has fewer distinct values)


def knots_of(x: NDArray[np.float64], n: int = KNOTS) -> list[float]:
    """Distinct quantiles of one feature's values: the ends of its ramps."""
    q = np.unique(np.round(np.quantile(x, np.linspace(0.0, 1.0, n + 1)), 6))
    return [float(v) for v in q]


def ramps(x: NDArray[np.float64], knots: list[float]) -> NDArray[np.float64]:
    """(rows, len(knots) - 1): how far x has climbed each interval, from 0 to 1."""
    k = np.asarray(knots, float)
    if len(k) < 2:
        return np.zeros((len(x), 0))
    lo, hi = k[:-1], k[1:]
    out: NDArray[np.float64] = np.clip((x[:, None] - lo) / (hi - lo), 0.0, 1.0)
    return out


def basis(X: NDArray[np.float64], knots: list[list[float]]) -> NDArray[np.float64]:
    """Every feature's ramps side by side (X holds one column per entry of `knots`)."""
    return np.hstack([ramps(X[:, j], k) for j, k in enumerate(knots)])


def shapes(X: NDArray[np.float64], knots: list[list[float]], coef: NDArray[np.float64]) -> NDArray[np.float64]:
    """(rows, features): each feature's f_j(x_j) = sum of its ramps x their coefficients."""
    out = np.zeros((len(X), len(knots)))
    start = 0
    for j, k in enumerate(knots):
        r = ramps(X[:, j], k)
        out[:, j] = r @ coef[start : start + r.shape[1]]
        start += r.shape[1]
    return out
