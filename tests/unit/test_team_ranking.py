"""The pure part of teams: bands, months, ranking, reach, key-person risk, the draft."""

from __future__ import annotations

import re
from datetime import date

import pytest

from service.teams import draft, ranking
from service.teams.ranking import Share

TWO_WAY = {"replies_by_them": 1}


@pytest.mark.parametrize(
    ("strength", "band"), [(100, 3), (88, 3), (87.9, 2), (50, 2), (49.9, 1), (15, 1), (14.9, None), (0, None)]
)
def test_bands_cut_strength_at_88_50_and_15(strength, band):
    assert ranking.band_of(strength) == band
    assert ranking.band_of(strength, ["one_sided_you", "one_sided_them"]) == band


@pytest.mark.parametrize(
    ("strength", "flags", "band"),
    [(95, ["cooling"], 2), (95, ["dormant", "one_sided_you"], 2), (70, ["cooling"], 1), (40, ["dormant"], None)],
)
def test_a_cooling_or_dormant_tie_is_a_band_lower(strength, flags, band):
    assert ranking.band_of(strength, flags) == band


@pytest.mark.parametrize(
    ("strength", "rate", "flags", "band"),
    [
        (40, 3.0, [], 3),  # the steady rate decides, not the strength
        (99, 2.99, [], 2),
        (20, 0.9, [], 2),
        (95, 0.89, [], 1),
        (60, 0.0, [], 1),
        (14.9, 8.0, [], None),  # under strength 15 nothing is shared
        (90, 5.0, ["cooling"], 2),
        (90, 0.5, ["dormant"], None),
        (90, 5.0, ["one_sided_them"], 3),
    ],
)
def test_a_tie_that_kept_its_steady_two_way_rate_is_banded_by_it(strength, rate, flags, band):
    assert ranking.band_of(strength, flags, rate) == band


def test_the_sentence_that_says_what_a_band_means_says_what_band_of_does():
    # Given the cuts the shown sentence states (it is made of the cuts, so read them back)
    meaning = ranking.BAND_MEANING
    strong, medium = map(
        float, re.search(r"strong ([\d.]+) or more times a month, medium ([\d.]+) or more", meaning).groups()
    )
    by_strength = re.search(r"Kith strength instead \(strong ([\d.]+) or more, medium ([\d.]+) or more\)", meaning)
    s_strong, s_medium = map(float, by_strength.groups())
    # Then band_of cuts there: by the steady rate, and by strength for older snapshots
    assert [ranking.band_of(60, (), r) for r in (strong, strong - 0.01, medium, medium - 0.01)] == [3, 2, 2, 1]
    assert [ranking.band_of(s) for s in (s_strong, s_strong - 0.1, s_medium, s_medium - 0.1)] == [3, 2, 2, 1]
    # And a tie Kith marks cooling or dormant is one band lower, as it says
    assert "one band lower when Kith marks the tie cooling or dormant" in meaning
    assert ranking.band_of(60, ["cooling"], strong) == ranking.band_of(60, ["dormant"], strong) == 2


def test_shares_use_the_rate_when_the_snapshot_kept_it():
    # Given a strong-by-strength tie whose steady rate is under one a month, and an older
    # snapshot's tie without the rate (None)
    faded = (95, ["lee@acme.example"], "2026-11-20T00:00:00Z", TWO_WAY, [], "2026-10-03T10:00:00Z", True, 0.4)
    older = (95, ["kim@acme.example"], "2026-11-20T00:00:00Z", TWO_WAY, [], None, False, None)
    # Then the first is weak, the second strong by its strength
    assert ranking.shares_of(7, [faded, older]) == [
        Share(7, "kim@acme.example", 3, date(2026, 11, 1)),
        Share(7, "lee@acme.example", 1, date(2026, 10, 1)),
    ]


def test_the_month_is_given_only_for_a_two_way_tie():
    assert ranking.month_of("2026-10-31T23:59:00Z", TWO_WAY) == date(2026, 10, 1)
    assert ranking.month_of("2026-10-31T23:59:00Z", {"messages_to_them": 2, "messages_from_them": 1}) == date(
        2026, 10, 1
    )
    assert ranking.month_of("2026-10-31T23:59:00Z", {"messages_to_them": 5, "messages_from_them": 0}) is None
    assert ranking.month_of(None, TWO_WAY) is None
    assert ranking.month_of("garbage", TWO_WAY) is None


