"""The flag gate (analytics/flag_gate.py): a flag that cannot clear its bar is not shown,
and the silence a flag rests on, in words."""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone

import numpy as np
import pytest

from analytics import flag_gate, score_ties
from analytics.explain import flag_silence_words
from analytics.flag_gate import MIN_EXPECTED, MIN_FLAGGED, Evidence, shown
from tests.support.analytics import AS_OF, DAY, T_END, conversation, regular


def test_a_flag_whose_ratio_misses_its_bar_is_not_shown():
    """Given cooling measured at 0.586 against its bar of 0.5, then it is not shown; at
    0.438, it is."""
    assert not shown("cooling", {"cooling": Evidence(bar=0.5, estimate=0.586, low=0.34, high=0.95, flagged=181)})
    assert shown("cooling", {"cooling": Evidence(bar=0.5, estimate=0.438, low=0.23, high=0.79, flagged=160)})
    assert shown("cooling", {"cooling": Evidence(bar=0.5, estimate=0.5, low=0.3, high=0.7, flagged=160)})


def test_a_flag_measured_on_too_little_is_not_shown():
    """Given dormant measured on one flagged tie, or with fewer revivals expected than
    MIN_EXPECTED, or not measured at all, then it is not shown, whatever its ratio."""
    few = Evidence(bar=0.2, estimate=0.0, low=0.0, high=0.0, flagged=MIN_FLAGGED - 1, expected=10.0)
    thin = Evidence(bar=0.2, estimate=0.0, low=0.0, high=0.0, flagged=29, expected=MIN_EXPECTED - 3.7)
    nan = Evidence(bar=0.2, estimate=math.nan, low=math.nan, high=math.nan, flagged=100, expected=9.0)
    for evidence in (few, thin, nan):
        assert not shown("dormant", {"dormant": evidence})
    assert not shown("dormant", {})
    assert shown("dormant", {"dormant": Evidence(bar=0.2, estimate=0.1, low=0, high=0.4, flagged=80, expected=6.0)})


def test_one_sided_flags_make_no_claim_and_are_not_gated():
    assert shown("one_sided_you", {}) and shown("one_sided_them", {})


def test_the_shipped_measurements_clear_their_bars():
    """The figures the development backtest measured (re-measured by the slow Enron test)."""
    assert flag_gate.MEASURED["cooling"].bar == 0.5 and flag_gate.MEASURED["dormant"].bar == 0.2
    assert shown("cooling") and shown("dormant")


def history():
    """Tie 1 went from every 4 days to silent for 85 days; tie 2 is steady weekly."""
    ex = regular(1, every_days=4, start_days_ago=600, stop_days_ago=100) + conversation(1, T_END - 85 * DAY)
    ex += regular(2, every_days=7, start_days_ago=600)
    return ex


def test_score_ties_shows_cooling_with_the_silence_it_rests_on():
    """Given a tie flagged cooling, then its explanation says the silence the flag rests
    on, once (here in the suggestion's reason), and not a second, different ratio."""
    tie = {s.contact: s for s in score_ties(history(), AS_OF)}[1]
    assert "cooling" in tie.flags
    said = [line for line in tie.explanation if "no personal mail or meeting" in line.lower()]
    # first, as the reason the tie is on the list; the flag's own word is shown before it
    assert len(said) == 1 and said[0] == tie.explanation[0]
    assert re.match(
        r"(No active days|1 active day|\d+ active days) in the last 90 days, against about \d+ before;", said[0]
    )
    assert said[0].endswith("; no personal mail or meeting with them for 3 months, 21x your usual gap")
    assert not any(line.startswith("Quiet for ") for line in tie.explanation)


def test_score_ties_hides_a_gated_flag_and_does_not_act_on_it(monkeypatch):
    """Given the gate's measurement of cooling above its bar, then no tie carries the flag
    and none is suggested as cooling."""
    failed = Evidence(bar=0.5, estimate=0.66, low=0.48, high=0.84, flagged=524)
    monkeypatch.setitem(flag_gate.MEASURED, "cooling", failed)
    scores = score_ties(history(), AS_OF)
    assert all("cooling" not in s.flags for s in scores)
    assert all(not (s.suggestion or "").startswith("You used to be in touch") for s in scores)


@pytest.mark.parametrize(
    ("ratio", "days", "words"),
    [
        (12.3, 75.0, "No personal mail or meeting with them for 2 months, 12x your usual gap"),
        (8.6, 45.0, "No personal mail or meeting with them for 45 days, 8.6x your usual gap"),
        (1.2, 45.0, "No personal mail or meeting with them for 45 days"),
        (math.inf, 400.0, "No personal mail or meeting with them for 13 months"),
        (12.0, math.nan, None),
    ],
)
def test_flag_silence_words(ratio, days, words):
    assert flag_silence_words(ratio, days) == words


# The deployment's gate: its users' raw flags, pooled (flag_gate.count / pooled / decide).


