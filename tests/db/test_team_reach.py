"""An organisation's reach, pinned: the people listed, the teammate to ask for each and their
order are those of ranking.reach over every shared row of the domain (each address's best
share: band, then month, then the lower user id; addresses by that band and month, then by
address), cut to the first MAX_REACH, however the rows are read (shares.reach_json reads
them from the top of team_shared_ties_domain_rank, stops early and renders the answer in
PostgreSQL)."""

from __future__ import annotations

import random
from datetime import date

from service import store
from service.teams import answers, membership, ranking, shares
from service.teams.ranking import Share

MONTHS = [date(2025 + m // 12, m % 12 + 1, 1) for m in range(6)] + [None]  # few months: many ties


def _team(conn, members: int) -> tuple[int, list[int]]:
    ids = [store.create_user(conn, f"reach{i}@team.example", f"Reach {i}") for i in range(members)]
    team = membership.create_team(conn, ids[0], "Reach")
    for user_id in ids[1:]:
        membership.join(conn, team, user_id)
    for user_id in ids:
        membership.set_sharing(conn, team, user_id, True)
    return team, ids


def _expected(rows: list[Share], domain: str) -> list[tuple[str, int, str, str | None]]:
    """ranking.reach over all the domain's rows (the answer's definition), cut to MAX_REACH:
    (contact, the teammate to ask, band, month) as the answer names them."""
    at = [s for s in rows if ranking.domain_of(s.address) == domain]
    return [(a, s.user_id, ranking.band_name(s.band), ranking.month_text(s.month)) for a, s in ranking.reach(at)][
        : shares.MAX_REACH
    ]


def _got(conn, team: int, user_id: int, domain: str) -> list[tuple[str, int, str, str | None]]:
    answer = answers.org_reach(conn, team, user_id, domain)
    assert answer["domain"] == domain.lower()
    return [(p["contact"], p["ask"]["user_id"], p["band"], p["month"]) for p in answer["people"]]


def test_org_reach_lists_each_addresss_best_holder_in_the_answers_order(database):
    # Given 12 sharing members at random over 700 addresses of big.example (more than
    # MAX_REACH), 40 of small.example, bands and months drawn from few values so that
    # many shares tie on band and month, and some months unknown
    rng = random.Random(18)
    with database.tx() as conn:
        team, ids = _team(conn, 12)
        universe = [f"p{i:03d}@big.example" for i in range(700)] + [f"q{i}@small.example" for i in range(40)]
        rows: list[Share] = []
        for user_id in ids:
            mine = [
                Share(user_id, a, rng.choice((1, 1, 1, 2, 2, 3)), rng.choice(MONTHS))
                for a in sorted(rng.sample(universe, 300))
            ]
            shares.write(conn, team, user_id, mine)
            rows += mine
    with database.tx() as conn:
        # When the reach of each organisation is read
        for domain in ("big.example", "small.example", "none.example"):
            expected = _expected(rows, domain)
            # Then it is ranking.reach over all of the domain's rows, cut to MAX_REACH
            assert _got(conn, team, ids[3], domain) == expected
        assert len(_expected(rows, "big.example")) == shares.MAX_REACH
        assert len(_expected(rows, "small.example")) == 40
        # And each person's teammate is named as the other team answers name members
        answer = answers.org_reach(conn, team, ids[3], "Big.Example")
        people = answers.members(conn, set(ids))
        assert [p["ask"] for p in answer["people"]] == [people[u] for _, u, _, _ in _expected(rows, "big.example")]


def test_org_reach_is_exact_when_every_address_has_many_holders(database):
    # Given 20 sharing members who all hold the same 600 addresses, mostly with the same
    # band and month (so the first rows read hold few addresses and the read is repeated)
    rng = random.Random(5)
    with database.tx() as conn:
        team, ids = _team(conn, 20)
        universe = [f"p{i:03d}@crowd.example" for i in range(600)]
        rows = []
        for user_id in ids:
            mine = [Share(user_id, a, 3 if rng.random() < 0.9 else 2, MONTHS[0]) for a in universe]
            shares.write(conn, team, user_id, mine)
            rows += mine
    with database.tx() as conn:
        # Then the lowest user id among each address's best holders is the one to ask
        got = _got(conn, team, ids[0], "crowd.example")
        assert got == _expected(rows, "crowd.example")
        assert len(got) == shares.MAX_REACH
    # (the first 2 x MAX_REACH rows in the index's order hold under MAX_REACH addresses:
    # the read that stops early had to be repeated)
    order = sorted(rows, key=lambda s: (-s.band, s.address, s.user_id))
    assert len({s.address for s in order[: 2 * shares.MAX_REACH]}) < shares.MAX_REACH
