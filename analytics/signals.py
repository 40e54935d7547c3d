"""Signals from the research on tie decay and from mail products, as feature columns.

- silence ratio: days since the last active day (a day with direct mail either way or a
  meeting) over the tie's own typical gap between active days — the median gap, shrunk
  in log space toward the user's typical gap when the tie has few gaps. Ties quiet for
  more than ~8x their rhythm usually end (Saramäki et al. on tie persistence; Burt,
  "Decay functions"). Stored as log1p of the ratio, capped at 100x.
- burstiness: (sigma - mu) / (sigma + mu) of the gaps (Goh and Barabási): -1 regular,
  0 Poisson, towards 1 bursty; 0 below three gaps.
- awaiting reply: the last direct message between the two is the contact's, to at most
  three people, and it has waited longer than the user's own usual reply time to that
  person (their median, or the user's overall habit) but under 30 days.
- inbound recency: log1p days since the contact last wrote to the user (capped at a year).
- attention share: the tie's share of the user's outgoing direct mail (1/recipients each,
  90-day half-life), as log1p(100 x share).
- introductions given and received (analytics/introductions.py), log1p counts in a year.
- network overlap: distinct other people seen with the contact in the last year over the
  user's people active in that year.

Only rows before `as_of` are read.
"""

from __future__ import annotations

from collections.abc import Collection

import numpy as np
from numpy.typing import NDArray

from analytics.answers import group_median, latencies
from analytics.columns import group_max, unique_keys
from analytics.frame import DAY, IN, OUT, SHARED, Frame, per_frame
from analytics.introductions import introductions, small_pairs

SIGNAL_FEATURES: tuple[str, ...] = (
    "silence_ratio",
    "burstiness",
    "awaiting_reply",
    "inbound_recency",
    "attention_share",
    "network_overlap",
    "introductions_given",
    "introductions_received",
)
# The sign each one's coefficient is held to when a model reads it (see features.SIGNS).
SIGNAL_SIGNS: dict[str, int] = {
    "silence_ratio": -1,
    "burstiness": 0,
    "awaiting_reply": 1,
    "inbound_recency": -1,
    "attention_share": 1,
    "network_overlap": 1,
    "introductions_given": 1,
    "introductions_received": 1,
}
SHRINK_GAPS = 2.0
AWAIT_LIMIT = 30 * DAY
ATTENTION_HALF_LIFE = 90 * DAY
YEAR = 365 * DAY
SMALL = 3


