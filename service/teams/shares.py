"""The team's minimal view of its sharing members' ties: written from their snapshots, read
by "who knows" (SQL; band and month are decided in ranking.py).

What is read of a member is their latest score snapshot, and of each tie only its
strength, steady two-way rate and flags (they set the band), addresses, time of last
interaction and of the last two-way contact, and ledger (to tell a two-way tie); what is
written is `team_shared_ties`:
address, domain, band, month. Messages, subjects, counts, timelines, meetings and other
participants are never read here, and the flags only to set the band.

Rows exist only for members who share: turning sharing off and leaving delete them in the
same transaction. Most reads also join `team_members ... AND sharing` (cheap with a
member-first index); the organisation listing relies on the invariant alone, for speed.
"""

from __future__ import annotations

from ..ties.shape import SHOWN_STRENGTH
from .ranking import SHARED, Share, domain_of, shares_of

MAX_REACH = 500  # addresses listed for one organisation

_LATEST_TIES = f"""
SELECT {SHOWN_STRENGTH}, s.payload->'addresses', s.payload->>'last_interaction', s.payload->'ledger', s.flags,
       s.payload->>'last_two_way', s.payload ? 'last_two_way', (s.payload->>'two_way_rate')::float8
FROM score_snapshots s
WHERE s.user_id = %(u)s AND s.as_of = (SELECT max(as_of) FROM score_snapshots WHERE user_id = %(u)s)
  AND {SHOWN_STRENGTH} >= {SHARED}
"""


def member_shares(conn, user_id: int) -> list[Share]:
    """What the member's latest snapshot would share (empty before a first scoring)."""
    return shares_of(user_id, conn.execute(_LATEST_TIES, {"u": user_id}).fetchall())


def write(conn, team_id: int, user_id: int, rows: list[Share]) -> int:
    forget(conn, team_id, user_id)
    with conn.cursor() as cur:
        with cur.copy("COPY team_shared_ties (team_id, user_id, address, domain, band, month) FROM STDIN") as copy:
            for s in rows:
                copy.write_row((team_id, user_id, s.address, domain_of(s.address), s.band, s.month))
    return len(rows)


def refresh_team_member(conn, team_id: int, user_id: int) -> int:
    return write(conn, team_id, user_id, member_shares(conn, user_id))


def refresh_user(conn, user_id: int) -> int:
    """After a scoring run: replace what every team the user shares with holds of them."""
    teams = [
        r[0]
        for r in conn.execute(
            "SELECT team_id FROM team_members WHERE user_id = %s AND sharing ORDER BY team_id", (user_id,)
        ).fetchall()
    ]
    if not teams:
        return 0
    rows = member_shares(conn, user_id)
    for team_id in teams:
        write(conn, team_id, user_id, rows)
    return len(teams)


def forget(conn, team_id: int, user_id: int) -> None:
    conn.execute("DELETE FROM team_shared_ties WHERE team_id = %s AND user_id = %s", (team_id, user_id))


def _shares(rows) -> list[Share]:
    return [Share(r[0], r[1], r[2], r[3]) for r in rows]


def by_domain_best(conn, team_id: int, domain: str) -> list[Share]:
    """Each sharing member's best share at the domain: one index probe per member
    (team_shared_ties_member_domain), however many people the domain holds."""
    return _shares(
        conn.execute(
            "SELECT m.user_id, b.address, b.band, b.month FROM team_members m CROSS JOIN LATERAL ("
            " SELECT s.address, s.band, s.month FROM team_shared_ties s"
            " WHERE s.team_id = m.team_id AND s.user_id = m.user_id AND s.domain = %s"
            " ORDER BY s.band DESC, s.month DESC NULLS LAST LIMIT 1) b"
            " WHERE m.team_id = %s AND m.sharing",
            (domain.lower(), team_id),
        ).fetchall()
    )


