"""group_median and parent_senders against the plain code they replaced, value for value."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.answers import group_median
from analytics.frame import parent_senders


def reference_group_median(values: np.ndarray, groups: np.ndarray, k: int) -> np.ndarray:
    """(analytics/answers.py before: one lexsort)"""
    out = np.full(k, np.nan)
    if not len(values):
        return out
    order = np.lexsort((values, groups))
    v, g = values[order], groups[order]
    counts = np.bincount(g, minlength=k)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    has = counts > 0
    lo = starts[has] + (counts[has] - 1) // 2
    hi = starts[has] + counts[has] // 2
    out[has] = (v[lo] + v[hi]) / 2.0
    return out


@pytest.mark.parametrize("seed", range(30))
def test_group_median_equals_the_lexsort_one(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 3000))
    # Small groups and big ones, ties in value, a k past the 16-bit key now and then
    k = int(rng.choice([1, 7, 500, 70_000]))
    groups = rng.integers(0, min(k, int(rng.integers(1, 600))), n)
    values = np.round(rng.exponential(3600.0, n), int(rng.integers(-3, 3)))
    got, want = group_median(values, groups, k), reference_group_median(values, groups, k)
    assert np.array_equal(got, want, equal_nan=True)
    # And each is the median of its group (the definition)
    for g in np.unique(groups)[:20].tolist():
        assert got[g] == np.median(values[groups == g])


def reference_parent_senders(keys, senders, reply_to) -> np.ndarray:
    """(analytics/frame.build_frame before: a loop keeping each key's first sender)"""
    key_sender: dict[str, int] = {}
    for key, sender in zip(keys, senders):
        if key is not None:
            key_sender.setdefault(key, sender)
    return np.fromiter((key_sender.get(r, -2) if r is not None else -2 for r in reply_to), np.int64, len(reply_to))


@pytest.mark.parametrize("seed", range(30))
def test_parent_senders_equal_the_loop(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 400))
    pool = [None, "", *[f"k{i}" for i in range(int(rng.integers(1, 60)))]]
    keys = [pool[i] for i in rng.integers(0, len(pool), n)]  # repeated keys: the first sender counts
    senders = rng.integers(0, 9, n).tolist()
    reply_to = [(pool + ["unknown"])[i] for i in rng.integers(0, len(pool) + 1, n)]
    got = parent_senders(keys, senders, reply_to)
    assert got.dtype == np.int64 and np.array_equal(got, reference_parent_senders(keys, senders, reply_to))
