"""Timeline.of (numpy) against the plain loop it replaced, track for track."""

from __future__ import annotations

from bisect import bisect_left

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import Exchange
from analytics.awaiting import GAP, Timeline, _Track, is_direct
from analytics.frame import columns_before
from analytics.records import USER
from tests.bench.bench_scoring import synthetic_rows, to_exchanges
from tests.support.analytics import DAY, T_END, random_history


def reference_tracks(exchanges: list[Exchange]) -> dict[int, _Track]:
    """The definition, one exchange at a time (analytics/awaiting.py before it was vectorised)."""
    raw: dict[int, tuple[list[float], list[float], list[float], list[float]]] = {}
    answers: dict[int, list[float]] = {}
    user_keys = {x.key for x in exchanges if x.sender == USER and x.kind == "email" and x.key}
    for x in exchanges:
        others = {x.sender, *x.recipients} - {USER}
        if x.kind == "meeting":
            for c in others:
                raw.setdefault(c, ([], [], [], []))[1].append(x.at)
                raw[c][3].append(x.at)
        elif x.sender == USER:
            for c in others:
                raw.setdefault(c, ([], [], [], []))[1].append(x.at)
                if is_direct(x, c):
                    raw[c][2].append(x.at)
        elif USER in x.recipients:
            t = raw.setdefault(x.sender, ([], [], [], []))
            t[3].append(x.at)
            if is_direct(x, USER):
                t[0].append(x.at)
                if x.reply_to is not None and x.reply_to in user_keys:
                    answers.setdefault(x.sender, []).append(x.at)
    tracks: dict[int, _Track] = {}
    for c, lists in sorted(raw.items()):
        direct_in, user_spoke, direct_out, they_spoke = (sorted(v) for v in lists)
        replied = set(answers.get(c, ()))
        opens = [
            t for t in direct_in if t not in replied and bisect_left(user_spoke, t) == bisect_left(user_spoke, t - GAP)
        ]
        tracks[c] = _Track(direct_in, opens, user_spoke, direct_out, they_spoke)
    return tracks


def _check(history: list[Exchange]) -> None:
    timeline = Timeline.of(history)
    reference = reference_tracks(history)
    assert list(timeline.tracks) == list(reference)  # same contacts, in the same order
    assert timeline.tracks == reference
    plain = Timeline(reference)
    for days in (0, 3, 20, 90):
        assert timeline.waiting(T_END - days * DAY) == plain.waiting(T_END - days * DAY)
        assert timeline.unanswered(T_END - days * DAY) == plain.unanswered(T_END - days * DAY)


@pytest.mark.parametrize("seed", range(40))
def test_tracks_equal_the_plain_loop_on_varied_histories(seed):
    # Given a messy history (Cc, groups, meetings, shared mail, replies, ties in time),
    # when its timeline is built, then every track is the plain loop's
    _check(random_history(seed, n=50 + 25 * seed, people=5 + seed))


def test_tracks_equal_the_plain_loop_on_the_bench_mailbox():
    _check(to_exchanges(synthetic_rows(seed=2, n=20_000, contacts=800)))


def test_the_varied_histories_hold_opens_answers_and_runs():
    # (so the comparison above is not between two empty answers)
    tracks = reference_tracks(random_history(30, n=800, people=35))
    assert sum(len(t.opens) for t in tracks.values()) >= 20
    assert sum(len(t.direct_in) - len(t.opens) for t in tracks.values()) >= 20
    assert sum(len(t.direct_out) for t in tracks.values()) >= 20


def test_an_empty_history():
    assert Timeline.of([]).tracks == {}


people = st.integers(0, 4)
exchange = st.builds(
    Exchange,
    at=st.sampled_from([T_END - d * DAY for d in (1, 2, 3, 5, 8, 8.5, 9, 10, 16, 30)]),
    kind=st.sampled_from(["email", "email", "meeting", "other"]),
    sender=people,
    recipients=st.lists(people, max_size=5).map(tuple),
    key=st.sampled_from([None, "", "a", "b", "c"]),
    reply_to=st.sampled_from([None, "", "a", "b", "c", "z"]),
    audience=st.sampled_from([0, 0, 1, 3, 4, -1]),
    cc=st.lists(people, max_size=3).map(tuple),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(exchange, max_size=25))
def test_tracks_equal_the_plain_loop_on_any_small_history(history):
    # Few instants and few people: equal times, the GAP's edge, odd kinds and audiences
    _check(history)


@pytest.mark.parametrize("seed", range(10))
def test_the_columns_score_ties_reads_give_the_timeline_of_the_exchanges_before_as_of(seed):
    # Given a history and a cut inside it, when score_ties reads the timeline off the frame
    history = random_history(seed, n=100 + 40 * seed, people=6 + seed)
    cut = T_END - 30 * DAY
    columns = columns_before(history, cut)
    # Then it is the timeline of the exchanges before the cut, in whatever order they came
    before = [x for x in history if x.at < cut]
    assert Timeline.of_columns(columns).tracks == Timeline.of(before).tracks == reference_tracks(before)
