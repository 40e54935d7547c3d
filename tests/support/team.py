"""Team tests' world: users whose latest snapshot holds ties of chosen strengths, written
straight into the schema (people, addresses, one snapshot), plus the team calls the tests
repeat. A tie here is (address, strength, last interaction ISO, two-way?). Bands are the
team's (service/teams/ranking.py): strong >= 90, medium >= 60, weak >= 15. Every tie is
flagged one_sided_them (a flag that does not move the band), so an answer can be checked
for leaking it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from psycopg.types.json import Jsonb

from service import auth, store
from service.teams import shares

AS_OF = datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc)
BAND_AND_MONTH = {"member", "band", "month"}
MEMBER_KEYS = {"user_id", "name", "email"}


@dataclass
class Mate:
    user_id: int
    email: str
    token: str

    @property
    def auth(self) -> dict:
        return {"Authorization": f"Bearer {self.token}"}


def ledger(two_way: bool) -> dict:
    if two_way:
        return {"replies_by_you": 2, "replies_by_them": 3, "messages_to_them": 4, "messages_from_them": 5}
    return {"replies_by_you": 0, "replies_by_them": 0, "messages_to_them": 3, "messages_from_them": 0}


def snapshot(conn, user_id: int, ties: list[tuple[str, float, str, bool]], as_of: datetime = AS_OF) -> None:
    """The user's ties as one snapshot (a person per address, named after it)."""
    for address, strength, last, two_way in ties:
        row = conn.execute(
            "SELECT person_id FROM person_addresses WHERE user_id = %s AND address = %s", (user_id, address)
        ).fetchone()
        if row is None:
            pid = conn.execute(
                "INSERT INTO people (user_id, display_name) VALUES (%s, %s) RETURNING id",
                (user_id, address.split("@")[0].title()),
            ).fetchone()[0]
            conn.execute(
                "INSERT INTO person_addresses (user_id, address, person_id) VALUES (%s, %s, %s)",
                (user_id, address, pid),
            )
        else:
            pid = row[0]
        payload = {
            "contact": address,
            "name": address.split("@")[0].title(),
            "addresses": [address],
            "strength": strength,
            "tier": "strong" if strength >= 70 else "medium" if strength >= 40 else "weak",
            "reciprocity": 12,
            "flags": ["one_sided_them"],
            "last_interaction": last,
            "explanation": ["secret explanation 4 one-to-one meetings"],
            "ledger": ledger(two_way),
            "person_id": pid,
            "suggestion": None,
            "deepen_rank": None,
            "colleague": False,
        }
        conn.execute(
            "INSERT INTO score_snapshots (user_id, person_id, as_of, strength, tier, reciprocity, flags, payload)"
            " VALUES (%s, %s, %s, %s, %s, 12, '{one_sided_them}', %s)",
            (user_id, pid, as_of, strength, payload["tier"], Jsonb(payload)),
        )
    shares.refresh_user(conn, user_id)


def mate(db, email: str, name: str, ties: list[tuple[str, float, str, bool]] = ()) -> Mate:
    with db.tx() as conn:
        user_id = store.create_user(conn, email, name)
        token = auth.create_token(conn, user_id)
        if ties:
            snapshot(conn, user_id, list(ties))
    return Mate(user_id, email, token)


def team_of(client, owner: Mate, *members: Mate, name: str = "Sales", share: tuple[Mate, ...] = ()) -> int:
    """A team made by `owner` through the API, each member invited and joined, and the
    `share` ones sharing."""
    made = client.post("/v1/team", json={"name": name}, headers=owner.auth)
    assert made.status_code == 201, made.text
    team_id = made.json()["id"]
    for m in members:
        inv = client.post(f"/v1/team/{team_id}/invitations", json={"email": m.email}, headers=owner.auth)
        assert inv.status_code == 201, inv.text
        joined = client.post("/v1/team/join", json={"token": inv.json()["token"]}, headers=m.auth)
        assert joined.status_code == 200, joined.text
    for m in share:
        on = client.put(f"/v1/team/{team_id}/sharing", json={"share": True}, headers=m.auth)
        assert on.status_code == 200, on.text
    return team_id


def seed_team_rows(conn, user_id: int, email: str) -> tuple[int, int]:
    """A row in every team table for a seeded API user (support/api.py seed_user): their own
    team (owner, sharing, an open invitation); and, when an earlier seeded user's team
    exists, membership there, sharing, and a request to its owner for one of the owner's
    shared contacts. Returns (their own team, that request or 0)."""
    from service.teams import introductions, invitations, membership

    earlier = conn.execute(
        "SELECT t.id, t.created_by FROM teams t WHERE t.created_by IS NOT NULL ORDER BY t.id LIMIT 1"
    ).fetchone()
    team = membership.create_team(conn, user_id, f"Team of {email}")
    membership.set_sharing(conn, team, user_id, True)
    invitations.invite(conn, b"seed-secret", team, user_id, f"invitee.{user_id}@example.org")
    request = 0
    if earlier is not None:
        membership.join(conn, earlier[0], user_id)
        membership.set_sharing(conn, earlier[0], user_id, True)
        address = conn.execute(
            "SELECT address FROM team_shared_ties WHERE team_id = %s AND user_id = %s ORDER BY address LIMIT 1",
            (earlier[0], earlier[1]),
        ).fetchone()
        if address is not None:
            request = introductions.ask(conn, earlier[0], user_id, earlier[1], address[0], "seeded")
    return team, request
