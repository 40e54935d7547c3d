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

import weakref
from itertools import combinations

import numpy as np

from analytics.frame import DAY, IN, OUT, Frame

CO_MAX = 20
WINDOW = 365 * DAY
_CACHE: dict[int, tuple[weakref.ref[Frame], tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}


def introduction_events(frame: Frame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(time, contact index, given?) of every introduction in the frame, in time order."""
    hit = _CACHE.get(id(frame))
    if hit is not None and hit[0]() is frame:
        return hit[1]
    order = np.lexsort((frame.c, frame.exchange))
    ex, c, d, t = frame.exchange[order], frame.c[order], frame.direction[order], frame.t[order]
    starts = np.flatnonzero(np.r_[True, ex[1:] != ex[:-1]])
    ends = np.r_[starts[1:], len(ex)]
    seen_pairs: set[tuple[int, int]] = set()
    seen: set[int] = set()
    written: set[int] = set()
    times: list[float] = []
    who: list[int] = []
    given: list[bool] = []
    for a, b in zip(starts.tolist(), ends.tolist()):
        people = c[a:b].tolist()
        when = float(t[a])
        small = len(people) <= CO_MAX
        sent_by_user = bool((d[a:b] == OUT).any())
        if small and len(people) > 1:
            if sent_by_user:
                for p, q in combinations(people, 2):
                    if p in written and q in written and (p, q) not in seen_pairs:
                        times += [when, when]
                        who += [p, q]
                        given += [True, True]
            senders = [p for p, dd in zip(people, d[a:b].tolist()) if dd == IN]
            for s in senders:
                for q in people:
                    if q != s and q not in seen:
                        times.append(when)
                        who.append(s)
                        given.append(False)
            seen_pairs.update(combinations(people, 2))
        seen.update(people)
        if sent_by_user:
            written.update(people)
    events = (np.asarray(times, float), np.asarray(who, np.int64), np.asarray(given, bool))
    if len(_CACHE) > 64:
        _CACHE.clear()
    _CACHE[id(frame)] = (weakref.ref(frame), events)
    return events


def introductions(frame: Frame, as_of: float) -> tuple[np.ndarray, np.ndarray]:
    """Per contact index: log1p of introductions given and received in the year before as_of."""
    k = frame.n_contacts
    t, who, given = introduction_events(frame)
    recent = (t < as_of) & (t >= as_of - WINDOW)
    gave = np.bincount(who[recent & given], minlength=k)
    got = np.bincount(who[recent & ~given], minlength=k)
    return np.log1p(gave.astype(float)), np.log1p(got.astype(float))
