"""Self-labelled training rows from one user's own history.

At snapshots s every two weeks (each at least 13 weeks before `as_of`, up to 48 of them),
every tie seen before s becomes a row of features at s. Its outcome is two-way contact in
the 90 days after s, counted week by week: k of the 13 weeks had personal two-way contact
(an answered conversation or a meeting of at most three people besides the user). The
row enters the classifier twice, as a positive with weight k/13 and a negative with
weight 1 - k/13, so the model learns P(two-way contact in a given week) — which, unlike
"any contact in 90 days", still separates a weekly friend from a monthly one. Because
s + 13 weeks <= as_of, nothing after `as_of` can reach a label or a feature. Each row also
carries whether the tie was in two-way touch in the 90 days after s (`touched`: mail both
ways or a small meeting, the outcome the yardstick and the accuracy panel count), on which
the model's 90-day chance is calibrated (model.touch_proba), and the weeks with contact
are read back from the rows' weights to learn how a tie's weeks go together
(analytics/horizon.py).

A history that is whole only since some moment (`since`: a first sync reads the newest
mail first and the calendars whole, service.coverage) has no snapshot before it: a snapshot
there would see the calendar without the mail in its features, and its label would count
weeks whose mail is missing or (just before `since`) mail its features lacked. Rows like
those made a provisional model and its recalibration run high (analytics/STATUS.md,
"Issue 17: provisional strengths"). The months after `since` hold few snapshots (five,
two weeks apart, on 180 days of mail), so there they are a week apart: the user's own
model is blended in by its rows (model.py), and on half the rows the prior alone would
order the ties.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import TypedDict, Unpack

import numpy as np

from analytics.features import FEATURES, snapshot, two_way_between, two_way_periods
from analytics.frame import DAY, WEEK, Frame, build_frame
from analytics.records import Exchange

PERIOD = WEEK  # the outcome is counted week by week
PERIODS = 13  # 13 weeks ~ the 90 days after the snapshot
HORIZON = PERIODS * PERIOD
TOUCH_DAYS = 90  # the outcome window of `touched`, within the 13 weeks
EVERY = 14 * DAY  # twice a month: more rows for a user with few ties


@dataclass(frozen=True)
class TrainingSet:
    X: np.ndarray
    y: np.ndarray  # 0/1, each (tie, snapshot) once as a positive and once as a negative
    weight: np.ndarray  # share of the 13 weeks with (y=1) or without (y=0) two-way contact
    time: np.ndarray  # snapshot time of each row (for the time split)
    contact: np.ndarray  # contact index of each row
    # young_set's rows: the days of mail visible at each row's snapshot (None elsewhere:
    # the whole history before it)
    history: np.ndarray | None = None
    # Per row: was the tie in two-way touch (features.two_way_between, the outcome the
    # yardstick, the flags and the accuracy panel count) in the TOUCH_DAYS after the
    # snapshot? What the model's 90-day chance is calibrated on (model.touch_proba).
    touched: np.ndarray | None = None


def covered_days(as_of: float, since: float | None) -> float | None:
    """Days the user's mail is known to cover before `as_of`: from `since`, when it is whole
    from then on (a first sync reading the newest mail first; in the yardstick, a mailbox
    that keeps so many days). None when nothing says so: the first exchange is no measure of
    it (on Enron, calibrating young mailboxes by their first exchange instead of 90 days
    moved nothing but per-person AUC, by -0.002; analytics/STATUS.md, session 12)."""
    return None if since is None else max(0.0, (as_of - since) / DAY)


def snapshot_times(
    frame: Frame,
    as_of: float,
    *,
    every: float = EVERY,
    horizon: float = HORIZON,
    max_snapshots: int = 48,
    min_history: float = 30 * DAY,
    since: float | None = None,
) -> list[float]:
    """Snapshot moments, oldest first: every `every` back from `as_of - horizon`, each at
    least `min_history` after the history starts — its first exchange, or `since` when the
    history is whole only from then on."""
    before = frame.t[frame.t < as_of]
    if not len(before):
        return []
    first = float(before.min()) if since is None else max(float(before.min()), since)
    times: list[float] = []
    s = as_of - horizon
    while s >= first + min_history and len(times) < max_snapshots:
        times.append(s)
        s -= every
    return times[::-1]


class SnapshotOptions(TypedDict, total=False):
    """The keyword arguments of `snapshot_times` that `training_set` passes on."""

    every: float
    horizon: float
    max_snapshots: int
    min_history: float
    since: float | None


ROWS_WANTED = 30_000  # (tie, snapshot) pairs: beyond this, more snapshots only cost time
MIN_SNAPSHOTS = 2


def training_set(
    frame: Frame, as_of: float, *, only: Collection[str] | None = None, **kwargs: Unpack[SnapshotOptions]
) -> TrainingSet:
    """The user's own (tie, snapshot) rows before `as_of`. `only`: the features the model
    to be fitted reads; the rows' other columns are NaN (features.snapshot)."""
    if "max_snapshots" not in kwargs:
        # A user with thousands of ties has rows enough in a few snapshots; one with a
        # few dozen needs every snapshot of the last two years. Never fewer than two: one
        # to train on and the newest to calibrate with (model.py). Each snapshot is a pass
        # over the whole history (about 1 CPU-s at a million exchanges); from 15,000 ties
        # on, two already give about the 60,000 rows the model keeps (max_rows). On the
        # 1M-exchange bench (20,000 ties), two instead of four moved strengths by 0.48
        # points on average (at most 3.9; Spearman 0.999, the same top 100) and saved
        # about 3.5 CPU-s of 13.5.
        per = max(1, frame.n_contacts)
        kwargs["max_snapshots"] = int(np.clip(ROWS_WANTED // per, MIN_SNAPSHOTS, 48))
    if kwargs.get("since") is not None and "every" not in kwargs:
        kwargs["every"] = WEEK  # a history whole only since then: see the module's docstring
    rows = _Rows()
    for s in snapshot_times(frame, as_of, **kwargs):
        snap = snapshot(frame, s, only=only)
        share = two_way_periods(frame, s, PERIODS, PERIOD) / PERIODS
        touched = two_way_between(frame, s, s + TOUCH_DAYS * DAY)
        idx = np.flatnonzero(snap.present)
        rows.add(snap.X[idx], share[idx], s, idx, touched=touched[idx])
    return rows.training_set()


def pooled(sets: Sequence[TrainingSet]) -> TrainingSet:
    """Several people's rows as one set (no rows: an empty set)."""
    rows = _Rows()
    kept = [s for s in sets if len(s.y)]
    rows.parts = [(s.X, s.y, s.weight, s.time, s.contact) for s in kept]
    rows.history = [s.history for s in kept if s.history is not None]
    rows.touched = [s.touched for s in kept if s.touched is not None]
    return rows.training_set()


class _Rows:
    """Rows gathered snapshot by snapshot: each tie twice, as a positive weighted by its
    share of weeks with two-way contact and as a negative weighted by the rest."""

    def __init__(self) -> None:
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
        self.history: list[np.ndarray] = []  # per part, when every part's rows carry their visible days
        self.touched: list[np.ndarray] = []  # per part, when every part's rows carry their 90-day touch

    def add(
        self,
        X: np.ndarray,
        share: np.ndarray,
        s: float,
        contact: np.ndarray,
        history: float | None = None,
        touched: np.ndarray | None = None,
    ) -> None:
        for label, weight in ((1, share), (0, 1.0 - share)):
            keep = weight > 0
            n = int(keep.sum())
            self.parts.append((X[keep], np.full(n, label), weight[keep], np.full(n, s), contact[keep]))
            if history is not None:
                self.history.append(np.full(n, float(history)))
            if touched is not None:
                self.touched.append(np.asarray(touched, bool)[keep])

    def training_set(self) -> TrainingSet:
        if not self.parts:
            empty = np.zeros((0, len(FEATURES)))
            return TrainingSet(empty, np.zeros(0, int), np.zeros(0), np.zeros(0), np.zeros(0, int))
        X, y, w, t, c = zip(*self.parts)
        history = np.concatenate(self.history) if len(self.history) == len(self.parts) else None
        touched = np.concatenate(self.touched) if len(self.touched) == len(self.parts) else None
        return TrainingSet(
            np.vstack(X), np.concatenate(y), np.concatenate(w), np.concatenate(t), np.concatenate(c), history, touched
        )


# Mailboxes too young for a snapshot of their own (a snapshot needs 30 days of history
# before it and 13 weeks of outcome after it: about 121 days): the prior's `young`
# calibration (analytics/prior.py) is fitted on other people's ties seen through windows
# this long, and reads the mailbox's age (logistic.young_age): a 14-day mailbox's strongest
# ties are not a 120-day one's.
YOUNG_DAYS = (14, 30, 60, 90, 120)


def young_set(
    exchanges: Sequence[Exchange],
    as_of: float,
    *,
    only: Collection[str] | None = None,
    days: Sequence[int] = YOUNG_DAYS,
    max_snapshots: int = 18,
) -> TrainingSet:
    """Rows as a user whose mailbox is young sees their ties: at each snapshot s of the whole
    history before `as_of` (snapshot_times), for each d in `days`, the features of the ties
    seen in the last d days of mail before s, and no older mail; the label is training_set's
    (the weekly shares of two-way contact in the 13 weeks after s, counted on all the mail)."""
    full = build_frame(exchanges, as_of)
    rows = _Rows()
    for s in snapshot_times(full, as_of, max_snapshots=max_snapshots):
        share = two_way_periods(full, s, PERIODS, PERIOD) / PERIODS
        touched = two_way_between(full, s, s + TOUCH_DAYS * DAY)
        for d in days:
            frame = build_frame([x for x in exchanges if s - d * DAY <= x.at < s], s)
            if frame.n_contacts == 0:
                continue
            snap = snapshot(frame, s, only=only)
            idx = np.flatnonzero(snap.present)
            where = np.searchsorted(full.contacts, frame.contacts[idx])
            rows.add(snap.X[idx], share[where], s, where, history=d, touched=touched[where])
    return rows.training_set()
