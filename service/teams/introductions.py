"""Introduction requests: a member asks a teammate who shares a contact to introduce them;
the teammate accepts (and gets a draft to send from their own mail) or declines (SQL).

Only a sharing member may ask, only a teammate who shares that very address may be asked,
and a request lives only as long as both stay in the team and the teammate keeps sharing
(membership.set_sharing and the schema's cascades delete it otherwise). Kith never writes
to the contact.
"""

from __future__ import annotations

from datetime import datetime, timezone

from . import membership, shares
from .answers import clean_address, members
from .draft import clean_note, introduction

MAX_PENDING = 20  # open requests one member may have asked of one teammate


def ask(conn, team_id: int, requester: int, holder: int, address: str, note: str) -> int:
    membership.sharing_member(conn, team_id, requester)
    if holder == requester:
        raise ValueError("Ask a teammate, not yourself.")
    address = clean_address(address)
    note = clean_note(note)
    if not shares.holds(conn, team_id, holder, address):
        raise LookupError(f"No teammate {holder} shares a tie with {address} in team {team_id}.")
    open_ = conn.execute(
        "SELECT address = %s FROM team_intro_requests WHERE team_id = %s AND requester_id = %s AND holder_id = %s"
        " AND status = 'pending'",
        (address, team_id, requester, holder),
    ).fetchall()
    if any(r[0] for r in open_):
        raise FileExistsError(f"You already asked for an introduction to {address}; it is waiting for an answer.")
    if len(open_) >= MAX_PENDING:
        raise ValueError(f"At most {MAX_PENDING} open requests to one teammate.")
    return conn.execute(
        "INSERT INTO team_intro_requests (team_id, requester_id, holder_id, address, note)"
        " VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (team_id, requester, holder, address, note),
    ).fetchone()[0]


def _day(ts: datetime) -> str:
    return ts.astimezone(timezone.utc).strftime("%Y-%m-%d")


def listing(conn, team_id: int, user_id: int) -> dict:
    """The requests asked of the member and by the member in this team, newest first."""
    membership.membership(conn, team_id, user_id)
    rows = conn.execute(
        "SELECT r.id, r.requester_id, r.holder_id, r.address, r.note, r.status, r.created_at"
        " FROM team_intro_requests r JOIN team_members h ON h.team_id = r.team_id AND h.user_id = r.holder_id"
        " WHERE r.team_id = %s AND (r.requester_id = %s OR r.holder_id = %s) AND h.sharing"
        " ORDER BY r.created_at DESC, r.id DESC LIMIT 200",
        (team_id, user_id, user_id),
    ).fetchall()
    people = members(conn, {r[1] for r in rows} | {r[2] for r in rows})
    asked_of_me, asked_by_me = [], []
    for rid, requester, holder, address, note, status, created in rows:
        item = {"id": rid, "contact": address, "note": note, "status": status, "asked_on": _day(created)}
        if holder == user_id:
            asked_of_me.append(item | {"asked_by": people[requester]})
        else:
            asked_by_me.append(item | {"asked_of": people[holder]})
    return {"asked_of_me": asked_of_me, "asked_by_me": asked_by_me}


def decide(conn, team_id: int, holder: int, request_id: int, accept: bool) -> dict:
    """The asked teammate's answer; accepting returns the draft introduction."""
    membership.membership(conn, team_id, holder)
    row = conn.execute(
        "SELECT requester_id, address, note, status FROM team_intro_requests"
        " WHERE id = %s AND team_id = %s AND holder_id = %s FOR UPDATE",
        (request_id, team_id, holder),
    ).fetchone()
    if row is None:
        raise LookupError(f"No introduction request {request_id} asked of you.")
    requester, address, note, status = row
    if status != "pending":
        raise FileExistsError(f"Request {request_id} was already {status}.")
    status = "accepted" if accept else "declined"
    conn.execute(
        "UPDATE team_intro_requests SET status = %s, decided_at = %s WHERE id = %s",
        (status, datetime.now(timezone.utc), request_id),
    )
    answer: dict = {"id": request_id, "status": status}
    if accept:
        people = members(conn, {holder, requester})
        name = conn.execute(
            "SELECT p.display_name FROM person_addresses a JOIN people p ON p.id = a.person_id"
            " WHERE a.user_id = %s AND a.address = %s",
            (holder, address),
        ).fetchone()
        answer["draft"] = introduction(
            holder=people[holder]["name"],
            asker=people[requester]["name"],
            asker_email=people[requester]["email"],
            contact=address,
            contact_name=name[0] if name and name[0] else None,
            note=note,
        )
    return answer


def pending_for(conn, user_id: int, limit: int = 20) -> list[dict]:
    """Open requests asked of the user in any team, while they still share that address
    (what the digest's team line reads): requester's name, the contact, the team."""
    rows = conn.execute(
        "SELECT r.id, coalesce(u.name, u.email), r.address, t.name FROM team_intro_requests r"
        " JOIN teams t ON t.id = r.team_id JOIN users u ON u.id = r.requester_id"
        " JOIN team_shared_ties s ON s.team_id = r.team_id AND s.user_id = r.holder_id AND s.address = r.address"
        " JOIN team_members m ON m.team_id = r.team_id AND m.user_id = r.holder_id AND m.sharing"
        " WHERE r.holder_id = %s AND r.status = 'pending' ORDER BY r.created_at, r.id LIMIT %s",
        (user_id, limit),
    ).fetchall()
    return [{"id": r[0], "asked_by": r[1], "contact": r[2], "team": r[3]} for r in rows]
