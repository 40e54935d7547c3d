"""Self-labelled training rows from one user's own history.

At snapshots s every two weeks (each at least 13 weeks before `as_of`, up to 48 of them),
every tie seen before s becomes a row of features at s. Its outcome is two-way contact in
the 90 days after s, counted week by week: k of the 13 weeks had personal two-way contact
(an answered conversation or a meeting of at most three people besides the user). The
row enters the classifier twice, as a positive with weight k/13 and a negative with
weight 1 - k/13, so the model learns P(two-way contact in a given week) — which, unlike
"any contact in 90 days", still separates a weekly friend from a monthly one. Because
s + 13 weeks <= as_of, nothing after `as_of` can reach a label or a feature.

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

from collections.abc import Collection
from dataclasses import dataclass
from typing import TypedDict, Unpack

import numpy as np

from analytics.features import FEATURES, snapshot, two_way_periods
from analytics.frame import DAY, WEEK, Frame

PERIOD = WEEK  # the outcome is counted week by week
PERIODS = 13  # 13 weeks ~ the 90 days after the snapshot
HORIZON = PERIODS * PERIOD
EVERY = 14 * DAY  # twice a month: more rows for a user with few ties


@dataclass(frozen=True)
class TrainingSet:
    X: np.ndarray
    y: np.ndarray  # 0/1, each (tie, snapshot) once as a positive and once as a negative
    weight: np.ndarray  # share of the 13 weeks with (y=1) or without (y=0) two-way contact
    time: np.ndarray  # snapshot time of each row (for the time split)
    contact: np.ndarray  # contact index of each row


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
    Xs, ys, ws, ts, cs = [], [], [], [], []
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
    for s in snapshot_times(frame, as_of, **kwargs):
        snap = snapshot(frame, s, only=only)
        share = two_way_periods(frame, s, PERIODS, PERIOD) / PERIODS
        idx = np.flatnonzero(snap.present)
        for label, weight in ((1, share[idx]), (0, 1.0 - share[idx])):
            keep = weight > 0
            Xs.append(snap.X[idx[keep]])
            ys.append(np.full(keep.sum(), label))
            ws.append(weight[keep])
            ts.append(np.full(keep.sum(), s))
            cs.append(idx[keep])
    if not Xs:
        empty = np.zeros((0, len(FEATURES)))
        return TrainingSet(empty, np.zeros(0, int), np.zeros(0), np.zeros(0), np.zeros(0, int))
    return TrainingSet(np.vstack(Xs), np.concatenate(ys), np.concatenate(ws), np.concatenate(ts), np.concatenate(cs))