def rhythm_gaps(
    frame: Frame, as_of: float, max_size: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per contact: (last active day's age in days, median gap, gap count, burstiness);
    active days from rows with at most `max_size` people besides the user (None: any)."""
    k = frame.n_contacts
    m = (frame.t < as_of) & ((frame.direction != SHARED) | frame.meeting)
    if max_size is not None:
        m &= frame.size <= max_size
    day = np.floor(frame.t[m] / DAY).astype(np.int64)
    pairs = unique_keys(frame.c[m] * 1_000_000 + (day - day.min() if len(day) else day))
    c, d = pairs // 1_000_000, (pairs % 1_000_000).astype(float)
    last = np.full(k, np.nan)
    n_gaps = np.zeros(k)
    median = np.full(k, np.nan)
    burst = np.zeros(k)
    if not len(c):
        return last, median, n_gaps, burst
    ends = np.r_[c[1:] != c[:-1], True]
    last_day = d[ends] + (day.min() if len(day) else 0)
    last[c[ends]] = as_of / DAY - last_day - 0.5
    same = np.r_[False, c[1:] == c[:-1]]
    gc, gap = c[same], np.diff(d)[same[1:]]
    n_gaps = np.bincount(gc, minlength=k).astype(float)
    median = group_median(gap, gc, k)
    mu = np.bincount(gc, weights=gap, minlength=k) / np.maximum(n_gaps, 1)
    var = np.bincount(gc, weights=gap**2, minlength=k) / np.maximum(n_gaps, 1) - mu**2
    sigma = np.sqrt(np.maximum(var, 0.0))
    burst = np.where(n_gaps >= 3, (sigma - mu) / np.maximum(sigma + mu, 1e-9), 0.0)
    return last, median, n_gaps, burst


def silence_ratio(frame: Frame, as_of: float, max_size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(ratio of the current silence to the tie's typical gap, burstiness); NaN: never active."""
    last, median, n_gaps, burst = rhythm_gaps(frame, as_of, max_size)
    has = n_gaps > 0
    user_gap = float(np.median(median[has])) if has.any() else 30.0
    log_gap = np.where(has, np.log(np.maximum(np.nan_to_num(median, nan=1.0), 1.0)), 0.0)
    typical = np.exp((n_gaps * log_gap + SHRINK_GAPS * np.log(max(user_gap, 1.0))) / (n_gaps + SHRINK_GAPS))
    return last / typical, burst


def signal_columns(
    frame: Frame, as_of: float, reply_hours_you: float, *, only: Collection[str] | None = None
) -> dict[str, np.ndarray]:
    """The signals' columns at `as_of`; `only`: just these (and the ones worked out with them)."""
    need = set(SIGNAL_FEATURES) if only is None else set(only)

    def want(*names: str) -> bool:
        return not need.isdisjoint(names)

    k = frame.n_contacts
    mask = frame.t < as_of
    t, c, d = frame.t[mask], frame.c[mask], frame.direction[mask]
    email = ~frame.meeting[mask]
    out: dict[str, np.ndarray] = {}
    if want("silence_ratio", "burstiness"):
        ratio, burst = silence_ratio(frame, as_of)
        out["silence_ratio"] = np.log1p(np.minimum(np.nan_to_num(ratio, nan=100.0), 100.0))
        out["burstiness"] = burst

    def latest(sel: NDArray[np.bool_]) -> NDArray[np.float64]:
        return group_max(c[sel], t[sel], k)

    if want("awaiting_reply", "inbound_recency"):
        last_in = latest(email & (d == IN))
    if want("awaiting_reply"):
        last_in_small = latest(email & (d == IN) & (frame.size[mask] <= SMALL))
        last_out = latest(email & (d == OUT))
        answered, _, lat = latencies(frame, as_of, mask, IN)
        usual = group_median(lat[answered], frame.c[answered], k)
        usual = np.where(np.isnan(usual), reply_hours_you * 3600.0, usual)
        waited = as_of - last_in_small
        out["awaiting_reply"] = (
            (last_in_small >= last_in) & (last_in > last_out) & (waited > usual) & (waited <= AWAIT_LIMIT)
        ).astype(float)
    if want("inbound_recency"):
        out["inbound_recency"] = np.log1p(np.minimum((as_of - last_in) / DAY, 365.0))

    if want("attention_share"):
        w = np.exp2(-(as_of - t) / ATTENTION_HALF_LIFE) / frame.size[mask]
        sent = email & (d == OUT)
        mine = np.bincount(c, weights=w * sent, minlength=k)  # unsent rows weigh 0 (as vol in features.py)
        out["attention_share"] = np.log1p(100.0 * mine / max(mine.sum(), 1e-12))

    if want("network_overlap"):
        out["network_overlap"] = _overlap(frame, as_of - YEAR, as_of)
    if want("introductions_given", "introductions_received"):
        out["introductions_given"], out["introductions_received"] = introductions(frame, as_of)
    return out


@per_frame
def co_pairs(frame: Frame) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Every pair of contacts on one exchange of 2 to CO_MAX contacts, as (smaller *
    n_contacts + larger contact index, the exchange's time), sorted by pair then time.
    Worked out once per frame (from introductions.small_pairs); a snapshot takes the pairs
    of its window (`_overlap`)."""
    i, _, pair, by_pair = small_pairs(frame)
    return pair[by_pair], frame.t[frame.by_exchange][i[by_pair]]


def _overlap(frame: Frame, start: float, end: float) -> np.ndarray:
    """Distinct other people seen with each contact in [start, end) (on messages of at most
    CO_MAX people besides the user) over the user's people seen in that window."""
    k = frame.n_contacts
    inside = (frame.t >= start) & (frame.t < end)
    seen = int(np.count_nonzero(np.bincount(frame.c[inside], minlength=k)))
    key, at = co_pairs(frame)
    key = key[(at >= start) & (at < end)]
    if not len(key):
        return np.zeros(k)
    pairs = key[np.r_[True, key[1:] != key[:-1]]]  # sorted by pair: each pair once
    distinct = np.bincount(pairs // k, minlength=k) + np.bincount(pairs % k, minlength=k)
    return distinct / max(seen - 1, 1)
