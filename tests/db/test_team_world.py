"""The synthetic world with a team: five users at one company whose worlds share 24
contacts (12 clients, 12 colleagues), each tie with a known true strength. Through the
whole pipeline (files -> import -> scoring -> sharing) each shared contact is looked up
with "who knows", and the answer is compared with the truth.

Figures (printed with -s): `strict` is the share of contacts known by two or more teammates
(true strength >= 15, the weak band) whose first-ranked teammate holds the truly strongest
tie; `top group` the share whose truly strongest teammate is among the first-ranked ones
(same band and month as the first: the answer cannot order them, having nothing but band
and month); `even` the share the answer would score were teammates tied on band and month
listed in random order (each contact counts the chance its truly strongest is listed first:
the figure that does not rest on the user-id order of ties); `raw` what ranking by each
member's unshared Kith strength would have scored (not what the answer does: its order
rests on band and month alone, service/teams/ranking.py).

The team's bands (service/teams/ranking.py) are chosen on other teams (seeds 2000-15004,
tests/support/team_study.py), never on this one.
"""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import sql

from service import db as kdb
from service.teams import answers, membership
from service.ties.scoring import score_user
from tests.conftest import create_database
from tests.support.team_world import import_world, teammates

KNOWN = 15  # the weakest band that is shared


@pytest.fixture(scope="module")
def measured(server_url, template_db, tmp_path_factory):
    """Build the team once for this module's tests; its figures."""
    name = f"kith_t_{uuid.uuid4().hex[:12]}"
    url = create_database(server_url, name, template_db)
    database = kdb.Database(url, min_size=1, max_size=2)
    try:
        yield _measure(database, tmp_path_factory.mktemp("team-world"))
    finally:
        database.close()
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def _measure(database, tmp_path) -> dict:
    # Given five users, each with their own world imported and scored, in one sharing team
    mates = teammates(5)
    ids, raw = [], []
    for m in mates:
        user_id = import_world(database, m.world, tmp_path)
        ties = score_user(database, user_id, m.world.as_of)
        raw.append({a: t["strength"] for t in ties for a in t["addresses"]})
        ids.append(user_id)
    with database.tx() as conn:
        team = membership.create_team(conn, ids[0], "Five")
        for user_id in ids[1:]:
            membership.join(conn, team, user_id)
        for user_id in ids:
            membership.set_sharing(conn, team, user_id, True)
    index = {user_id: i for i, user_id in enumerate(ids)}
    shared = sorted(a for a in mates[0].truth if sum(m.truth.get(a, 0) >= KNOWN for m in mates) >= 2)
    # When each shared contact is looked up
    strict = group = ceiling = 0
    even = 0.0
    misses = []
    with database.tx() as conn:
        for address in shared:
            truths = [m.truth.get(address, 0) for m in mates]
            best = max(truths)
            found = answers.who_knows(conn, team, ids[0], address=address)["known_by"]
            ranked = [(index[k["member"]["user_id"]], k["band"], k["month"]) for k in found]
            if ranked and truths[ranked[0][0]] == best:
                strict += 1
            else:
                misses.append((address, truths, ranked))
            first = [truths[i] == best for i, b, mo in ranked if (b, mo) == ranked[0][1:]]
            if any(first):
                group += 1
                even += sum(first) / len(first)
            kith = [r.get(address, -1.0) for r in raw]
            ceiling += truths[kith.index(max(kith))] == best
    n = len(shared)
    figures = {"n": n, "strict": strict / n, "top_group": group / n, "even": even / n, "raw": ceiling / n}
    figures["misses"] = misses
    print(
        f"\nteam world: {n} shared contacts; strict {strict}/{n} = {strict / n:.1%}; "
        f"top group {group}/{n} = {group / n:.1%}; even {even:.1f}/{n} = {even / n:.1%}; "
        f"ranking by raw Kith strength {ceiling}/{n} = {ceiling / n:.1%}"
    )
    return figures


def test_the_truly_strongest_teammate_is_always_among_the_first_ranked(measured):
    # Then for most shared contacts the truly strongest teammate is ranked first or tied for
    # first on band and month. Measured: 17 of 17 with the model of main at f81b689, 15 of 17
    # (0.88) with issue 15's model and the bands at Kith's tiers (70/40), 17 of 17 with the
    # team's bands (90/60, cooling or dormant a band lower); 17 of 17 at 88/50; 16 of 17
    # with the bands on the steady two-way rate; 16 of 17 once the prior read recency and
    # network overlap (session 10; strict stays 15 of 17).
    assert measured["n"] >= 10
    assert measured["top_group"] >= 0.85, measured["misses"]


@pytest.mark.xfail(
    strict=True,
    reason="issue 18's target: the first-ranked teammate is the truly strongest for >= 90%. Not met: 15 of 17 "
    "(88.2%), one contact short (78.3% on the 14 teams the cuts were chosen on). Misses: two steady medium ties "
    "(true 31 and 30) equal on band and month; weak ties (true 15 and 13, two two-way contacts each in 90 days) "
    "ordered by month. No three bands and a month reach 90% on the 14 teams: bands that were the true strength "
    "itself score 85.4% there (tests/support/team_study.py causes)",
)
def test_the_first_ranked_teammate_is_the_truly_strongest_for_90_percent(measured):
    # Issue 18's target. Measured: 13 of 17 (76.5%) with the bands at Kith's tiers (70/40) at 769919a;
    # 17 of 17 with the team's bands while the month shared was that of the last interaction
    # of any kind (two of the 17 then won on a tie broken by user id); 15 of 17 with the
    # month of the last two-way contact, as the issue asks, and issue 15's new model and flags;
    # 15 of 17 with strength cut at 88/50, and 15 of 17 with the bands on the steady two-way
    # rate (3 and 0.9 a month), each chosen on 14 other teams (there 158 and 166 of 212, from
    # 151 at 90/60). The rate ranks the cooling tie Kith did not flag (c0@acme) below the
    # truly stronger steady one.
    #
    # Why the misses are misses (`python -m tests.support.team_study causes DIR`): of the 46
    # misses on the 14 teams, 30 are ties on band and month (19 of them between ties that
    # bands cut on the true strength itself could not part either: true 85 and 87, 29 and
    # 34), 15 a truly stronger tie with an earlier month in the same band, 1 a truly stronger
    # tie a band lower; in 24 of the 46 the first-ranked had as many personal two-way contacts
    # in the last 90 days or more (the world's truth is the expected rate of its plan, which
    # the mail then does not show). Bands that were the true strength itself, at the best cuts
    # (71/28), would pick the truly strongest for 181 of 212 (85.4%) there and 15 of 17 here:
    # the target is out of reach of any three bands and a month, not of these cuts. 15 fresh
    # teams (seeds 16000-30004) show the same: 180 of 238 (75.6%), that ceiling 83.2%.
    # Tried and not kept (at 3 and 0.9 unless said): other estimates of the rate (the last
    # 90, 120 or 180 days, typical, sustained, kept, a cooling rule of the world's own shape:
    # 151 to 166 of 212; a regression on all of them: 165 with cuts chosen leaving each team
    # out, against 164); a looser steadiness test (p 0.1, not 0.05): 167 of 212 but 180 of
    # 238 as before on the fresh teams, and 15 of 17 here; the month of the last personal
    # two-way contact (a meeting of four or five people no longer counting: one set the
    # first-ranked's month in this team's c1@globex miss, and this team would reach 16 of
    # 17), which leaves the 14 teams at 166 and costs one of the fresh teams' 238: a change
    # for this team alone.
    assert measured["strict"] >= 0.9, measured["misses"]