def test_count_reads_one_users_raw_flags_against_what_came_after():
    """Given six ties (two active and flagged cooling, one back in touch; three active and
    clear, two in touch; one dormant that revived, in a user whose ties were in touch at
    4 of 6), then the counts say exactly that."""
    cooling = np.array([1, 1, 0, 0, 0, 0], bool)
    dormant = np.array([0, 0, 0, 0, 0, 1], bool)
    active = np.array([1, 1, 1, 1, 1, 0], bool)
    touched = np.array([1, 0, 1, 1, 0, 1], bool)
    c = flag_gate.count({"cooling": cooling, "dormant": dormant}, active, touched)
    assert (c.cooling, c.cooling_touched, c.clear, c.clear_touched) == (2, 1, 3, 2)
    assert (c.dormant, c.dormant_revived) == (1, 1) and c.dormant_expected == pytest.approx(4 / 6)


def users(n: int, cooling: int, cooling_touched: int, clear: int = 20, clear_touched: int = 10) -> list:
    return [flag_gate.Counts(cooling, cooling_touched, clear, clear_touched) for _ in range(n)]


def test_a_pool_with_enough_flags_decides_and_too_few_leave_the_shipped_constant():
    """Given 8 users with 4 cooling flags each, in touch after at the rate of their
    unflagged ties (ratio 1.0), then cooling is hidden on the pool's word; given 4 such
    users (16 flags, under MIN_FLAGGED), then the shipped constant decides, and shows it."""
    decided = flag_gate.decide(users(8, cooling=4, cooling_touched=2))
    assert decided["cooling"].source == "deployment" and decided["cooling"].flagged == 32
    assert decided["cooling"].estimate == pytest.approx(1.0) and not shown("cooling", decided)
    assert decided["dormant"] is flag_gate.MEASURED["dormant"]  # nothing flagged dormant in the pool
    few = flag_gate.decide(users(4, cooling=4, cooling_touched=2))
    assert few["cooling"] is flag_gate.MEASURED["cooling"] and shown("cooling", few)


def test_a_pool_whose_flags_predict_shows_them_with_an_interval_over_users():
    """Given 10 users, each with 3 cooling flags of which none or one came back (4 of 30
    in all) against half their clear ties, then the pooled ratio is (4/30)/(1/2) and
    cooling is shown; the interval from resampling users holds the estimate."""
    pool = [flag_gate.Counts(3, i % 3 == 0, 20, 10) for i in range(10)]
    decided = flag_gate.decide(pool)
    c = decided["cooling"]
    assert c.source == "deployment" and c.estimate == pytest.approx((4 / 30) / 0.5)
    assert c.low <= c.estimate <= c.high and c.high > c.low and shown("cooling", decided)


def test_dormant_is_decided_by_the_pool_only_with_enough_expected_revivals():
    """Given 25 dormant flags with 2 revivals expected, then the pool does not decide
    (MIN_EXPECTED); with 8 expected and 6 revived (ratio 0.75 over its bar of 0.2), it
    hides dormant."""
    thin = [flag_gate.Counts(dormant=25, dormant_revived=2, dormant_expected=2.0)]
    assert flag_gate.decide(thin)["dormant"] is flag_gate.MEASURED["dormant"]
    revived = [flag_gate.Counts(dormant=5, dormant_revived=1 + (i < 1), dormant_expected=1.6) for i in range(5)]
    decided = flag_gate.decide(revived)
    assert decided["dormant"].source == "deployment" and decided["dormant"].estimate == pytest.approx(6 / 8)
    assert not shown("dormant", decided)


def test_an_organisation_that_settles_a_flag_decides_it_for_its_users_and_for_no_one_else():
    """Given one deployment serving three organisations: at south 16 users whose cooling
    flags came back as often as their other active ties, at north 6 whose flags never came
    back, at west 8 with a flag each (too few to measure), then south's users have cooling
    hidden and north's shown, each on their own pool; west's users and a user of no
    organisation are decided by the users outside south and north (west's 8, too few
    flags: the shipped constant, shown), not by south's mail, which would hide it."""
    pools = {
        "south.example": users(16, cooling=4, cooling_touched=2),
        "north.example": users(6, cooling=4, cooling_touched=0),
        "west.example": users(8, cooling=1, cooling_touched=1),
    }
    south, north = flag_gate.decide_for("south.example", pools), flag_gate.decide_for("north.example", pools)
    assert (south["cooling"].source, south["cooling"].users) == ("organisation", 16) and not shown("cooling", south)
    assert (north["cooling"].source, north["cooling"].users) == ("organisation", 6) and shown("cooling", north)
    for org in ("west.example", None):
        decided = flag_gate.decide_for(org, pools)
        assert decided["cooling"] is flag_gate.MEASURED["cooling"] and shown("cooling", decided)
    # With everyone in one pool, south's mail would have hidden it from west too
    assert not shown("cooling", flag_gate.decide([c for cs in pools.values() for c in cs]))
    # Dormant, flagged nowhere, is the shipped constant's for everyone
    assert all(flag_gate.decide_for(o, pools)["dormant"] is flag_gate.MEASURED["dormant"] for o in (*pools, None))


