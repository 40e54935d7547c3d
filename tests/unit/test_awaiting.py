"""Awaiting reply and the ghosting guard (analytics/awaiting.py), alone and in the short list."""

from __future__ import annotations

import re

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import Exchange, score_ties
from analytics.awaiting import DEFAULT_USUAL, GUARD_RUN, STALE, Timeline, is_direct
from tests.support.analytics import AS_OF, DAY, T_END, small_world

HOUR = 3600.0
ANA, BO, CY = 1, 2, 3


def answered_history(contact: int, n: int = 4, lag: float = 2 * HOUR, start_days: float = 200) -> list[Exchange]:
    """`n` conversations the contact opened, each answered by the user after `lag`."""
    out = []
    for k in range(n):
        at = T_END - (start_days - 20 * k) * DAY
        key = f"{contact}-{k}"
        out.append(Exchange(at, "email", contact, (0,), key=key))
        out.append(Exchange(at + lag, "email", 0, (contact,), key=f"re-{key}", reply_to=key))
    return out


def test_a_direct_message_past_the_users_usual_time_with_them_is_waiting():
    # Given Ana, whom the user answers within two hours, wrote to the user alone two days ago
    history = answered_history(ANA) + [Exchange(T_END - 2 * DAY, "email", ANA, (0,), key="now")]
    # When the timeline is read at as_of
    waiting = Timeline.of(history).waiting(T_END)
    # Then her message waits, judged against the user's own time with her
    assert set(waiting) == {ANA}
    w = waiting[ANA]
    assert w.basis == "them" and w.usual_s == 2 * HOUR and w.since == T_END - 2 * DAY and w.messages == 1


def test_cc_bulk_answers_and_fresh_messages_are_not_waiting():
    base = answered_history(ANA)
    cases = {
        # the user only on Cc
        "cc": Exchange(T_END - 2 * DAY, "email", ANA, (0, BO), cc=(0,)),
        # a message to five people
        "bulk": Exchange(T_END - 2 * DAY, "email", ANA, (0, BO, CY, 4, 5)),
        # within the user's usual time (and under MIN_WAIT)
        "fresh": Exchange(T_END - 1 * HOUR, "email", ANA, (0,)),
        # older than STALE: no longer a message waiting
        "stale": Exchange(T_END - STALE - DAY, "email", ANA, (0,)),
    }
    for name, message in cases.items():
        # Given one such message from Ana, when the timeline is read
        waiting = Timeline.of(base + [message]).waiting(T_END)
        # Then nothing waits
        assert waiting == {}, name
    # And the last word of a conversation the user started needs no answer
    mine = Exchange(T_END - 3 * DAY, "email", 0, (ANA,), key="q")
    answer = Exchange(T_END - 2 * DAY, "email", ANA, (0,), key="a", reply_to="q")
    assert Timeline.of(base + [mine, answer]).waiting(T_END) == {}


def test_the_usual_time_falls_back_to_the_users_habit_then_to_a_default():
    # Given Bo, never answered before, wrote three days ago; the user answers Ana within two hours
    bo = Exchange(T_END - 3 * DAY, "email", BO, (0,))
    w = Timeline.of(answered_history(ANA) + [bo]).waiting(T_END)[BO]
    # Then Bo's wait is judged against the user's time with everyone
    assert w.basis == "overall" and w.usual_s == 2 * HOUR
    # And with no answers at all, against DEFAULT_USUAL
    w = Timeline.of([bo]).waiting(T_END)[BO]
    assert w.basis == "default" and w.usual_s == DEFAULT_USUAL


def test_three_unanswered_messages_guard_the_tie_and_an_answer_lifts_the_guard():
    # Given the user wrote to Cy three times since Cy last wrote
    history = [Exchange(T_END - 90 * DAY, "email", CY, (0,), key="cy")]
    history += [Exchange(T_END - d * DAY, "email", 0, (CY,)) for d in (60, 40, 20)]
    # Then the tie is guarded, with the count and the dates the words need
    guarded = Timeline.of(history).guarded(T_END)
    assert guarded[CY].messages == 3 and guarded[CY].since == T_END - 60 * DAY
    assert guarded[CY].last_heard == T_END - 90 * DAY
    # And two messages do not guard it, nor do three on Cc or to a crowd
    assert Timeline.of(history[:-1]).guarded(T_END) == {}
    crowd = [history[0]] + [Exchange(T_END - d * DAY, "email", 0, (CY, 4, 5, 6, 7)) for d in (60, 40, 20)]
    assert Timeline.of(crowd).guarded(T_END) == {}
    # And once Cy writes back (even on a group message), the guard lifts
    back = Exchange(T_END - 5 * DAY, "email", CY, (0, 4, 5, 6, 7))
    assert Timeline.of(history + [back]).guarded(T_END) == {}
    # And a meeting they came to counts as an answer too
    met = Exchange(T_END - 5 * DAY, "meeting", 0, (CY,), duration_s=1800)
    assert Timeline.of(history + [met]).guarded(T_END) == {}


def test_is_direct_reads_the_to_line():
    assert is_direct(Exchange(0.0, "email", ANA, (0, BO)), 0)
    assert not is_direct(Exchange(0.0, "email", ANA, (0, BO), cc=(0,)), 0)
    assert is_direct(Exchange(0.0, "email", ANA, (0, BO), cc=(0,)), BO)
    assert not is_direct(Exchange(0.0, "meeting", ANA, (0,)), 0)


