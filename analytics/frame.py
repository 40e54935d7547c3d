"""The columnar view of a user's history: one row per (exchange, contact).

Every feature, ledger and rhythm test reads these arrays instead of the frozen records, so
the expensive Python work (walking the records) happens once per scoring run and the rest
is numpy. Rows are sorted canonically (time, contact, direction, ...) so that nothing
depends on the order the exchanges arrived in. Everything at or after `as_of` is dropped
here, before any other code sees it.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import repeat
from operator import is_not
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from analytics.columns import Columns, places, unique_keys
from analytics.records import USER, Exchange

DAY = 86400.0
WEEK = 7 * DAY
# An answer or a conversation "continues" within this gap; after it, the next message
# starts something new (an initiation).
GAP = 7 * DAY

OUT, IN, SHARED = 1, -1, 0

R = TypeVar("R")


@dataclass(frozen=True)
class Frame:
    """Per-(exchange, contact) rows, sorted by (contact index, time, direction).

    `contacts[i]` is the person id of contact index i. `direction` is OUT when the user
    wrote or organised, IN when the contact wrote or organised, SHARED when both were on
    something a third person sent. `reply` marks direct messages answering the other side
    (In-Reply-To when its parent is known, otherwise a message within 7 days after one from
    the other side); `initiation` marks a thread start or a first message after a 7-day
    gap. `answer_t` is when the other side next answered (a reply or a meeting).
    """

    contacts: NDArray[np.int64]  # person ids, sorted
    t: NDArray[np.float64]  # epoch seconds
    c: NDArray[np.int64]  # contact index
    direction: NDArray[np.int8]
    meeting: NDArray[np.bool_]
    size: NDArray[np.int32]  # audience (everyone but the user)
    hours: NDArray[np.float64]  # meeting hours (0 for email)
    initiation: NDArray[np.bool_]
    reply: NDArray[np.bool_]
    answer_t: NDArray[np.float64]  # time of the other side's next answer (inf: none)
    exchange: NDArray[np.int64]  # exchange index (for co-participation)
    thread: NDArray[np.int64]  # thread code (-1: unknown); only equality means anything
    n_exchanges: int
    by_exchange: NDArray[np.int64]  # the rows' indices in (exchange, contact) order

    @property
    def n_contacts(self) -> int:
        return len(self.contacts)

    @property
    def direct(self) -> NDArray[np.bool_]:
        direct: NDArray[np.bool_] = self.direction != SHARED
        return direct

    def index_of(self, person: int) -> int | None:
        i = int(np.searchsorted(self.contacts, person))
        if i < len(self.contacts) and self.contacts[i] == person:
            return i
        return None


def per_frame(compute: Callable[[Frame], R]) -> Callable[[Frame], R]:
    """`compute(frame)` worked out once per frame and kept while the frame lives: for what
    several snapshots of one frame need and does not depend on their `as_of`."""
    memo: dict[int, tuple[weakref.ref[Frame], R]] = {}

    def cached(frame: Frame) -> R:
        hit = memo.get(id(frame))
        if hit is not None and hit[0]() is frame:
            return hit[1]
        value = compute(frame)
        if len(memo) > 64:
            memo.clear()
        memo[id(frame)] = (weakref.ref(frame), value)
        return value

    cached.__doc__ = compute.__doc__
    return cached


def _canonical(exchanges: Sequence[Exchange], as_of: float) -> list[Exchange]:
    """The exchanges before as_of in one order whatever order they came in: by time, and
    exchanges at the same instant by all their fields."""
    ex = [e for e in exchanges if e.at < as_of]
    at = np.fromiter((e.at for e in ex), np.float64, len(ex))
    order = np.argsort(at, kind="stable")
    tied = np.flatnonzero(np.diff(at[order]) == 0)
    if len(tied):
        order = order.tolist()
        starts = tied[np.r_[True, np.diff(tied) > 1]]
        ends = tied[np.r_[np.diff(tied) > 1, True]] + 2
        for a, b in zip(starts.tolist(), ends.tolist()):
            order[a:b] = sorted(order[a:b], key=lambda i: _key(ex[i]))
    return [ex[i] for i in order]


def _key(e: Exchange) -> tuple[str, int, tuple[int, ...], str, str, str, float, int]:
    return (e.kind, e.sender, e.recipients, e.thread or "", e.key or "", e.reply_to or "", e.duration_s, e.audience)


def columns_before(exchanges: Sequence[Exchange], as_of: float) -> Columns:
    """The exchanges before as_of as columns, in the canonical order a frame is built in."""
    return Columns.of(_canonical(exchanges, as_of))


def seen_before(frame: Frame, t: float) -> np.ndarray:
    """Per contact index: any exchange before `t`?"""
    present = np.zeros(frame.n_contacts, bool)
    present[np.unique(frame.c[frame.t < t])] = True
    return present


def build_frame(exchanges: Sequence[Exchange], as_of: float) -> Frame:
    return frame_of(columns_before(exchanges, as_of))


def frame_of(x: Columns) -> Frame:
    """The frame of the exchanges behind `x` (from `columns_before`)."""
    n = len(x)
    at, sender, meeting, threads, keys, reply_to = x.at, x.sender, x.meeting, x.thread, x.key, x.reply_to
    size = np.where(x.audience > 0, x.audience, np.maximum(x.others, 1)).astype(np.int32)

    # Participation rows: the sender plus every recipient, each person once per exchange.
    others = x.person != USER
    row_ex, person = x.row_ex[others], x.person[others]
    contacts = unique_keys(person)
    c = places(contacts, person)
    user_sent = sender[row_ex] == USER
    contact_sent = sender[row_ex] == person
    direction = np.where(user_sent, OUT, np.where(contact_sent, IN, SHARED)).astype(np.int8)

    # Explicit replies: the parent's sender tells who is answered.
    parent_sender = parent_senders(keys, sender.tolist(), reply_to)
    has_reply_to = np.fromiter(map(is_not, reply_to, repeat(None)), bool, n)

    # Thread start: the earliest exchange of a known thread that answers nothing; without a
    # thread id, a message with a Message-ID that answers nothing starts its own thread.
    order_ex = np.lexsort((np.arange(n), at))
    thread_start = np.zeros(n, bool)
    known = threads[order_ex] >= 0
    _, first = np.unique(threads[order_ex][known], return_index=True)
    thread_start[order_ex[known][first]] = True
    has_key = np.fromiter(map(is_not, keys, repeat(None)), bool, n)
    thread_start |= (threads < 0) & has_key
    thread_start &= ~has_reply_to & ~meeting

    t = at[row_ex]
    order = np.lexsort((row_ex, direction, t, c))
    t, c, direction, row_ex = t[order], c[order], direction[order], row_ex[order]
    # The rows came in (exchange, person) order; where each went.
    by_exchange = np.empty(len(order), np.int64)
    by_exchange[order] = np.arange(len(order))
    person = person[order]

    is_direct = direction != SHARED
    # Gap since the previous direct row with the same contact (either way).
    d_idx = np.flatnonzero(is_direct)
    prev_gap = np.full(len(t), np.inf)
    if len(d_idx):
        same = np.r_[False, c[d_idx][1:] == c[d_idx][:-1]]
        gaps = np.r_[np.inf, np.diff(t[d_idx])]
        prev_gap[d_idx] = np.where(same, gaps, np.inf)
    # Meetings count as organised, not as initiations or replies (no double counting).
    email_row = is_direct & ~meeting[row_ex]
    initiation = email_row & (thread_start[row_ex] | (prev_gap > GAP))
    explicit = has_reply_to[row_ex]
    psender = parent_sender[row_ex]
    answers_other = np.where(direction == OUT, psender == person, psender == USER)
    # Without In-Reply-To: a reply is a message within 7 days after one from the other side.
    # (Defined on the last message the other way, not the last message: adding a message
    # can then only add replies, never take one away.)
    heuristic = (t - _prev_opposite(t, c, direction, email_row)) <= GAP
    # In-Reply-To decides when its parent is known; otherwise the timing does.
    reply = email_row & np.where(explicit & (psender != -2), answers_other, heuristic & ~initiation)

    # An answer is a reply (or a meeting) the other way, not a fresh conversation.
    answer_t = _next_opposite(t, c, direction, reply | meeting[row_ex])
    hours = np.where(meeting[row_ex], x.duration[row_ex] / 3600.0, 0.0)
    return Frame(
        contacts=contacts.astype(np.int64),
        t=t,
        c=c.astype(np.int64),
        direction=direction,
        meeting=meeting[row_ex],
        size=size[row_ex],
        hours=hours,
        initiation=initiation,
        reply=reply,
        answer_t=answer_t,
        exchange=row_ex.astype(np.int64),
        n_exchanges=n,
        thread=threads[row_ex],
        by_exchange=by_exchange,
    )


def parent_senders(keys: list[str | None], senders: list[int], reply_to: list[str | None]) -> NDArray[np.int64]:
    """For each message, the sender of the first message whose key is its In-Reply-To
    (-2: none, or the parent is unknown)."""
    # Built from the end, a dict keeps each key's first sender.
    key_sender: dict[str | None, int] = dict(zip(reversed(keys), reversed(senders)))
    key_sender.pop(None, None)
    return np.fromiter(map(key_sender.get, reply_to, repeat(-2)), np.int64, len(reply_to))


def _prev_opposite(t: np.ndarray, c: np.ndarray, direction: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each row, the time of the last earlier row the other way, same contact (-inf)."""
    out = np.full(len(t), -np.inf)
    if not len(t):
        return out
    t0 = float(t.min())
    span = float(t.max() - t0) + 1.0
    key = c * (span + 1.0) + (t - t0)
    for mine, theirs in ((IN, OUT), (OUT, IN)):
        src = np.flatnonzero(direction == mine)
        dst = np.flatnonzero((direction == theirs) & rows)
        if not len(src) or not len(dst):
            continue
        pos = np.searchsorted(key[dst], key[src], side="left") - 1
        ok = pos >= 0
        hit = np.zeros(len(src), bool)
        hit[ok] = c[dst[pos[ok]]] == c[src[ok]]
        out[src[hit]] = t[dst[pos[hit]]]
    return out


def _next_opposite(t: np.ndarray, c: np.ndarray, direction: np.ndarray, answers: np.ndarray) -> np.ndarray:
    """For each direct row, the time of the next answering row the other way, same contact."""
    out = np.full(len(t), np.inf)
    if not len(t):
        return out
    t0 = float(t.min())
    span = float(t.max() - t0) + 1.0
    key = c * (span + 1.0) + (t - t0)
    for mine, theirs in ((IN, OUT), (OUT, IN)):
        src = np.flatnonzero(direction == mine)
        dst = np.flatnonzero((direction == theirs) & answers)
        if not len(src) or not len(dst):
            continue
        dkey = key[dst]  # already sorted: rows are ordered by (c, t)
        pos = np.searchsorted(dkey, key[src], side="right")
        ok = pos < len(dst)
        hit = np.zeros(len(src), bool)
        hit[ok] = c[dst[pos[ok]]] == c[src[ok]]
        out[src[hit]] = t[dst[pos[hit]]]
    return out
