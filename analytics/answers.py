"""Answers between the user and each contact: which messages were answered, how fast,
and per-contact medians of such figures.

Shared by features, signals and reciprocity, so none of them imports another for it.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from analytics.frame import GAP, Frame


def group_median(values: np.ndarray, groups: np.ndarray, k: int) -> np.ndarray:
    """Median of `values` per group index in range(k) (NaN for an empty group)."""
    out = np.full(k, np.nan)
    if not len(values):
        return out
    whole = values.astype(np.int64)
    if (
        values.dtype.kind == "f"
        and k < 1 << 31
        and np.array_equal(whole, values)
        and whole.min() >= 0
        and whole.max() < 1 << 31
        and not np.signbit(values).any()
    ):
        # Whole numbers (gaps in days): group and value packed in one integer, one sort.
        v = (np.sort((groups.astype(np.int64) << 31) | whole) & ((1 << 31) - 1)).astype(np.float64)
    else:
        # Values sorted, then stably by group: each group's values in order. A 16-bit group
        # key gets numpy's radix sort, three times as fast as lexsort on a big mailbox.
        by_value = np.argsort(values)
        g = groups[by_value]
        by_group = np.argsort(g.astype(np.uint16) if k <= 1 << 16 else g, kind="stable")
        v = values[by_value][by_group]
    counts = np.bincount(groups, minlength=k)
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    has = counts > 0
    lo = starts[has] + (counts[has] - 1) // 2
    hi = starts[has] + counts[has] // 2
    out[has] = (v[lo] + v[hi]) / 2.0
    return out


def latencies(
    frame: Frame, as_of: float, mask: np.ndarray, direction: int
) -> tuple[NDArray[np.bool_], NDArray[np.bool_], NDArray[np.float64]]:
    """Rows of `direction` (the side being answered) and the answer latency, answered
    within 7 days and before as_of; also which rows are old enough to be judged."""
    rows = mask & (frame.direction == direction) & ~frame.meeting
    lat = frame.answer_t - frame.t
    answered = rows & (frame.answer_t < as_of) & (lat <= GAP)
    judged = answered | (rows & (frame.t <= as_of - GAP))
    return answered, judged, lat
