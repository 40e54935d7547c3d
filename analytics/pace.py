"""The pace of a tie: how many events a month it keeps up, measured over several windows.

Pure functions over event times `t` and contact indices `c` (events before `as_of` only),
returning events per 30 days per contact index. Read by features.py for the strength
model: each is built so that an added event can never lower it, or says where it can.
"""

from __future__ import annotations

import numpy as np

from analytics.columns import group_max
from analytics.frame import DAY


RATE_WINDOWS = (90, 180, 365, 730)  # days
STEADY_P = 0.05


def typical_rate(t: np.ndarray, c: np.ndarray, as_of: float, first: np.ndarray, k: int) -> np.ndarray:
    """Events per 30 days: the median of the rates over each of RATE_WINDOWS (and 45 days).

    Like `steady_rate` it is quiet for a steady tie and follows a tie that changed (the
    short windows outvote the long ones after a few months), but as a median of counts it
    can only rise when an event is added, so the strength model may rely on it.
    """
    age = np.where(np.isfinite(first), np.clip((as_of - first) / DAY, 1.0, None), 1.0)
    days = (as_of - t) / DAY
    rates = np.stack([np.bincount(c[days < w], minlength=k) / np.minimum(age, float(w)) for w in (45,) + RATE_WINDOWS])
    return np.median(rates, axis=0) * 30.0


SUSTAINED_WINDOWS = (45,) + RATE_WINDOWS


def sustained_rate(t: np.ndarray, c: np.ndarray, as_of: float, first: np.ndarray, k: int) -> np.ndarray:
    """Events per 30 days: the lowest, over the last 45, 90, 180, 365 and 730 days (each
    within the tie's age), of a one-sigma upper bound on the window's Poisson rate,
    (n + 1 + sqrt(n + 1/4)) / days.

    A steady tie is held to the bound of its longest window, the tightest one, so a few
    events more or less in a quarter barely move it; a tie that fell silent or faded is
    held down by its recent windows, whose bound is low. Each bound grows with its count,
    and so does their minimum: adding an event never lowers it.
    """
    return _sustained(t, c, as_of, first, k)[0] * 30.0


def sustained_window(
    t: np.ndarray, c: np.ndarray, as_of: float, first: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray]:
    """The window that sets `sustained_rate`, per contact: its days (within the tie's age)
    and the events in it. "No two-way exchange in the last 12 months" says what the rate
    rests on; the bound itself is no number to show a person."""
    _, days, events = _sustained(t, c, as_of, first, k)
    return days, events


def _sustained(
    t: np.ndarray, c: np.ndarray, as_of: float, first: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(the lowest bound per day, its window's days, the events in that window)."""
    age = np.where(np.isfinite(first), np.clip((as_of - first) / DAY, 1.0, None), 1.0)
    ago = (as_of - t) / DAY
    out = np.full(k, np.inf)
    days = np.zeros(k)
    events = np.zeros(k, np.int64)
    for w in SUSTAINED_WINDOWS:
        n = np.bincount(c[ago < w], minlength=k)
        span = np.minimum(age, float(w))
        bound = (n + 1.0 + np.sqrt(n + 0.25)) / span
        lower = bound < out
        out = np.where(lower, bound, out)
        days = np.where(lower, span, days)
        events = np.where(lower, n, events)
    return out, days, events


KEPT_SILENCE = 3.0  # events a tie would have had to miss for its silence to cap its rate


def kept_rate(sustained: np.ndarray, t: np.ndarray, c: np.ndarray, as_of: float, k: int) -> np.ndarray:
    """`sustained` (events per 30 days) capped by KEPT_SILENCE events over the silence since
    the tie's last event: a tie keeping its rhythm is not touched (its silence is shorter
    than three of its gaps), a fast tie that has missed three beats is held to the pace
    its silence allows (a slow one is held down by the sustained rate's own windows). An added event shortens the silence or raises `sustained`: it never
    lowers the result.
    """
    last = group_max(c, t, k)
    silence = np.maximum((as_of - last) / DAY, 1.0)
    kept: np.ndarray = np.minimum(sustained, KEPT_SILENCE * 30.0 / silence)
    return kept


def _binom_cdf(k: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """scipy.stats.binom.cdf(k, n, p), value for value, for counts `n` and shares `p` in
    [0, 1] (what steady_rate passes): the same ufunc and the same handling of k outside
    [0, n), without rv_discrete's generic argument checks, which cost 3-4x the
    computation on arrays of a few hundred contacts (most of a backtest's time here)."""
    from scipy.special import _ufuncs

    out = np.where(k >= n, 1.0, 0.0)
    inside = (k >= 0) & (k < n)
    out[inside] = np.clip(_ufuncs._binom_cdf(np.floor(k[inside]), n[inside], p[inside]), 0, 1)
    return out


def _binom_sf(k: np.ndarray, n: np.ndarray, p: np.ndarray) -> np.ndarray:
    """scipy.stats.binom.sf(k, n, p), value for value, under the same terms as _binom_cdf."""
    from scipy.special import _ufuncs

    out = np.where(k < 0, 1.0, 0.0)
    inside = (k >= 0) & (k < n)
    out[inside] = np.clip(_ufuncs._binom_sf(np.floor(k[inside]), n[inside], p[inside]), 0, 1)
    return out


def steady_rate(t: np.ndarray, c: np.ndarray, as_of: float, first: np.ndarray, k: int) -> np.ndarray:
    """Events per 30 days over the longest window (of RATE_WINDOWS, within the tie's age)
    whose recent parts (last 45, 90, 180, 365 days) are all consistent with the whole of
    it (two-sided binomial tests).

    A steady tie is measured over up to two years, which quiets the noise of a few
    events per quarter; a tie that changed is measured over its recent, changed part.
    """
    age = np.where(np.isfinite(first), np.clip((as_of - first) / DAY, 1.0, None), 1.0)
    days = (as_of - t) / DAY
    recent_span = np.minimum(age, 90.0)
    rate = np.bincount(c[days < 90], minlength=k) / recent_span
    steady = np.ones(k, bool)
    for w in RATE_WINDOWS[1:]:
        span = np.minimum(age, float(w))
        n = np.bincount(c[days < w], minlength=k).astype(float)
        consistent = np.ones(k, bool)
        for part in (45.0, 90.0, 180.0, 365.0):
            if part >= w:
                break
            part_span = np.minimum(age, part)
            part_n = np.bincount(c[days < part], minlength=k).astype(float)
            share = part_span / np.maximum(span, 1.0)
            p = 2 * np.minimum(_binom_cdf(part_n, n, share), _binom_sf(part_n - 1, n, share))
            consistent &= p > STEADY_P
        longer = steady & (span > recent_span)
        rate = np.where(longer & consistent, n / np.maximum(span, 1.0), rate)
        steady &= consistent | ~longer
    return rate * 30.0
