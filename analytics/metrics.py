"""The yardstick's measures over scored rows, and a bootstrap over people.

Rows are (ego, as_of, tie) triples with a 0/1 outcome (two-way contact in the 90 days
after `as_of`). Every measure is a function of row arrays, so the bootstrap can resample
*people* (whole egos, with all their dates and ties) and recompute it: ties of one person
are not independent, and the question is how the figures would hold on other people.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.stats import rankdata

TOP = 10


def auc(score: np.ndarray, label: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half)."""
    label = np.asarray(label, bool)
    n1, n0 = int(label.sum()), int((~label).sum())
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[label].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def precision_at(
    score: np.ndarray, label: np.ndarray, snapshot: np.ndarray, k: int = TOP, ego: np.ndarray | None = None
) -> float:
    """Share of each snapshot's k highest-scored ties with the outcome, averaged per ego
    over its snapshots, then over egos. Snapshots with fewer than k ties are left out (a
    user with eight ties has no top ten to get wrong); ties in score go to the lower row
    index, the same for every method."""
    order = np.lexsort((-np.asarray(score, float), snapshot))
    snap_sorted = snapshot[order]
    starts = np.flatnonzero(np.r_[True, snap_sorted[1:] != snap_sorted[:-1]])
    sizes = np.diff(np.r_[starts, len(order)])
    big = sizes >= k
    if not big.any():
        return float("nan")
    rank = np.arange(len(order)) - np.repeat(starts, sizes)
    top = order[(rank < k) & np.repeat(big, sizes)]
    per_snap = np.bincount(snapshot[top], weights=label[top].astype(float)) / k
    snaps = np.unique(snapshot[top])
    if ego is None:
        return float(per_snap[snaps].mean())
    owner = np.zeros(int(snapshot.max()) + 1, np.int64)
    owner[snapshot] = ego
    _egos, inv = np.unique(owner[snaps], return_inverse=True)
    return float((np.bincount(inv, weights=per_snap[snaps]) / np.bincount(inv)).mean())


def ece(prob: np.ndarray, label: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: rows in equal-width probability bins, the row-weighted
    mean of |mean predicted - observed rate|."""
    prob = np.clip(np.asarray(prob, float), 0.0, 1.0)
    if not len(prob):
        return float("nan")
    b = np.minimum((prob * bins).astype(int), bins - 1)
    gap = np.abs(np.bincount(b, weights=prob, minlength=bins) - np.bincount(b, weights=label, minlength=bins))
    return float(gap.sum() / len(prob))


def rate_ratio(flag: np.ndarray, reference: np.ndarray, label: np.ndarray) -> tuple[float, float, float]:
    """(future rate of flagged rows, of reference rows, their ratio)."""
    a = float(label[flag].mean()) if flag.any() else float("nan")
    b = float(label[reference].mean()) if reference.any() else float("nan")
    return a, b, (a / b if b > 0 else float("nan"))


def per_person(score: np.ndarray, label: np.ndarray, ego: np.ndarray) -> dict[int, float]:
    out = {}
    order = np.argsort(ego, kind="stable")
    e = ego[order]
    starts = np.flatnonzero(np.r_[True, e[1:] != e[:-1]])
    for a, b in zip(starts.tolist(), np.r_[starts[1:], len(e)].tolist()):
        idx = order[a:b]
        out[int(e[a])] = auc(score[idx], label[idx])
    return out


def bootstrap(
    ego: np.ndarray,
    statistic: Callable[[np.ndarray, np.ndarray], float],
    *,
    n: int = 200,
    seed: int = 15,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """(estimate, low, high): the statistic on all rows, and a percentile interval from
    resampling egos with replacement. `statistic(rows, copy)` gets row indices and, per
    row, which draw brought it (a person drawn twice brings their rows twice, as two
    people: measures that group by snapshot must keep the copies apart)."""
    egos, inv = np.unique(ego, return_inverse=True)
    order = np.argsort(inv, kind="stable")
    counts = np.bincount(inv, minlength=len(egos))
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    rng = np.random.default_rng(seed)
    estimate = statistic(np.arange(len(ego)), np.zeros(len(ego), np.int64))
    draws = []
    for _ in range(n):
        pick = rng.integers(0, len(egos), len(egos))
        rows = np.concatenate([order[starts[p] : starts[p] + counts[p]] for p in pick.tolist()])
        copy = np.repeat(np.arange(len(pick)), counts[pick])
        value = statistic(rows, copy)
        if np.isfinite(value):
            draws.append(value)
    if not draws:
        return estimate, float("nan"), float("nan")
    lo, hi = np.quantile(draws, [(1 - level) / 2, (1 + level) / 2])
    return estimate, float(lo), float(hi)