def test_shares_keep_only_addresses_and_the_best_band():
    ties = [
        (95, ["Lee@Acme.example", "not-an-address"], "2026-09-01T00:00:00Z", TWO_WAY, []),
        (65, ["lee@acme.example"], "2026-11-01T00:00:00Z", TWO_WAY, None),
        (10, ["weak@acme.example"], "2026-11-01T00:00:00Z", TWO_WAY, []),
        (92, ["kim@acme.example"], "2026-11-01T00:00:00Z", TWO_WAY, ["cooling"]),
        (45, ["fading@acme.example"], "2026-11-01T00:00:00Z", TWO_WAY, ["dormant"]),
    ]
    assert ranking.shares_of(7, ties) == [
        Share(7, "kim@acme.example", 2, date(2026, 11, 1)),
        Share(7, "lee@acme.example", 3, date(2026, 9, 1)),
    ]


def test_members_rank_by_band_then_recency_then_id():
    rows = [
        Share(1, "a@x.example", 2, date(2026, 11, 1)),
        Share(2, "b@x.example", 3, date(2026, 1, 1)),
        Share(3, "c@x.example", 3, date(2026, 5, 1)),
        Share(4, "d@x.example", 3, None),
        Share(3, "e@x.example", 1, date(2026, 12, 1)),
        Share(5, "f@x.example", 3, date(2026, 5, 1)),
    ]
    assert [s.user_id for s in ranking.best_per_member(rows)] == [3, 5, 2, 4, 1]


def test_reach_asks_the_best_holder_of_each_address():
    rows = [Share(1, "a@x.example", 2, None), Share(2, "a@x.example", 3, None), Share(1, "b@x.example", 1, None)]
    assert [(a, s.user_id) for a, s in ranking.reach(rows)] == [("a@x.example", 2), ("b@x.example", 1)]


def test_key_person_risk_flags_a_domain_with_one_strong_holder_only():
    rows = [
        Share(1, "a@solo.example", 3, date(2026, 3, 1)),
        Share(1, "b@solo.example", 3, date(2026, 8, 1)),
        Share(2, "c@solo.example", 2, None),  # medium does not widen it
        Share(1, "a@pair.example", 3, None),
        Share(2, "b@pair.example", 3, None),
        Share(1, "me@gmail.com", 3, None),  # a mail provider is no organisation
        Share(1, "pal@yahoo.co.uk", 3, None),  # in any of its countries
        Share(2, "boss@home.example", 3, None),  # nor is the team's own
    ]
    risky = ranking.key_person_risk(rows, ignore={"home.example"})
    assert [(d, s.user_id, s.month) for d, s in risky] == [("solo.example", 1, date(2026, 8, 1))]


def test_a_university_is_an_organisation_to_widen_and_a_mail_provider_is_not():
    rows = [Share(1, "dean@mit.edu", 3, None), Share(2, "friend@hotmail.fr", 3, None)]
    assert [d for d, _ in ranking.key_person_risk(rows)] == ["mit.edu"]


def test_the_draft_is_plain_text_for_the_holder_to_send():
    note = draft.clean_note("We met at the fair.\r\nKeen on the pilot\x1b[31m")
    assert "\x1b" not in note and note.count("\n") == 1
    made = draft.introduction(
        holder="Bo Chen",
        asker="Ana Ruiz",
        asker_email="ana@home.example",
        contact="lee@acme.example",
        contact_name="Lee Wong",
        note=note,
    )
    assert made["subject"] == "Introduction: Lee Wong <> Ana Ruiz"
    assert made["body"].startswith("Hi Lee,") and made["body"].endswith("Bo")
    assert "> We met at the fair." in made["body"]
    assert "\n" not in made["mailto"] and made["mailto"].startswith("mailto:lee@acme.example?cc=ana@home.example&")
    with pytest.raises(ValueError):
        draft.clean_note("x" * 1001)


def test_the_month_is_the_last_two_way_contacts_when_the_snapshot_kept_it():
    # Given a tie last in touch both ways in August, with one-way mail after it into
    # November (the last interaction), as a snapshot that kept the last two-way contact
    kept = (95, ["lee@acme.example"], "2026-11-20T00:00:00Z", TWO_WAY, [], "2026-08-03T10:00:00Z", True)
    never = (95, ["kim@acme.example"], "2026-11-20T00:00:00Z", TWO_WAY, [], None, True)
    # and an older snapshot that did not keep it
    older = (95, ["ana@acme.example"], "2026-11-20T00:00:00Z", TWO_WAY, [], None, False)
    # Then the month shared is August's, none for a tie never two-way, and the last
    # interaction's for the older snapshot whose ledger shows a two-way tie
    assert ranking.shares_of(7, [kept, never, older]) == [
        Share(7, "ana@acme.example", 3, date(2026, 11, 1)),
        Share(7, "kim@acme.example", 3, None),
        Share(7, "lee@acme.example", 3, date(2026, 8, 1)),
    ]
