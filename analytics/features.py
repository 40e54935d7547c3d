"""Numeric features of every tie at one moment, computed from a Frame with numpy.

Each feature is a column of a (contacts x features) matrix; rows are contact indices of the
frame. Only rows strictly before `as_of` are read, and answers are only counted once they
happened before `as_of`, so a snapshot in the past sees exactly what was known then.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from analytics.answers import group_median, latencies
from analytics.pace import kept_rate, steady_rate, sustained_rate, typical_rate
from analytics.columns import group_max, group_min, unique_keys
from analytics.frame import DAY, IN, OUT, SHARED, WEEK, Frame
from analytics.signals import SIGNAL_FEATURES, signal_columns

FEATURES: tuple[str, ...] = (
    "recency",  # log1p days since the last interaction of any kind
    "days_since_two_way",  # log1p days since the last answer either way or small meeting
    "never_two_way",
    "volume_out",  # audience-weighted messages to them, 30-day half-life
    "volume_in",
    "volume_shared",  # both on a third person's message
    "meeting_hours",  # hours / attendees, 30-day half-life
    "volume_long",  # everything direct, 180-day half-life
    "one_to_one_share",  # of the last year's interactions
    "small_group_share",  # audience <= 5
    "tie_age",  # log1p days since the first interaction
    "active_weeks",  # of the last 52, as a fraction
    "reply_rate_you",  # their messages you answered within 7 days (smoothed)
    "reply_rate_them",
    "reply_latency_you",  # log(median hours / your usual median hours)
    "reply_latency_them",
    "initiations_you",  # log1p count, last 180 days
    "initiations_them",
    "meetings_you_organised",  # log1p count, last 180 days
    "meetings_they_organised",
    "overlap_closest",  # share of their co-participants who are among your closest ties
    "two_way_weeks",  # share of the last 13 weeks with personal two-way contact
    "two_way_volume",  # log1p personal answers and meetings, 30-day half-life
    "two_way_steady",  # the same with a 90-day half-life
    "two_way_long",  # the same with a 365-day half-life
    "two_way_rate",  # log1p monthly rate over the longest window the rate has been steady
    "two_way_typical",  # log1p median of the monthly rates over 45, 90, 180, 365, 730 days
    "volume_mutual",  # the smaller of volume_out and volume_in: flow that goes both ways
    "recency_mutual",  # log1p days since *both* sides last wrote or met (the later of the two)
    "two_way_sustained",  # log1p monthly rate the tie has kept up over every recent window
    "two_way_kept",  # the same, with the silence since the last two-way event as one more window
    "contact_kept",  # the same on days with any direct contact (mail either way or a meeting)
    "mail_30",  # log1p direct mail both ways, 1/recipients each, 30-day half-life
    "mail_90",  # the same, 90-day half-life (the yardstick's decayed-count baseline)
    "mail_365",  # the same, 365-day half-life
    # analytics/signals.py:
    "silence_ratio",
    "burstiness",
    "awaiting_reply",
    "inbound_recency",
    "attention_share",
    "network_overlap",
    "introductions_given",
    "introductions_received",
)
F = {name: i for i, name in enumerate(FEATURES)}
# What the strength model reads, with the sign each coefficient is held to (+1: more is
# stronger, -1: more is weaker, 0: free). Only features that more contact can move one way
# only are here, so an extra message or answer from the contact can never lower strength;
# the rest (reply latencies, the user's own reply rate, initiations, shares, overlap, the
# adaptive rate) can move either way when a message is added and serve the explanations.
SIGNS: dict[str, int] = {
    "recency_mutual": -1,
    "days_since_two_way": -1,
    "never_two_way": -1,
    "volume_mutual": 1,
    "volume_shared": 1,
    "meeting_hours": 1,
    "volume_long": 1,
    "tie_age": 1,
    "active_weeks": 1,
    "reply_rate_them": 1,
    "meetings_you_organised": 1,
    "meetings_they_organised": 1,
    "two_way_weeks": 1,
    "two_way_volume": 1,
    "two_way_steady": 1,
    "two_way_long": 1,
    "two_way_typical": 1,
    "two_way_sustained": 1,
    "two_way_kept": 1,
    "contact_kept": 1,
    "mail_30": 1,
    "mail_90": 1,
    "mail_365": 1,
    # A message from the contact shortens it; one from the user leaves it as it was.
    "inbound_recency": -1,
    "recency": -1,
    # More people in common, and more introductions either way: a contact's own message
    # to the user adds no co-participant and no introduction, so neither can fall.
    "network_overlap": 1,
    "introductions_given": 1,
    "introductions_received": 1,
}
# The few the model reads (issue 15): long-window rates that a tie keeping its rhythm holds
# steady, capped by a silence longer than three of its beats, plain volumes, the days since
# the last two-way exchange, decayed counts of direct mail at three half-lives (30, 90, 365
# days) and the days since the contact last wrote. Chosen on the Enron yardstick *and* the
# synthetic world together: any-contact recency and the network signals lift Enron but cost
# the world's Spearman (see analytics/STATUS.md for the measured lifts).
MODEL_FEATURES: tuple[str, ...] = (
    "days_since_two_way",
    "volume_long",
    "two_way_long",
    "two_way_typical",
    "volume_mutual",
    "two_way_sustained",
    "two_way_kept",
    "contact_kept",
    "mail_30",
    "mail_90",
    "mail_365",
    "inbound_recency",
)
assert set(MODEL_FEATURES) <= set(SIGNS)
# What the prior (fitted on other people's real mail, prior.json) reads: the model's
# features, the days since the last contact of any kind, and the share of the user's people
# seen with the contact (network overlap). On real mail both lift the ranking of future
# contact (analytics/STATUS.md, session 10: with the held-out blend weight, +0.013 and
# +0.021 pooled AUC on two disjoint sets of Enron people). In the synthetic world, whose ties
# keep a planned metronome pace, recency misleads: there the user's own model, which reads
# neither, earns the blend on the user's newest snapshots (StrengthModel._blend_weight).
PRIOR_FEATURES: tuple[str, ...] = MODEL_FEATURES + ("recency", "network_overlap")
assert set(PRIOR_FEATURES) <= set(SIGNS)
# What the feedback layer (feedback_layer.py) measures likeness of ties on: the model's
# pace and volume features without the three decayed mail counts and inbound recency,
# which repeat the volumes at other half-lives and would count mail volume four times in
# the kernel's distance (with them, one of 80 unrelated ties moved 5.3 points on a label,
# past the layer's 5-point bound in tests/unit/test_feedback_learning.py).
LAYER_FEATURES: tuple[str, ...] = MODEL_FEATURES[:8]
assert "mail_30" not in LAYER_FEATURES

SHORT_HALF_LIFE = 30 * DAY
LONG_HALF_LIFE = 180 * DAY
YEAR = 365 * DAY
LEDGER_WINDOW = 180 * DAY
SMALL = 5
CLOSEST = 20


@dataclass(frozen=True)
class Habits:
    """What is normal for this user, so a tie is judged against the user's own baseline."""

    reply_hours_you: float  # median hours the user takes to answer anyone
    reply_hours_them: float  # median hours contacts take to answer the user
    reply_rate_you: float
    reply_rate_them: float