def test_a_few_users_outside_the_one_organisation_follow_its_pool():
    """Given a deployment of one organisation whose 16 users' cooling flags came back, and 2
    users of free-mail domains (too few to be a pool of their own), then those 2 are decided
    by every user's pool, and cooling is hidden from them too."""
    pools = {"south.example": users(16, cooling=4, cooling_touched=2), None: users(2, cooling=4, cooling_touched=2)}
    decided = flag_gate.decide_for(None, pools)
    assert decided["cooling"].source == "deployment" and decided["cooling"].users == 18
    assert not shown("cooling", decided)
    assert flag_gate.others_pool("cooling", pools, {"south.example": flag_gate.pooled(pools["south.example"])}) == [
        *pools["south.example"],
        *pools[None],
    ]


def test_an_empty_pool_leaves_both_flags_to_the_shipped_constant():
    assert flag_gate.decide([]) == {f: flag_gate.MEASURED[f] for f in flag_gate.GATED}


@pytest.mark.parametrize(
    "change",
    [
        {"cooling": -1},
        {"clear": "7"},
        {"dormant": True},
        {"dormant_expected": math.inf},
        {"dormant_expected": math.nan},
        {"clear_touched": 2.5},
        {"cooling_touched": 99},
        {"dormant_revived": None},
    ],
)
def test_counts_read_back_refuse_what_is_not_a_count(change):
    good = flag_gate.Counts(3, 1, 20, 10, 2, 0, 0.4).as_json()
    assert flag_gate.Counts.from_json(good) == flag_gate.Counts(3, 1, 20, 10, 2, 0, 0.4)
    with pytest.raises(ValueError, match="flag counts"):
        flag_gate.Counts.from_json({**good, **change})


def test_score_ties_follows_the_gate_it_is_given():
    """Given the deployment's evidence that cooling fails its bar, then score_ties shows no
    cooling; given evidence that it clears it, the flag is back."""
    fails = flag_gate.Evidence(bar=0.5, estimate=0.9, low=0.6, high=1.3, flagged=40, source="deployment")
    clears = flag_gate.Evidence(bar=0.5, estimate=0.3, low=0.1, high=0.5, flagged=40, source="deployment")
    dormant = flag_gate.MEASURED["dormant"]
    hidden = score_ties(history(), AS_OF, gate={"cooling": fails, "dormant": dormant})
    assert all("cooling" not in s.flags for s in hidden)
    back = {s.contact: s for s in score_ties(history(), AS_OF, gate={"cooling": clears, "dormant": dormant})}
    assert "cooling" in back[1].flags


def test_a_pool_decides_only_with_enough_users_and_an_interval_clear_of_the_bar():
    """Given 40 cooling flags from 4 users (under MIN_USERS), then the shipped constant
    decides; given 10 users with 5 flags each, 0 to 4 of them back in touch against half
    their clear ties (pooled 0.64, interval across the bar), it decides too: a borderline
    pool does not switch a flag off."""
    from analytics.flag_gate import MIN_USERS

    four = flag_gate.decide(users(4, cooling=10, cooling_touched=5))
    assert MIN_USERS == 5 and four["cooling"] is flag_gate.MEASURED["cooling"]
    mixed = [flag_gate.Counts(5, touched, 20, 10) for touched in (0, 0, 1, 1, 2, 2, 3, 3, 4, 0)]
    pooled = flag_gate.pooled(mixed)["cooling"]
    assert pooled.estimate == pytest.approx((16 / 50) / 0.5)
    assert pooled.low < pooled.bar < pooled.high and pooled.flagged == 50 and pooled.users == 10
    assert not flag_gate.settles(pooled)
    assert flag_gate.decide(mixed)["cooling"] is flag_gate.MEASURED["cooling"]


def test_the_raw_flags_are_counted_whether_shown_or_not():
    """The pool must cover the cooling criterion whether or not it was shown, or a hidden
    flag could never come back. Given the mail of tests/support/evidence.history(), five
    ties cooling on 1 March 2026, two of which came back monthly, then the count on that
    day says so, and it is counted the same under a gate that hides cooling."""
    from tests.support.evidence import history as five_cooling

    moment = datetime(2026, 3, 1, tzinfo=timezone.utc).timestamp()
    c = flag_gate.counts_at(five_cooling(), moment)
    assert c is not None and (c.cooling, c.cooling_touched) == (5, 2)
    # 15 other active ties: 7, 8 and 9 stopped three days before and stayed silent
    assert (c.clear, c.clear_touched, c.dormant) == (15, 12, 0)
    assert flag_gate.counts_at([x for x in five_cooling() if x.at >= moment - 60 * DAY], moment) is None
    assert flag_gate.counts_at(five_cooling(), moment - 700 * DAY) is None  # no mail before
