"""Who gives in each tie: the 180-day ledger, a balance and a one-sidedness test.

The balance compares who writes (direct messages each way over a year) against what is
normal *for this user*: someone who writes more than they receive everywhere is judged
against that habit (a leave-one-out share over their other ties, shrunk toward even), so
they are not flagged with everyone. One-sidedness needs a binomial test to reject the
habit and a share at least half-way from the habit to all-one-side, so a handful of
messages is never one-sided. The ledger keeps the finer counts (initiations, replies,
meetings organised, reply times) for explanations.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.stats import binom

from analytics.answers import group_median, latencies
from analytics.features import LEDGER_WINDOW
from analytics.frame import IN, OUT, Frame

HABIT_PSEUDO = 10.0  # gestures of "even" mixed into the user's habit
BALANCE_PSEUDO = 3.0  # shrinks the balance of ties with few gestures toward 0
ALPHA = 0.001
BALANCE_WINDOW = 365 * 86400.0  # a year of messages: enough to test, recent enough to matter
MIN_SKEW = 0.5  # share beyond the habit, as a fraction of the way to all-one-side


@dataclass(frozen=True)
class Reciprocity:
    ledger: dict[str, np.ndarray]  # per contact index
    you: np.ndarray  # gestures by the user
    them: np.ndarray
    habit: np.ndarray  # expected share of gestures by the user, per contact (leave-one-out)
    balance: np.ndarray  # int -100..100, positive: the user gives more
    p_you: np.ndarray  # binomial p-value that the user gives more than the habit
    p_them: np.ndarray
    one_sided_you: np.ndarray
    one_sided_them: np.ndarray


def ledger(frame: Frame, as_of: float) -> dict[str, np.ndarray]:
    k = frame.n_contacts
    m = (frame.t < as_of) & (frame.t >= as_of - LEDGER_WINDOW)
    d, c = frame.direction, frame.c
    email, meet = ~frame.meeting, frame.meeting
    w = 1.0 / frame.size

    def count(sel: NDArray[np.bool_], weights: np.ndarray | None = None) -> NDArray[np.intp] | NDArray[np.float64]:
        sel = sel & m
        return np.bincount(c[sel], weights=None if weights is None else weights[sel], minlength=k)

    out = {
        "initiated_by_you": count(frame.initiation & (d == OUT)),
        "initiated_by_them": count(frame.initiation & (d == IN)),
        "messages_to_them": count(email & (d == OUT), w),
        "messages_from_them": count(email & (d == IN), w),
        "replies_by_you": count(frame.reply & (d == OUT)),
        "replies_by_them": count(frame.reply & (d == IN)),
        "meetings_you_organised": count(meet & (d == OUT)),
        "meetings_they_organised": count(meet & (d == IN)),
    }
    for name, answered_dir in (("median_reply_hours_you", IN), ("median_reply_hours_them", OUT)):
        answered, _, lat = latencies(frame, as_of, m, answered_dir)
        out[name] = group_median(lat[answered] / 3600.0, c[answered], k)
    return out


def reciprocity(frame: Frame, as_of: float, present: np.ndarray, habit_share: float | None = None) -> Reciprocity:
    led = ledger(frame, as_of)
    m = (frame.t < as_of) & (frame.t >= as_of - BALANCE_WINDOW) & ~frame.meeting
    k = frame.n_contacts
    # Who writes: direct messages each way. Initiations alone are few and skew easily (a
    # new tie is started by whoever met whom); a recurring meeting is one gesture repeated.
    you = np.bincount(frame.c[m & (frame.direction == OUT)], minlength=k).astype(float)
    them = np.bincount(frame.c[m & (frame.direction == IN)], minlength=k).astype(float)
    you = np.where(present, you, 0.0)
    them = np.where(present, them, 0.0)
    n = you + them
    if habit_share is None:
        # Leave-one-out: this tie does not set the standard it is judged by.
        habit = (you.sum() - you + HABIT_PSEUDO * 0.5) / (n.sum() - n + HABIT_PSEUDO)
    else:
        habit = np.full(len(n), float(habit_share))
    habit = np.clip(habit, 0.05, 0.95)
    share = np.where(n > 0, you / np.maximum(n, 1), habit)
    dev = share - habit
    norm = np.where(dev > 0, dev / (1 - habit), dev / habit)
    raw = np.round(100 * norm * n / (n + BALANCE_PSEUDO), 6)  # drop float noise, then
    balance = (np.sign(raw) * np.floor(np.abs(raw) + 0.5)).astype(int)  # round halves away from 0
    you_i, n_i = you.astype(int), n.astype(int)
    p_you = binom.sf(you_i - 1, n_i, habit)  # P(X >= you)
    p_them = binom.cdf(you_i, n_i, habit)  # P(X <= you)
    one_you = (p_you < ALPHA) & (dev >= MIN_SKEW * (1 - habit)) & (n > 0)
    one_them = (p_them < ALPHA) & (-dev >= MIN_SKEW * habit) & (n > 0)
    return Reciprocity(led, you, them, habit, np.clip(balance, -100, 100), p_you, p_them, one_you, one_them)
