"""The rhythm of a tie: cooling against its own baseline, dormant after a strong past.

Counts are *active days* (days with a personal message either way or a small meeting), which tames the
burstiness of long threads. Cooling: the last 90 days hold significantly fewer active days
than the tie's own history predicts (a conditional binomial test of two Poisson rates
against everything seen in the 640 days before those 90 — two years in all), with
Benjamini-Hochberg control of the false discovery rate across all of the user's ties,
*and* the recent rate is at most half the rate of the year just before it (so a tie that
faded long ago and has been steady since is not news). That rate test is `rate_drop`;
`cooling` is the rate test on a tie that has also gone quiet: silent for more than
COOLING_SILENCE times its own usual gap (the silence ratio, signals.silence_ratio) and for
at least COOLING_QUIET_DAYS. Dormant: a long silence (DORMANT_DAYS) after a strong peak,
also more than DORMANT_SILENCE times the tie's usual gap; the revival value says how much
the tie was worth at its best and how long it has slept.

Why the silence: on the Enron backtest (development people only), active ties that passed
the rate test alone were in two-way touch in the next 90 days at 0.66x the rate of active
unflagged ties (the issue's bar is 0.5); a tie that keeps writing at a lower pace does not
go quiet. Those also silent > 8x their rhythm and >= 60 days: 0.25x. Whether a flag is
shown at all is decided by analytics/flag_gate.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import binom

from analytics.features import PERSONAL, personal_two_way
from analytics.columns import group_max, group_min, unique_keys
from analytics.frame import DAY, SHARED, Frame
from analytics.signals import silence_ratio

RECENT = 90 * DAY
BASELINE = 365 * DAY
# The significance test reads the tie's whole known past, up to two years: a tie that began
# to fade months ago has a year before the last quarter already half-faded, and a test
# against that year alone lacks the power to see the drop. The size of the drop is still
# judged against the year (MIN_DROP), as a person would judge it.
HISTORY_DAYS = 640
MIN_BASELINE = 120 * DAY
FDR = 0.20
MIN_DROP = 0.5  # recent rate at most half the baseline rate (and a significant drop)
MIN_BASELINE_DAYS = 12  # active days in the baseline year for a tie to be able to cool
PEAK_BIN = 90 * DAY
DORMANT_PEAK_DAYS = 6  # active days in the best quarter to call a silent tie dormant
# Published work on tie persistence: ties quiet for more than ~8x their rhythm usually end.
# Not tuned on Enron; the day floors are (analytics/flag_study.py has every variant tried).
COOLING_SILENCE = 8.0  # cooling: silent for more than 8x the tie's usual gap ...
COOLING_QUIET_DAYS = 60.0  # ... and for at least two months (the outcome is 90 days out)
DORMANT_SILENCE = 8.0
# 270 days, not a year: with a year, 29 ties were flagged in 19 months of 108 development
# people (1.3 revivals expected at the average tie's rate, too few to measure); with 270
# days, 80 (5.8 expected, none revived). The synthetic world's 24 dormant ties are found
# either way, with no false one.
DORMANT_DAYS = 270.0


@dataclass(frozen=True)
class Rhythm:
    recent_days: np.ndarray  # active days in the last 90 days
    baseline_days: np.ndarray  # active days in the baseline window
    baseline_span: np.ndarray  # length of the baseline window actually observed (days)
    p_cooling: np.ndarray
    cooling: np.ndarray  # rate_drop, and silent > COOLING_SILENCE x its rhythm and >= COOLING_QUIET_DAYS
    rate_drop: np.ndarray  # the rate test alone (significant drop, at most half the year before)
    silence_days: np.ndarray
    silence_ratio: np.ndarray  # current silence / the tie's typical gap (signals.silence_ratio)
    peak_days: np.ndarray  # active days in the tie's best 90-day stretch
    peak_end: np.ndarray  # epoch seconds at the end of that stretch
    dormant: np.ndarray
    revival: np.ndarray  # 0..100
    interval_days: np.ndarray  # typical days between active days at baseline (nan if none)
    last_contact: np.ndarray | None = None  # epoch seconds of the last personal contact (nan if none)


def benjamini_hochberg(p: np.ndarray, q: float = FDR) -> np.ndarray:
    """Which of the p-values are discoveries at false discovery rate q (NaN: not tested)."""
    tested = np.flatnonzero(~np.isnan(p))
    out = np.zeros(len(p), bool)
    if not len(tested):
        return out
    ps = p[tested]
    order = np.argsort(ps, kind="stable")
    m = len(ps)
    below = ps[order] <= q * np.arange(1, m + 1) / m
    if below.any():
        cutoff = np.flatnonzero(below).max()
        out[tested[order[: cutoff + 1]]] = True
    return out


def rhythm(frame: Frame, as_of: float, present: np.ndarray, *, dormant_days: float = DORMANT_DAYS) -> Rhythm:
    k = frame.n_contacts
    # Personal rows only (direct mail or meetings with at most three others): group mail
    # keeps flowing while a friendship cools, and would hide it.
    m = (frame.t < as_of) & ((frame.direction != SHARED) | frame.meeting) & (frame.size <= PERSONAL)
    c = frame.c[m]
    day = np.floor((as_of - frame.t[m]) / DAY).astype(np.int64)  # 0 = the last 24 hours
    pairs = unique_keys(c * 1_000_000 + day)
    pc, pday = pairs // 1_000_000, pairs % 1_000_000

    recent = np.bincount(pc[pday < 90], minlength=k).astype(float)
    base_sel = (pday >= 90) & (pday < 90 + 365)
    baseline = np.bincount(pc[base_sel], minlength=k).astype(float)
    # A second count: days with two-way contact (an answered conversation or a meeting),
    # the unit a relationship lives on. A tie cools if either count fell significantly;
    # the two p-values are combined by Simes' test (min(2 x smaller, larger)), which is
    # valid for counts that rise and fall together, as these two do, and less wasteful
    # than a Bonferroni factor of two.
    e = personal_two_way(frame, end=as_of)
    e_pairs = unique_keys(frame.c[e] * 1_000_000 + np.floor((as_of - frame.t[e]) / DAY).astype(np.int64))
    ec, eday = e_pairs // 1_000_000, e_pairs % 1_000_000
    recent2 = np.bincount(ec[eday < 90], minlength=k).astype(float)
    baseline2 = np.bincount(ec[(eday >= 90) & (eday < 90 + 365)], minlength=k).astype(float)
    first_day = group_max(pc, pday.astype(float), k, empty=0.0)
    span = np.clip(first_day + 1 - 90, 0, 365)  # observed baseline days

    history = np.bincount(pc[pday >= 90], weights=(pday[pday >= 90] < 90 + HISTORY_DAYS), minlength=k)
    history2 = np.bincount(ec[eday >= 90], weights=(eday[eday >= 90] < 90 + HISTORY_DAYS), minlength=k)
    history_span = np.clip(first_day + 1 - 90, 0, HISTORY_DAYS)

    share = 90.0 / (90.0 + np.maximum(history_span, 1))
    long_enough = present & (span >= MIN_BASELINE / DAY)
    ps = []
    dropped_any = np.zeros(k, bool)
    for r, b, h in ((recent, baseline, history), (recent2, baseline2, history2)):
        testable = long_enough & (b >= MIN_BASELINE_DAYS)
        p = np.where(testable, binom.cdf(r.astype(int), (r + h).astype(int), share), np.nan)
        dropped = testable & (r / 90.0 <= MIN_DROP * b / np.maximum(span, 1))
        p = np.where(testable & (r / 90.0 < b / np.maximum(span, 1)), p, np.where(testable, 1.0, np.nan))
        ps.append(p)
        dropped_any |= dropped
    # A count that cannot be tested is left out (NaN is ignored); none: not tested.
    low = np.fmin(*ps)
    high = np.where(np.isnan(ps[0]) | np.isnan(ps[1]), np.nan, np.fmax(*ps))
    p = np.where(np.isnan(high), np.minimum(1.0, low), np.minimum(np.minimum(1.0, 2 * low), high))
    dropped = dropped_any

    last_day = group_min(pc, pday.astype(float), k)
    silence = np.where(present, last_day, np.nan)

    # Best 90-day stretch: active days per 90-day bin counted back from as_of.
    bins = pday // 90
    nb = int(bins.max()) + 1 if len(bins) else 1
    per_bin = np.bincount(pc * nb + bins, minlength=k * nb).reshape(k, nb)
    peak = per_bin.max(axis=1).astype(float)
    peak_bin = per_bin.argmax(axis=1)
    peak_end = as_of - peak_bin * PEAK_BIN

    ratio, _ = silence_ratio(frame, as_of, PERSONAL)
    ratio = np.nan_to_num(ratio, nan=np.inf)
    dormant = present & (silence >= dormant_days) & (peak >= DORMANT_PEAK_DAYS) & (ratio > DORMANT_SILENCE)
    rate_drop = benjamini_hochberg(p) & dropped & ~dormant
    cooling = rate_drop & (ratio > COOLING_SILENCE) & (np.nan_to_num(silence, nan=0.0) >= COOLING_QUIET_DAYS)
    strength_then = np.clip(peak / 24.0, 0, 1)  # two active days a week is as strong as it gets
    fade = np.exp(-np.maximum(np.nan_to_num(silence, nan=0.0) - dormant_days, 0) / (3 * 365.0))
    revival = np.where(dormant, np.round(100 * strength_then * fade), 0.0)
    interval = np.where(baseline > 0, np.maximum(span, 1) / np.maximum(baseline, 1), np.nan)
    last_contact = group_max(c, frame.t[m], k)
    last_contact = np.where(np.isfinite(last_contact), last_contact, np.nan)
    return Rhythm(
        recent,
        baseline,
        span,
        p,
        cooling,
        rate_drop,
        silence,
        ratio,
        peak,
        peak_end,
        dormant,
        revival,
        interval,
        last_contact,
    )