messages = st.lists(
    st.tuples(
        st.floats(0.01, 120),  # days before T_END (after them: the last word of a test)
        st.sampled_from([ANA, BO]),
        st.booleans(),  # from the user
        st.booleans(),  # on Cc
    ),
    max_size=30,
)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _build(spec) -> list[Exchange]:
    out = []
    for days, contact, from_user, cc in spec:
        at = T_END - days * DAY
        if from_user:
            out.append(Exchange(at, "email", 0, (contact,), cc=(contact,) if cc else ()))
        else:
            out.append(Exchange(at, "email", contact, (0,), cc=(0,) if cc else ()))
    return out


@SETTINGS
@given(messages, st.floats(0, 130))
def test_nothing_at_or_after_as_of_is_read(spec, cut_days):
    # Given any history and a moment inside it
    history = _build(spec)
    cut = T_END - cut_days * DAY
    full, past = Timeline.of(history), Timeline.of([x for x in history if x.at < cut])
    # Then what waits and what is guarded at that moment is the same without the later mail
    assert full.waiting(cut) == past.waiting(cut)
    assert full.unanswered(cut) == past.unanswered(cut)


@SETTINGS
@given(messages)
def test_a_run_counts_only_the_users_direct_messages_and_their_word_ends_it(spec):
    history = _build(spec)
    timeline = Timeline.of(history)
    for contact, u in timeline.unanswered(T_END).items():
        # Then a run is never longer than the user's direct messages to them
        direct = [x for x in history if x.sender == 0 and is_direct(x, contact)]
        assert 1 <= u.messages <= len(direct)
    for contact in (ANA, BO):
        # And a word from them after everything ends any run and any wait on the user's side
        later = history + [Exchange(T_END - 0.001 * DAY, "email", contact, (0,), cc=(0,))]
        assert contact not in Timeline.of(later).unanswered(T_END)
        # And a word from the user after everything leaves nothing of theirs waiting
        mine = history + [Exchange(T_END - 0.001 * DAY, "email", 0, (contact,))]
        assert contact not in Timeline.of(mine).waiting(T_END)


def _world_with(extra: list[Exchange], quiet: int | None = None) -> list[Exchange]:
    ex = small_world()
    if quiet is not None:  # nothing with `quiet` in the last 40 days
        ex = [x for x in ex if not (quiet in (x.sender, *x.recipients) and x.at > T_END - 40 * DAY)]
    return ex + extra


def test_ghosting_guard_turns_reach_out_into_wait_for_them():
    # Given contact 6, who writes more than the user (a "they invest more" pick), and the
    # user's last three messages to them unanswered
    unanswered = [Exchange(T_END - d * DAY, "email", 0, (6,)) for d in (30, 20, 10)]
    scores = {s.contact: s for s in score_ties(_world_with(unanswered, quiet=6), AS_OF)}
    tie = scores[6]
    # Then Kith does not suggest writing again, and says why
    assert tie.suggestion is not None and tie.suggestion.startswith("Leave the next move to them")
    assert re.search(r"you have written [3-9] times since \d+ \w+ 2026 without an answer", tie.suggestion)
    assert "start the next conversation" not in tie.suggestion
    assert any("have had no answer" in line for line in tie.explanation)
    # And every action pick ranks above it
    ranked = sorted((s for s in scores.values() if s.deepen_rank), key=lambda s: s.deepen_rank)
    assert ranked[-1].contact == 6
    # And without the unanswered run the same tie gets a suggestion to write to them
    plain = {s.contact: s for s in score_ties(_world_with([], quiet=6), AS_OF)}[6]
    assert plain.suggestion is not None and not plain.suggestion.startswith("Leave the next move")
    assert "send a short personal note" in plain.suggestion or "start the next conversation" in plain.suggestion
    assert GUARD_RUN == 3


def test_a_waiting_message_becomes_the_ties_suggestion():
    # Given contact 2 (answered within three hours) wrote to the user alone three days ago,
    # after 40 quiet days
    ana = Exchange(T_END - 3 * DAY, "email", 2, (0,), key="ask")
    scores = {s.contact: s for s in score_ties(_world_with([ana], quiet=2), AS_OF)}
    tie = scores[2]
    # Then the tie is on the short list with an answer to give, dated, and the user's habit
    assert tie.deepen_rank is not None
    assert tie.suggestion == (
        "Answer their message of 29 May 2026: it has waited 3 days; you usually answer them within 3 hours."
    )
    # and the reason comes first in its explanation, where the digest and `kith demo` read it
    assert tie.explanation[0].startswith("Awaiting your reply: they wrote to you on 29 May 2026 (3 days ago)")


def test_several_waiting_messages_are_counted_from_the_first():
    # Given contact 2 wrote to the user alone five and three days ago, with no answer
    first = Exchange(T_END - 5 * DAY, "email", 2, (0,), key="ask")
    again = Exchange(T_END - 3 * DAY, "email", 2, (0,), key="again")
    tie = {s.contact: s for s in score_ties(_world_with([first, again], quiet=2), AS_OF)}[2]
    # Then the reason counts both and dates the first
    assert tie.explanation[0].startswith(
        "Awaiting your reply: they wrote to you 2 times, the first on 27 May 2026 (5 days ago)"
    ), tie.explanation[0]
