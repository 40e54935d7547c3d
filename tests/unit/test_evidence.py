"""How right Kith has been (analytics/evidence.py): its calls at a past moment against what
happened since, beside plain baselines, and plain words when there is too little to judge."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import Exchange, flag_gate, score_ties
from analytics.evidence import FEW_TIES, MIN_CALLED, NO_MAIL_SINCE, OK, SHORT_HISTORY, TOP, hidden_now, measure
from tests.support.analytics import DAY, T_END
from tests.support.evidence import CALLS, history


def two_way_since(exchanges: list[Exchange], contact: int) -> bool:
    """Independent of the module: mail both ways, or a small meeting, in [CALLS, T_END)."""
    window = [x for x in exchanges if CALLS <= x.at < T_END and contact in (x.sender, *x.recipients)]
    out = any(x.kind == "email" and x.sender == 0 for x in window)
    back = any(x.kind == "email" and x.sender == contact for x in window)
    met = any(x.kind == "meeting" and x.size() <= 5 for x in window)
    return (out and back) or met


def test_strong_calls_are_checked_against_two_way_touch_since_beside_recency():
    # Given a history of 20 ties, three strong ones silent from just before the calls
    ex = history()
    # When Kith's calls of 90 days ago are checked
    e = measure(ex, ex, CALLS, T_END)
    # Then the strong ties are exactly those Kith scored strong from the mail before then
    before = [x for x in ex if x.at < CALLS]
    called = [s.contact for s in score_ties(before, CALLS) if s.tier == "strong"]
    assert e.verdict == OK and e.ties == 20 and e.called_strong == len(called) >= MIN_CALLED
    # And the hits are those in two-way touch since, counted independently
    assert e.strong is not None and e.strong.ties == len(called)
    assert e.strong.hits == sum(two_way_since(ex, c) for c in called)
    assert {7, 8, 9} <= set(called)  # strong then, silent since: misses
    assert e.strong.hits <= len(called) - 3
    # And the recency baseline ranks as many ties, the most recent first
    last = {c: max(x.at for x in before if c in (x.sender, *x.recipients)) for c in range(1, 21)}
    top = sorted(last, key=lambda c: (-last[c], c))[: len(called)]
    assert e.strong_recency is not None and e.strong_recency.ties == len(called)
    assert e.strong_recency.hits == sum(two_way_since(ex, c) for c in top)
    # And Kith's own expectation is the sum of those ties' 90-day chances of touch then
    chances = {s.contact: s.touch_chance for s in score_ties(before, CALLS)}
    assert e.strong.expected == pytest.approx(sum(chances[c] for c in called))
    assert 0 < e.strong.expected < len(called)
    # And the words carry the same numbers and the date
    assert e.sentences[0] == (
        f"Of the {len(called)} ties Kith called strong on 3 March 2026, you were in touch with "
        f"{e.strong.hits} since; Kith had expected about {round(e.strong.expected)}. "
        f"A plain most-recent-first list got {e.strong_recency.hits} of {len(called)}."
    )


def test_with_fewer_than_ten_strong_ties_the_ten_strongest_are_checked():
    # Given a history where Kith calls fewer than ten ties strong
    ex = [x for x in history() if not {x.sender, *x.recipients} & {1, 2, 3, 4, 5}]
    e = measure(ex, ex, CALLS, T_END)
    scores = score_ties([x for x in ex if x.at < CALLS], CALLS)
    n_strong = sum(s.tier == "strong" for s in scores)
    assert 0 < n_strong < TOP and e.called_strong == n_strong
    # Then the claim covers the ten Kith ranked strongest, and says so
    top = [s.contact for s in scores[:TOP]]
    assert e.strong is not None
    assert (e.strong.ties, e.strong.hits) == (TOP, sum(two_way_since(ex, c) for c in top))
    assert e.sentences[0].startswith("Of the 10 ties Kith ranked strongest on 3 March 2026, you were in touch with ")


def test_cooling_calls_are_checked_against_going_quiet():
    ex = history()
    e = measure(ex, ex, CALLS, T_END)
    cooling = [s.contact for s in score_ties([x for x in ex if x.at < CALLS], CALLS) if "cooling" in s.flags]
    assert e.called_cooling == len(cooling)
    if len(cooling) >= MIN_CALLED:
        assert e.cooling is not None and e.cooling_recency is not None
        assert e.cooling.hits == sum(not two_way_since(ex, c) for c in cooling)
        assert e.cooling_recency.ties <= len(cooling)
        assert (
            f"Of the {len(cooling)} ties Kith flagged cooling on 3 March 2026, {e.cooling.hits} went quiet"
            in (e.sentences[1])
        )
    else:
        assert e.cooling is None and "too few to tell" in e.sentences[1]


def test_too_little_history_is_said_plainly_without_numbers():
    ex = history()
    # Given mail that starts 60 days before the calls
    recent = [x for x in ex if x.at >= CALLS - 60 * DAY]
    e = measure(recent, recent, CALLS, T_END)
    # Then the answer is a sentence, not a share
    assert e.verdict == SHORT_HISTORY and e.strong is None and e.cooling is None
    assert len(e.sentences) == 1
    assert re.fullmatch(
        r"Too little history: your mail starts on \d+ January 2026, (59|60) days before 3 March 2026, "
        r"and Kith needs 90 days before it to judge how right it would have been\.",
        e.sentences[0],
    )
    # And with no mail at all before the calls
    later = [x for x in ex if x.at >= CALLS]
    assert measure(later, later, CALLS, T_END).sentences == (
        "There is no mail before 3 March 2026 to judge Kith's calls from.",
    )


def test_while_older_mail_is_still_read_the_calls_are_the_provisional_ones(monkeypatch):
    import analytics.evidence

    ex = history()
    # Given a first sync that has read the mail whole only from 120 days before the calls
    since = CALLS - 120 * DAY
    asked = []
    monkeypatch.setattr(
        analytics.evidence, "score_ties", lambda *a, **kw: asked.append(kw.get("since")) or score_ties(*a, **kw)
    )
    e = measure(ex, ex, CALLS, T_END, since=since)
    assert asked == [since]
    # Then Kith's calls are those a provisional scoring makes then (the model learns from
    # no snapshot before `since`), not those of a scoring that believes the history whole
    before = [x for x in ex if x.at < CALLS]
    provisional = [s.contact for s in score_ties(before, CALLS, since=since) if s.tier == "strong"]
    assert e.verdict == OK and e.called_strong == len(provisional) >= MIN_CALLED
    assert e.history_days == 120.0
    # And a `since` before the first mail changes nothing
    assert measure(ex, ex, CALLS, T_END, since=CALLS - 900 * DAY) == measure(ex, ex, CALLS, T_END)
    assert asked[1:] == [None, None]


def test_mail_whole_for_too_short_a_time_is_said_plainly():
    ex = history()
    # Given mail whole only from 40 days before the calls (or only from after them)
    for days, day in ((40, "22 January 2026"), (-10, "13 March 2026")):
        e = measure(ex, ex, CALLS, T_END, since=CALLS - days * DAY)
        assert e.verdict == SHORT_HISTORY and e.strong is None and e.cooling is None
        assert e.sentences == (
            f"Your older mail is still being read: the mail read so far is whole from {day}, and Kith needs it "
            "whole from 3 December 2025 to judge how right its calls of 3 March 2026 were.",
        )


def test_few_ties_and_no_mail_since_are_said_plainly():
    # Given only four ties
    few = [x for x in history() if {x.sender, *x.recipients} <= {0, 1, 2, 3, 4}]
    e = measure(few, few, CALLS, T_END)
    assert e.verdict == FEW_TIES and e.ties == 4 and e.strong is None
    assert e.sentences[0] == (
        "Too few ties: only 4 ties had mail before 3 March 2026; Kith needs at least 10 to say how right it has been."
    )
    # Given nothing read after the calls (a mailbox that stopped syncing)
    ex = history()
    e = measure(ex, [x for x in ex if x.at < CALLS], CALLS, T_END)
    assert e.verdict == NO_MAIL_SINCE and e.strong is None
    assert "No mail or meetings since 3 March 2026 have been read" in e.sentences[0]


SETTINGS = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
extra = st.lists(st.tuples(st.floats(0, 89), st.integers(1, 20), st.booleans()), min_size=1, max_size=20)


@SETTINGS
@given(extra)
def test_the_calls_read_nothing_after_their_moment(later_mail):
    # Given any mail after the calls, added to what the calls are made from
    ex = history()
    added = [Exchange(CALLS + d * DAY, "email", 0 if mine else c, (c,) if mine else (0,)) for d, c, mine in later_mail]
    plain = measure(ex, ex, CALLS, T_END)
    more = measure(ex + added, ex, CALLS, T_END)
    # Then the calls and their check do not change
    assert more == plain


def test_a_two_way_exchange_since_turns_a_miss_into_a_hit():
    # Given a strong tie silent since the calls (contact 7), when the two wrote both ways after them
    ex = history()
    back = [
        Exchange(CALLS + 10 * DAY, "email", 0, (7,), key="q7"),
        Exchange(CALLS + 11 * DAY, "email", 7, (0,), reply_to="q7"),
    ]
    plain = measure(ex, ex, CALLS, T_END)
    more = measure(ex, ex + back, CALLS, T_END)
    # Then exactly one more strong call came true, and the calls themselves are the same
    assert plain.strong is not None and more.strong is not None
    assert more.strong.hits == plain.strong.hits + 1 and more.called_strong == plain.called_strong
    # And mail after `until` is never read
    late = [Exchange(T_END + DAY, "email", 0, (7,)), Exchange(T_END + 2 * DAY, "email", 7, (0,))]
    assert measure(ex, ex + late, CALLS, T_END) == plain


def test_until_must_follow_the_calls():
    with pytest.raises(ValueError):
        measure(history(), [], T_END, CALLS)


def test_a_hidden_flag_is_not_called_and_the_words_say_why():
    """Given the deployment's evidence that cooling fails its bar, then the check calls no
    tie cooling and says why, instead of "Kith flagged no tie as cooling"."""
    ex = history()
    fails = flag_gate.Evidence(bar=0.5, estimate=0.9, low=0.6, high=1.3, flagged=40, source="deployment")
    e = measure(ex, ex, CALLS, T_END, gate={"cooling": fails, "dormant": flag_gate.MEASURED["dormant"]})
    assert e.called_cooling == 0 and e.cooling is None
    assert e.sentences[1] == (
        "Kith showed no cooling flags on 3 March 2026: on the mail of the people using this Kith, ties that met its "
        "cooling test were in touch afterwards more than half as often as other active ties, so the flag was not shown."
    )
    shipped = flag_gate.Evidence(bar=0.5, estimate=0.9, low=0.6, high=1.3, flagged=40)
    e = measure(ex, ex, CALLS, T_END, gate={"cooling": shipped, "dormant": flag_gate.MEASURED["dormant"]})
    assert "on the mail Kith was tested on, ties that met its cooling test" in e.sentences[1]


def test_a_flag_hidden_now_is_said_in_plain_words():
    fails = flag_gate.Evidence(bar=0.2, estimate=0.7, low=0.5, high=1.1, flagged=40, expected=9.0, source="deployment")
    gate = {"cooling": flag_gate.MEASURED["cooling"], "dormant": fails}
    assert hidden_now(gate) == (
        "Kith does not show dormant flags now: on the mail of the people using this Kith, ties that met its dormant "
        "test were back in touch afterwards more than a fifth as often as the average tie.",
    )
    assert hidden_now(dict(flag_gate.MEASURED)) == ()
