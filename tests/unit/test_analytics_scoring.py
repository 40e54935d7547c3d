"""score_ties and ties_to_deepen: the contract the rest of the pipeline relies on."""

from __future__ import annotations

import itertools
import subprocess
import sys

import pytest

from analytics import Exchange, TieScore, score_ties, ties_to_deepen
from tests.support.analytics import AS_OF, DAY, T_END, conversation, meeting, small_world

LEDGER_KEYS = {
    "initiated_by_you",
    "initiated_by_them",
    "messages_to_them",
    "messages_from_them",
    "replies_by_you",
    "replies_by_them",
    "median_reply_hours_you",
    "median_reply_hours_them",
    "meetings_you_organised",
    "meetings_they_organised",
    "window_days",
}


@pytest.fixture(scope="module")
def scores() -> list[TieScore]:
    return score_ties(small_world(), AS_OF)


def by_contact(scores, person):
    return next(s for s in scores if s.contact == person)


def test_one_score_per_contact_sorted_by_strength(scores):
    """Given a user with seven contacts, when scored, then one TieScore each, strongest first,
    with values in their documented ranges."""
    assert sorted(s.contact for s in scores) == [1, 2, 3, 4, 5, 6, 7]
    strengths = [s.strength for s in scores]
    assert strengths == sorted(strengths, reverse=True)
    for s in scores:
        assert 0 <= s.strength <= 100
        assert -100 <= s.reciprocity <= 100
        assert s.tier == (
            "strong" if s.strength >= 70 else "medium" if s.strength >= 40 else "weak" if s.strength >= 15 else "fading"
        )
        assert set(s.flags) <= {"cooling", "dormant", "one_sided_you", "one_sided_them"}
        assert set(s.ledger) == LEDGER_KEYS and s.ledger["window_days"] == 180
        assert s.last_interaction is not None and s.last_interaction < T_END
        assert s.explanation and all(isinstance(line, str) and line for line in s.explanation)
        assert {"volume_in", "two_way_rate", "revival_value"} <= set(s.features)


def test_shapes_of_ties_are_recognised(scores):
    """Given steady, cooling, dormant and one-sided ties, then each gets its flag and the
    steady weekly tie with meetings is the strongest."""
    assert scores[0].contact == 1 and scores[0].tier == "strong" and not scores[0].flags
    assert "cooling" in by_contact(scores, 3).flags
    assert "dormant" in by_contact(scores, 4).flags
    assert by_contact(scores, 4).features["revival_value"] > 0
    assert "one_sided_you" in by_contact(scores, 5).flags and by_contact(scores, 5).reciprocity > 50
    assert "one_sided_them" in by_contact(scores, 6).flags and by_contact(scores, 6).reciprocity < -50
    assert not by_contact(scores, 2).flags


def test_explanations_are_sentences_with_counts_and_change(scores):
    strong = by_contact(scores, 1)
    assert any("30 days ago" in line for line in strong.explanation)
    one_sided = by_contact(scores, 6)
    assert any("messages from them" in line or "conversations" in line for line in one_sided.explanation)


def test_ties_to_deepen_ranked_with_suggestions(scores):
    """Then a short ranked list holds the cooling, dormant and them-invest-more ties, each
    with a concrete action; nothing else carries a rank."""
    picks = ties_to_deepen(scores, limit=5)
    assert 1 <= len(picks) <= 5
    assert [p.deepen_rank for p in picks] == list(range(1, len(picks) + 1))
    assert {p.contact for p in picks} <= {3, 4, 6}
    assert all(p.suggestion and len(p.suggestion) > 20 for p in picks)
    assert ties_to_deepen(scores, limit=1) == picks[:1]
    assert all(
        s.deepen_rank is None and s.suggestion is None for s in scores if s.contact not in {p.contact for p in picks}
    )


def test_feedback_is_honoured():
    """Given feedback, then not_relationship and snooze never appear in the deepen list,
    not_relationship is down-weighted and matters up-weighted."""
    history = small_world()
    plain = {s.contact: s for s in score_ties(history, AS_OF)}
    fed = {
        s.contact: s for s in score_ties(history, AS_OF, feedback={4: "snooze", 6: "not_relationship", 2: "matters"})
    }
    assert fed[4].deepen_rank is None and fed[6].deepen_rank is None
    assert fed[6].strength < plain[6].strength
    assert fed[2].strength > plain[2].strength


def test_nothing_at_or_after_as_of_counts():
    """Given exchanges after as_of (and exactly at it), then they change nothing."""
    history = small_world()
    later = [Exchange(T_END + d * DAY, "email", 9, (0,)) for d in range(0, 30)]
    later += conversation(1, T_END, you_start=False) + [meeting(3, T_END + DAY)]
    assert score_ties(history + later, AS_OF) == score_ties(history, AS_OF)


def test_empty_and_tiny_histories():
    assert score_ties([], AS_OF) == []
    one = score_ties([Exchange(T_END - DAY, "email", 0, (5,))], AS_OF)
    assert [s.contact for s in one] == [5]
    assert one[0].flags == ()  # one message is never one-sided


def test_analytics_stays_pure():
    """analytics imports no database, HTTP or settings module."""
    code = (
        "import sys, analytics, analytics.backtest, analytics.prior; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('psycopg', 'psycopg_pool', 'sqlalchemy', 'httpx', 'requests', 'fastapi', 'service', 'redis')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_tie_keeps_the_time_of_its_last_two_way_contact():
    """Given a contact answered 100 days ago and written to (never answered) since, and one
    never answered, then the first tie's last two-way contact is the answer's time, later
    than nothing and earlier than its last interaction, and the second has none."""
    answered_at = T_END - 100 * DAY
    mail = conversation(1, answered_at - 3 * 3600)  # the answer comes 3 hours later
    mail += [x for d in (60, 30, 10) for x in conversation(1, T_END - d * DAY, answered=False)]
    mail += [x for d in (90, 50) for x in conversation(2, T_END - d * DAY, answered=False)]
    scores = {s.contact: s for s in score_ties(mail, AS_OF)}
    assert scores[1].last_two_way == pytest.approx(answered_at)
    assert scores[1].last_interaction == pytest.approx(T_END - 10 * DAY)
    assert scores[2].last_two_way is None


def test_each_tie_carries_its_90_day_chance_of_touch_in_the_order_of_strength(scores):
    """Given a scored user, then each tie has a 90-day chance of two-way touch, higher for a
    stronger tie and above its four-week strength (90 days hold those four weeks); and the
    user's marks move it the way they move strength."""
    chances = [s.touch_chance for s in scores]  # strongest first
    assert all(c is not None and 0.0 <= c <= 1.0 for c in chances)
    assert all(a >= b - 1e-4 for a, b in itertools.pairwise(chances))
    assert all(s.touch_chance >= s.strength / 100.0 - 0.05 for s in scores)
    history = small_world()
    plain = {s.contact: s for s in score_ties(history, AS_OF)}
    fed = {s.contact: s for s in score_ties(history, AS_OF, feedback={6: "not_relationship", 2: "matters"})}
    assert fed[6].touch_chance < plain[6].touch_chance
    assert fed[2].touch_chance > plain[2].touch_chance
