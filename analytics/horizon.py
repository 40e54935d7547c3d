"""From the weekly chance of two-way contact to the chance over a horizon of weeks.

The strength model learns P(two-way contact in a given week). Strength is the chance of
at least one such week in the next four, and the yardstick's outcome is at least one in
the next thirteen. Taking the weeks as independent, 1 - (1 - p)^n, overstates both: ties
the features cannot tell apart differ in their real weekly rate, and contact comes in
bursts, so the weeks of one tie go together. The overstatement grows with p and with n.
On a stationary synthetic organisation where 0.64 of ties were in touch within 90 days,
compounding put the 90-day chance about 0.08 too high (analytics/STATUS.md, session 14).

The weeks are taken as exchangeable instead: a tie's weekly rate q is drawn from a Beta
distribution with mean p and concentration `dispersion` (phi), so that the number of
weeks with contact among n is beta-binomial and

    P(none in n weeks) = E[(1 - q)^n] = prod_{i < n} ((1 - p) phi + i) / (phi + i).

phi = infinity is independence. For any phi the chance over n weeks rises strictly with p,
so the order of ties never changes. phi is fitted by maximum likelihood on the weeks the
training rows counted (training.py: k of 13 weeks per tie and snapshot), for the prior on
its pooled rows and for each user on their newest snapshots, pulled towards the prior's.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analytics.training import PERIODS

# phi is searched within these bounds; the upper one is independence for every purpose
# (at p = 0.5 and 13 weeks it differs from compounding by under 0.001).
DISPERSION_RANGE = (0.05, 1.0e5)
INDEPENDENT = math.inf
# The pull of a user's phi towards the prior's, in log-likelihood units per unit of
# (log phi - log phi_prior)^2. A few hundred (tie, snapshot) units move it; a handful do not.
DISPERSION_PULL = 20.0


def any_within(p: ArrayLike, weeks: int, dispersion: float = INDEPENDENT) -> NDArray[np.float64]:
    """P(at least one week of two-way contact among `weeks`) for weekly chances `p`, the
    weeks exchangeable with concentration `dispersion` (infinity: independent)."""
    q = np.clip(np.asarray(p, float), 0.0, 1.0)
    if weeks <= 0:
        return np.zeros_like(q)
    if not math.isfinite(dispersion):
        independent: NDArray[np.float64] = 1.0 - (1.0 - q) ** weeks
        return independent
    phi = float(dispersion)
    rest = (1.0 - q) * phi
    none = np.ones_like(q)
    for i in range(weeks):
        none *= (rest + i) / (phi + i)
    out: NDArray[np.float64] = 1.0 - none
    return out


def weekly_chance(prob: ArrayLike, weeks: int, dispersion: float = INDEPENDENT) -> NDArray[np.float64]:
    """The weekly chance p whose chance over `weeks` (any_within) is `prob`: its inverse,
    found by bisection (any_within rises strictly with p)."""
    target = np.clip(np.asarray(prob, float), 0.0, 1.0)
    if not math.isfinite(dispersion):
        exact: NDArray[np.float64] = 1.0 - (1.0 - target) ** (1.0 / max(weeks, 1))
        return exact
    lo, hi = np.zeros_like(target), np.ones_like(target)
    for _ in range(60):
        mid = (lo + hi) / 2
        below = any_within(mid, weeks, dispersion) < target
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    out: NDArray[np.float64] = (lo + hi) / 2
    return out


def weeks_of_rows(
    y: ArrayLike, w: ArrayLike, periods: int = PERIODS
) -> tuple[NDArray[np.bool_], NDArray[np.int_]] | None:
    """The (tie, snapshot) units of training rows and the weeks with contact of each, read
    back from training.py's encoding: each unit is a positive row weighted k/periods (when
    k > 0) and a negative row weighted 1 - k/periods (when k < periods). A unit is its
    positive row, or its negative row when it has no positive (k = 0). None when the rows
    are not in that encoding (a weight that is not a multiple of 1/periods)."""
    y = np.asarray(y).astype(int)
    w = np.asarray(w, float)
    k = w * periods
    if not len(y) or np.any(np.abs(k - np.round(k)) > 1e-6) or np.any(w <= 0) or np.any(w > 1 + 1e-9):
        return None
    unit = (y == 1) | (np.abs(w - 1.0) <= 1e-9)
    weeks = np.where(y == 1, np.round(k), 0).astype(int)
    return unit, weeks


def _log_likelihood(log_phi: float, p: NDArray[np.float64], k: NDArray[np.int_], n: int) -> float:
    from scipy.special import betaln

    phi = math.exp(log_phi)
    a, b = p * phi, (1.0 - p) * phi
    return float(np.sum(betaln(k + a, n - k + b) - betaln(a, b)))


def fit_dispersion(
    p: ArrayLike,
    k: ArrayLike,
    *,
    periods: int = PERIODS,
    centre: float | None = None,
    pull: float = DISPERSION_PULL,
) -> float:
    """phi maximising the beta-binomial likelihood of `k` weeks with contact among
    `periods`, for units whose weekly chance is `p`, less `pull` (log phi - log centre)^2
    when `centre` is given. Without units to read: `centre`, or independence."""
    from scipy.optimize import minimize_scalar

    chance: NDArray[np.float64] = np.clip(np.asarray(p, float), 1e-4, 1 - 1e-4)
    weeks: NDArray[np.int_] = np.asarray(k).astype(int)
    fallback = INDEPENDENT if centre is None else centre
    if not len(chance):
        return fallback
    lo, hi = (math.log(v) for v in DISPERSION_RANGE)
    anchor = (
        None
        if centre is None or not math.isfinite(centre)
        else math.log(min(max(centre, DISPERSION_RANGE[0]), DISPERSION_RANGE[1]))
    )
    if centre is not None and anchor is None:
        anchor = hi  # a prior that found the weeks independent

    def loss(log_phi: float) -> float:
        out = -_log_likelihood(log_phi, chance, weeks, periods)
        if anchor is not None:
            out += pull * (log_phi - anchor) ** 2
        return out

    best = minimize_scalar(loss, bounds=(lo, hi), method="bounded", options={"xatol": 1e-3})
    log_phi = float(best.x)
    return INDEPENDENT if log_phi >= hi - 1e-2 else math.exp(log_phi)