@dataclass(frozen=True)
class Snapshot:
    as_of: float
    present: np.ndarray  # bool per contact index: seen before as_of
    X: np.ndarray  # (n_contacts, n_features); rows of absent contacts are zeros
    last: np.ndarray  # last interaction time (nan if none)
    habits: Habits
    # last two-way contact (an answer either way, or a meeting of at most SMALL people);
    # nan if none
    last_two_way: np.ndarray | None = None


def _decay(age: np.ndarray, half_life: float) -> np.ndarray:
    return np.exp2(-age / half_life)


def habits_of(frame: Frame, as_of: float) -> Habits:
    mask = frame.t < as_of
    # The user answers IN rows; contacts answer OUT rows.
    a_you, j_you, lat = latencies(frame, as_of, mask, IN)
    a_them, j_them, _ = latencies(frame, as_of, mask, OUT)
    hy = float(np.median(lat[a_you])) / 3600 if a_you.any() else 24.0
    ht = float(np.median(lat[a_them])) / 3600 if a_them.any() else 24.0
    ry = (a_you.sum() + 1.0) / (j_you.sum() + 2.0)
    rt = (a_them.sum() + 1.0) / (j_them.sum() + 2.0)
    return Habits(max(hy, 0.05), max(ht, 0.05), float(ry), float(rt))


