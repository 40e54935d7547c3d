"""Introductions: who the user brought together, and who brought people to the user.

- given: the user writes one message to A and B, having written to each before, and A
  and B have never been on a message together (of those the user saw). It counts once
  for A and once for B, as something the user gave each of them.
- received: A writes to the user and B together, and B has never been on a message with
  the user before: A introduced B, something the user received from A.

Only messages of at most CO_MAX people besides the user count (a list is no
introduction). The events depend on nothing after them, so they are found once per frame
in time order and a snapshot counts those before its `as_of`, in the last year.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from analytics.frame import DAY, IN, OUT, Frame, per_frame

CO_MAX = 20  # larger messages say little about who knows whom (a list is no introduction)
WINDOW = 365 * DAY


@per_frame
def small_pairs(frame: Frame) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """(i, j, pair, by_pair): every pair (i < j) of rows on one exchange of 2 to CO_MAX
    contacts, rows numbered in the frame's (exchange, contact) order (`Frame.by_exchange`),
    in the order combinations() gives, exchange after exchange; `pair` = c[i] * k + c[j]
    (the smaller contact index first); `by_pair` orders them by pair, then exchange.
    Introductions and the network overlap (signals.co_pairs) both read them."""
    order = frame.by_exchange
    ex, c = frame.exchange[order], frame.c[order]
    n = len(ex)
    starts = np.flatnonzero(np.r_[True, ex[1:] != ex[:-1]]) if n else np.zeros(0, np.int64)
    sizes = np.diff(np.r_[starts, n])
    size_of = np.repeat(sizes, sizes)
    after = np.repeat(starts + sizes, sizes) - np.arange(n) - 1  # rows after this one in its exchange
    reps = np.where((size_of > 1) & (size_of <= CO_MAX), after, 0)
    i = np.repeat(np.arange(n), reps)
    j = i + 1 + (np.arange(len(i)) - np.repeat(np.cumsum(reps) - reps, reps))
    k = max(frame.n_contacts, 1)
    pair = c[i] * k + c[j]
    if k * k * max(len(pair), 1) < 2**62:  # each pair with its place: distinct, so any sort will do
        by_pair = np.argsort(pair * len(pair) + np.arange(len(pair)))
    else:
        by_pair = np.argsort(pair, kind="stable")
    return i, j, pair, by_pair


@per_frame
def introduction_events(frame: Frame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(time, contact index, given?) of every introduction in the frame, in time order
    (within an exchange: the given ones pair by pair, then the received ones)."""
    # Rows by (exchange, contact): each exchange's people in ascending contact order.
    order = frame.by_exchange
    ex, c, d, t = frame.exchange[order], frame.c[order], frame.direction[order], frame.t[order]
    n = len(ex)
    if not n:
        return np.zeros(0), np.zeros(0, np.int64), np.zeros(0, bool)
    starts = np.flatnonzero(np.r_[True, ex[1:] != ex[:-1]])
    sizes = np.diff(np.r_[starts, n])
    group = np.repeat(np.arange(len(starts)), sizes)  # each row's exchange, numbered 0.. in order
    start_of = starts[group]
    size_of = sizes[group]
    by_user = np.bincount(group, weights=d == OUT, minlength=len(starts))[group] > 0
    # Someone is "seen" from their first exchange on, "written" from their first one the
    # user sent; a state is read before the exchange that changes it, hence the strict <.
    first_seen = np.full(frame.n_contacts, n)
    np.minimum.at(first_seen, c, group)
    first_written = np.full(frame.n_contacts, n)
    np.minimum.at(first_written, c[by_user], group[by_user])
    small = (size_of > 1) & (size_of <= CO_MAX)
    i, j, pair, by_pair = small_pairs(frame)
    # A pair is new on the first small exchange it is on.
    new_pair = np.zeros(len(pair), bool)
    if len(pair):
        sorted_pair = pair[by_pair]
        new_pair[by_pair[np.r_[True, sorted_pair[1:] != sorted_pair[:-1]]]] = True
    g = group[i]
    gave = by_user[i] & new_pair & (first_written[c[i]] < g) & (first_written[c[j]] < g)
    gi, gj = i[gave], j[gave]
    given_rows = np.column_stack((gi, gj)).ravel()  # p then q, pair by pair
    given_who = c[given_rows]

    # Each contact who sent a small exchange, with each of its people new to the user.
    senders = np.flatnonzero(small & (d == IN))
    reps = size_of[senders]
    s = np.repeat(senders, reps)
    q = np.repeat(start_of[senders], reps) + (np.arange(len(s)) - np.repeat(np.cumsum(reps) - reps, reps))
    got = (q != s) & (first_seen[c[q]] == group[q])
    s = s[got]

    rows = np.r_[given_rows, s]
    phase = np.r_[np.zeros(len(given_rows), np.int8), np.ones(len(s), np.int8)]
    # Given before received within an exchange; each kind keeps its own order (lexsort is stable).
    merged = np.lexsort((phase, group[rows]))
    who = np.r_[given_who, c[s]][merged]
    return t[rows][merged].astype(float), who.astype(np.int64), (phase[merged] == 0)


def introductions(frame: Frame, as_of: float) -> tuple[np.ndarray, np.ndarray]:
    """Per contact index: log1p of introductions given and received in the year before as_of."""
    k = frame.n_contacts
    t, who, given = introduction_events(frame)
    recent = (t < as_of) & (t >= as_of - WINDOW)
    gave = np.bincount(who[recent & given], minlength=k)
    got = np.bincount(who[recent & ~given], minlength=k)
    return np.log1p(gave.astype(float)), np.log1p(got.astype(float))