# An organisation's reach as JSON, rendered by PostgreSQL. `top` is the first rows of the
# domain in the order of team_shared_ties_domain_rank (band, month, address, user id); each
# address's first row there is its best share, so the best of each address within `top`
# is its best overall, and the addresses come in the answer's order. The counts tell the
# caller whether `top` held enough addresses (or every row).
_REACH = """
WITH top AS (
    SELECT s.user_id, s.address, s.band, s.month FROM team_shared_ties s
    WHERE s.team_id = %(t)s AND s.domain = %(d)s
    ORDER BY s.band DESC, s.month DESC NULLS LAST, s.address, s.user_id LIMIT %(n)s
), best AS (
    SELECT DISTINCT ON (address) user_id, address, band, month FROM top
    ORDER BY address, band DESC, month DESC NULLS LAST, user_id
), listed AS (
    SELECT * FROM best ORDER BY band DESC, month DESC NULLS LAST, address LIMIT %(m)s
)
SELECT (SELECT count(*) FROM top), (SELECT count(*) FROM best), coalesce(json_agg(json_build_object(
    'contact', l.address,
    'ask', json_build_object('user_id', u.id, 'name', coalesce(u.name, u.email), 'email', u.email),
    'band', CASE l.band WHEN 3 THEN 'strong' WHEN 2 THEN 'medium' ELSE 'weak' END,
    'month', to_char(l.month, 'YYYY-MM')
) ORDER BY l.band DESC, l.month DESC NULLS LAST, l.address), '[]')::text
FROM listed l JOIN users u ON u.id = l.user_id
"""


def reach_json(conn, team_id: int, domain: str) -> str:
    """The people at the domain reachable through the team, as a JSON array: for each
    address its best holder (band, then month, then the lower user id) with their name and
    email, the band and the month; best-placed first (band, month, then address), at most
    MAX_REACH. The same as ranking.reach over all the domain's rows, cut to MAX_REACH
    (tests/db/test_team_reach.py).

    One statement renders it, reading the domain's rows from the top of
    team_shared_ties_domain_rank and stopping at the first 2 x MAX_REACH, instead of
    reading and sorting every row of a large domain (31,000 rows for
    tests/bench/bench_team.py's) and building 500 answers in Python. When those rows hold
    fewer than MAX_REACH addresses (addresses with many holders) it is read again, eight
    times longer. It has no join on `sharing`: it relies on rows existing only for members
    who share (membership.set_sharing and leave delete them in the transaction that ends
    sharing)."""
    limit = 2 * MAX_REACH
    while True:
        params = {"t": team_id, "d": domain.lower(), "n": limit, "m": MAX_REACH}
        rows, addresses, people = conn.execute(_REACH, params).fetchone()
        if rows < limit or addresses >= MAX_REACH:
            return str(people)
        limit *= 8


def by_addresses(conn, team_id: int, addresses: list[str]) -> list[Share]:
    return _shares(
        conn.execute(
            "SELECT s.user_id, s.address, s.band, s.month FROM team_shared_ties s"
            " JOIN team_members m ON m.team_id = s.team_id AND m.user_id = s.user_id AND m.sharing"
            " WHERE s.team_id = %s AND s.domain = ANY(%s) AND s.address = ANY(%s)",
            (team_id, sorted({domain_of(a) for a in addresses}), [a.lower() for a in addresses]),
        ).fetchall()
    )


def strong(conn, team_id: int) -> list[Share]:
    return _shares(
        conn.execute(
            "SELECT s.user_id, s.address, s.band, s.month FROM team_shared_ties s"
            " JOIN team_members m ON m.team_id = s.team_id AND m.user_id = s.user_id AND m.sharing"
            " WHERE s.team_id = %s AND s.band = 3",
            (team_id,),
        ).fetchall()
    )


def holds(conn, team_id: int, user_id: int, address: str) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM team_shared_ties s JOIN team_members m"
            " ON m.team_id = s.team_id AND m.user_id = s.user_id AND m.sharing"
            " WHERE s.team_id = %s AND s.user_id = %s AND s.address = %s",
            (team_id, user_id, address.lower()),
        ).fetchone()
        is not None
    )


def person_addresses(conn, user_id: int, person_id: int) -> list[str]:
    """The addresses of a person in the asker's own book (LookupError if not theirs)."""
    rows = conn.execute(
        "SELECT address FROM person_addresses WHERE user_id = %s AND person_id = %s ORDER BY address",
        (user_id, person_id),
    ).fetchall()
    if not rows:
        raise LookupError(f"No person {person_id}.")
    return [r[0] for r in rows]