def snapshot(
    frame: Frame, as_of: float, habits: Habits | None = None, *, only: Collection[str] | None = None
) -> Snapshot:
    """Every tie's features at `as_of`. `only`: compute just these columns (and what they
    are made from); the others are NaN, so that a reader of a column it did not ask for
    fails loudly instead of reading zeros. A model reads a dozen of the ~40 columns, and a
    training or past snapshot needs no more (at a million exchanges, ~0.3 CPU-s against ~1)."""
    need = set(FEATURES) if only is None else set(only)
    unknown = need - set(FEATURES)
    if unknown:
        raise ValueError(f"unknown features: {sorted(unknown)}")

    def want(*names: str) -> bool:
        return not need.isdisjoint(names)

    k = frame.n_contacts
    mask = frame.t < as_of
    habits = habits or habits_of(frame, as_of)
    X = np.zeros((k, len(FEATURES)))
    t, c = frame.t[mask], frame.c[mask]
    present = np.bincount(c, minlength=k) > 0
    age = as_of - t
    d = frame.direction[mask]
    meet = frame.meeting[mask]
    size = frame.size[mask].astype(np.float64)
    w = 1.0 / size
    direct = d != SHARED
    engaged = direct | meet  # the contact and the user dealt with each other

    last = group_max(c, t, k)
    first = group_min(c, t, k)
    two_way_rows = (frame.reply[mask]) | (meet & (size <= SMALL))
    last2 = group_max(c[two_way_rows], t[two_way_rows], k)

    days_age = np.where(present, (as_of - first) / DAY, 0.0)
    # Capped at a year: beyond it a silence means the same, and a linear model must not
    # extrapolate from the few ties that were silent for longer.
    X[:, F["recency"]] = np.log1p(np.minimum(np.where(present, (as_of - last) / DAY, 0.0), 365.0))
    never = ~np.isfinite(last2)
    since2 = np.where(never, days_age + 365.0, (as_of - last2) / DAY)
    X[:, F["days_since_two_way"]] = np.log1p(np.minimum(np.where(present, since2, 0.0), 365.0))
    X[:, F["never_two_way"]] = (never & present).astype(float)

    email = ~meet
    if want("volume_out", "volume_in", "volume_shared", "meeting_hours", "volume_mutual"):
        short = _decay(age, SHORT_HALF_LIFE)

    def vol(sel: np.ndarray, weights: np.ndarray) -> np.ndarray:
        # The rows left out weigh 0 (the weights are finite): the same sums, in the same
        # order, as over the selected rows alone, without copying them out first.
        return np.log1p(np.bincount(c, weights=weights * sel, minlength=k))

    if want("volume_out", "volume_in", "volume_mutual"):
        X[:, F["volume_out"]] = vol(email & (d == OUT), w * short)
        X[:, F["volume_in"]] = vol(email & (d == IN), w * short)
    if want("volume_shared"):
        X[:, F["volume_shared"]] = vol(email & (d == SHARED), w * short)
    if want("meeting_hours", "volume_long", "overlap_closest"):
        mh = frame.hours[mask] * w
    if want("meeting_hours"):
        X[:, F["meeting_hours"]] = vol(meet, mh * short)
    if want("volume_long", "overlap_closest"):
        # A one-hour meeting between two people weighs like a short exchange of messages.
        X[:, F["volume_long"]] = vol(engaged, np.where(meet, 2.0 * mh, w) * _decay(age, LONG_HALF_LIFE))

    if want("one_to_one_share", "small_group_share"):
        year = engaged & (age < YEAR)
        n_year = np.bincount(c[year], minlength=k)
        safe = np.maximum(n_year, 1)
        X[:, F["one_to_one_share"]] = np.bincount(c[year & (size <= 1)], minlength=k) / safe
        X[:, F["small_group_share"]] = np.bincount(c[year & (size <= SMALL)], minlength=k) / safe
    X[:, F["tie_age"]] = np.log1p(days_age)

    if want("active_weeks"):
        week = np.floor(age / WEEK).astype(np.int64)
        recent = engaged & (week < 52)
        if recent.any():
            pairs = unique_keys(c[recent] * 52 + week[recent])
            X[:, F["active_weeks"]] = np.bincount(pairs // 52, minlength=k) / 52.0

    for _side, answered_dir, rate_col, lat_col, habit_h, habit_r in (
        ("you", IN, "reply_rate_you", "reply_latency_you", habits.reply_hours_you, habits.reply_rate_you),
        ("them", OUT, "reply_rate_them", "reply_latency_them", habits.reply_hours_them, habits.reply_rate_them),
    ):
        if not want(rate_col, lat_col):
            continue
        answered, judged, lat = latencies(frame, as_of, mask, answered_dir)
        n_j = np.bincount(frame.c[judged], minlength=k)
        n_a = np.bincount(frame.c[answered], minlength=k)
        X[:, F[rate_col]] = (n_a + 2.0 * habit_r) / (n_j + 2.0)
        med = group_median(lat[answered] / 3600.0, frame.c[answered], k)
        rel = np.log(np.maximum(med, 0.05) / habit_h)
        # Unknown latency sits at the user's habit (0), shrunk toward it with few answers.
        X[:, F[lat_col]] = np.where(np.isnan(med), 0.0, rel * n_a / (n_a + 2.0))

    if want("initiations_you", "initiations_them", "meetings_you_organised", "meetings_they_organised"):
        window = age < LEDGER_WINDOW
        init = frame.initiation[mask] & window
        X[:, F["initiations_you"]] = np.log1p(np.bincount(c[init & (d == OUT)], minlength=k))
        X[:, F["initiations_them"]] = np.log1p(np.bincount(c[init & (d == IN)], minlength=k))
        X[:, F["meetings_you_organised"]] = np.log1p(np.bincount(c[meet & window & (d == OUT)], minlength=k))
        X[:, F["meetings_they_organised"]] = np.log1p(np.bincount(c[meet & window & (d == IN)], minlength=k))

    if want("overlap_closest"):
        X[:, F["overlap_closest"]] = _overlap(frame, mask, X[:, F["volume_long"]], present, k)
    if want("two_way_weeks"):
        X[:, F["two_way_weeks"]] = two_way_weeks(frame, as_of - 13 * WEEK, 13, before=as_of) / 13.0
    paced = ("two_way_rate", "two_way_typical", "two_way_sustained", "two_way_kept")
    if want("two_way_volume", "two_way_steady", "two_way_long", *paced):
        personal = personal_two_way(frame, end=as_of)[mask]
    for name, half_life in (("two_way_volume", 30), ("two_way_steady", 90), ("two_way_long", 365)):
        if want(name):
            X[:, F[name]] = np.log1p(
                np.bincount(c[personal], weights=_decay(age[personal], half_life * DAY), minlength=k)
            )
    if want("two_way_rate"):
        X[:, F["two_way_rate"]] = np.log1p(steady_rate(t[personal], c[personal], as_of, first, k))
    if want("two_way_typical"):
        X[:, F["two_way_typical"]] = np.log1p(typical_rate(t[personal], c[personal], as_of, first, k))
    if want("two_way_sustained", "two_way_kept"):
        sustained = sustained_rate(t[personal], c[personal], as_of, first, k)
        X[:, F["two_way_sustained"]] = np.log1p(sustained)
        X[:, F["two_way_kept"]] = np.log1p(kept_rate(sustained, t[personal], c[personal], as_of, k))
    if want("contact_kept"):
        days = unique_keys(c[engaged] * 100_000 + np.floor(age[engaged] / DAY).astype(np.int64))
        day_c, day_t = days // 100_000, as_of - (days % 100_000 + 0.5) * DAY
        kept = kept_rate(sustained_rate(day_t, day_c, as_of, first, k), day_t, day_c, as_of, k)
        X[:, F["contact_kept"]] = np.log1p(kept)
    for name, half_life in (("mail_30", 30), ("mail_90", 90), ("mail_365", 365)):
        if want(name):
            X[:, F[name]] = vol(email & direct, w * _decay(age, half_life * DAY))
    X[:, F["volume_mutual"]] = np.minimum(X[:, F["volume_out"]], X[:, F["volume_in"]])
    if want("recency_mutual"):
        last_side = []
        for towards in (OUT, IN):
            sel = (d == towards) | meet
            last_side.append(group_max(c[sel], t[sel], k))
        both = np.minimum(*last_side)
        silent_days = np.where(np.isfinite(both), (as_of - both) / DAY, days_age + 365.0)
        X[:, F["recency_mutual"]] = np.log1p(np.minimum(np.where(present, silent_days, 0.0), 365.0))
    signals = need.intersection(SIGNAL_FEATURES)
    if signals:
        for name, col in signal_columns(frame, as_of, habits.reply_hours_you, only=signals).items():
            X[:, F[name]] = col
    X[~present] = 0.0
    if only is not None:
        X[:, [i for i, name in enumerate(FEATURES) if name not in need]] = np.nan
    return Snapshot(
        as_of=as_of,
        present=present,
        X=X,
        last=np.where(present, last, np.nan),
        habits=habits,
        last_two_way=np.where(present & ~never, last2, np.nan),
    )


def _overlap(frame: Frame, mask: np.ndarray, closeness: np.ndarray, present: np.ndarray, k: int) -> NDArray[np.float64]:
    """Share of a contact's co-participants (on shared exchanges) who are the user's closest."""
    n_close = min(CLOSEST, int(present.sum()))
    if n_close == 0:
        return np.zeros(k)
    top = np.argsort(-np.where(present, closeness, -np.inf), kind="stable")[:n_close]
    is_close = np.zeros(k, bool)
    is_close[top] = True
    ex, c = frame.exchange[mask], frame.c[mask]
    n_ex = frame.n_exchanges
    members = np.bincount(ex, minlength=n_ex)
    close_members = np.bincount(ex, weights=is_close[c].astype(float), minlength=n_ex)
    co = members[ex] - 1.0
    co_close = close_members[ex] - is_close[c]
    den = np.bincount(c, weights=co, minlength=k)
    num = np.bincount(c, weights=co_close, minlength=k)
    return np.where(den > 0, num / np.maximum(den, 1.0), 0.0)


PERSONAL = 3  # audience of a "personal" exchange: the contact and up to two more


def personal_two_way(frame: Frame, start: float = -np.inf, end: float = np.inf) -> np.ndarray:
    """Rows in [start, end) that show the two people dealing with each other, one per
    answered conversation: the last answer of each known thread (a thread answered five
    times is one conversation), every answer outside known threads, and every meeting —
    all on something small enough to be personal (group mail does not count).

    Only rows inside the window decide which answer is a thread's last, so a window in the
    past never sees later mail. Adding an answer can only add an event or move one later.
    """
    inside = (frame.t >= start) & (frame.t < end) & (frame.size <= PERSONAL)
    replies = inside & frame.reply
    threaded = np.flatnonzero(replies & (frame.thread >= 0))
    keep = replies & (frame.thread < 0)
    if len(threaded):
        # Rows are sorted by (contact, time): the last row of each (contact, thread) group.
        width = int(frame.thread.max()) + 1
        group = frame.c[threaded] * width + frame.thread[threaded]
        _, last = np.unique(group[::-1], return_index=True)
        keep[threaded[len(threaded) - 1 - last]] = True
    return keep | (inside & frame.meeting)


def two_way_periods(frame: Frame, start: float, n: int, period: float, before: float = np.inf) -> np.ndarray:
    """Per contact index: in how many of the `n` periods from `start` (cut at `before`)
    the two were in personal two-way contact (any personal answer or meeting that period;
    every answer counts here, so adding one can never empty a period)."""
    k = frame.n_contacts
    end = min(start + n * period, before)
    m = (frame.reply | frame.meeting) & (frame.size <= PERSONAL) & (frame.t >= start) & (frame.t < end)
    if not m.any():
        return np.zeros(k, int)
    slot = ((frame.t[m] - start) // period).astype(np.int64)
    pairs = unique_keys(frame.c[m] * n + slot)
    return np.bincount(pairs // n, minlength=k)


def two_way_weeks(frame: Frame, start: float, weeks: int = 13, before: float = np.inf) -> np.ndarray:
    return two_way_periods(frame, start, weeks, WEEK, before)


def two_way_between(frame: Frame, start: float, end: float) -> np.ndarray:
    """Per contact index: was there two-way contact in [start, end)? (the training label)"""
    k = frame.n_contacts
    m = (frame.t >= start) & (frame.t < end)
    c, d = frame.c[m], frame.direction[m]
    out = np.bincount(c[d == OUT], minlength=k) > 0
    inn = np.bincount(c[d == IN], minlength=k) > 0
    small_meeting = np.bincount(c[frame.meeting[m] & (frame.size[m] <= SMALL)], minlength=k) > 0
    return (out & inn) | small_meeting
