"""introduction_events (numpy) against the plain loop it replaced, event for event."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pytest

from analytics.frame import DAY, IN, OUT, Frame, build_frame
from analytics.introductions import CO_MAX, introduction_events, introductions
from tests.support.analytics import T_END, random_history


def reference_events(frame: Frame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The definition, one exchange at a time in time order (analytics/introductions.py
    before it was vectorised)."""
    order = np.lexsort((frame.c, frame.exchange))
    ex, c, d, t = frame.exchange[order], frame.c[order], frame.direction[order], frame.t[order]
    starts = np.flatnonzero(np.r_[True, ex[1:] != ex[:-1]]) if len(ex) else np.zeros(0, int)
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
    return np.asarray(times, float), np.asarray(who, np.int64), np.asarray(given, bool)


def _same(a: tuple[np.ndarray, ...], b: tuple[np.ndarray, ...]) -> None:
    for x, y in zip(a, b, strict=True):
        assert x.dtype == y.dtype and x.shape == y.shape
        assert np.array_equal(x, y)


@pytest.mark.parametrize("seed", range(40))
def test_events_equal_the_plain_loop_on_varied_histories(seed):
    # Given a messy history (groups across the 20-person cut, meetings, shared mail, ties in time)
    history = random_history(seed, n=60 + 20 * seed, people=8 + 2 * seed)
    for cut in (T_END, T_END - 100 * DAY):
        # When the events are found on the frame at a cut
        frame = build_frame(history, cut)
        # Then they are the plain loop's, in the same order, and so are the counts
        events = introduction_events(frame)
        _same(events, reference_events(frame))
        gave, got = introductions(frame, cut - 10 * DAY)
        t, who, given = reference_events(frame)
        recent = (t < cut - 10 * DAY) & (t >= cut - 375 * DAY)
        assert np.array_equal(gave, np.log1p(np.bincount(who[recent & given], minlength=frame.n_contacts) * 1.0))
        assert np.array_equal(got, np.log1p(np.bincount(who[recent & ~given], minlength=frame.n_contacts) * 1.0))


def test_the_varied_histories_hold_both_kinds_of_introduction():
    # (so the comparison above is not between two empty answers)
    _, _, given = introduction_events(build_frame(random_history(30, n=660, people=68), T_END))
    assert given.sum() >= 50 and (~given).sum() >= 20


def test_events_of_an_empty_and_a_lone_frame():
    _same(introduction_events(build_frame([], T_END)), reference_events(build_frame([], T_END)))
    lone = random_history(1, n=1)
    _same(introduction_events(build_frame(lone, T_END)), reference_events(build_frame(lone, T_END)))
