"""Teams and who is in them: create, roster, sharing on and off, leave, remove (SQL).

Every read a route makes about a team goes through `membership(conn, team, user)` first:
a team the user is not in is simply not found (LookupError), whoever owns it. Turning
sharing off deletes the member's shared ties and the introduction requests addressed to
them in that team; leaving deletes the membership, which cascades to both (the schema's
foreign keys), so nothing the team held of the member survives either.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import shares

MAX_TEAMS = 50  # per user: a bound on what one account can create


@dataclass(frozen=True, slots=True)
class Membership:
    team_id: int
    user_id: int
    role: str
    sharing: bool

    @property
    def owner(self) -> bool:
        return self.role == "owner"


def clean_name(name: str) -> str:
    text = " ".join("".join(c if c.isprintable() else " " for c in name).split())
    if not 1 <= len(text) <= 80:
        raise ValueError("A team name needs 1 to 80 printable characters.")
    return text


def create_team(conn, user_id: int, name: str) -> int:
    name = clean_name(name)
    count = conn.execute("SELECT count(*) FROM team_members WHERE user_id = %s", (user_id,)).fetchone()[0]
    if count >= MAX_TEAMS:
        raise ValueError(f"A user can be in at most {MAX_TEAMS} teams.")
    team_id = conn.execute(
        "INSERT INTO teams (name, created_by) VALUES (%s, %s) RETURNING id", (name, user_id)
    ).fetchone()[0]
    conn.execute("INSERT INTO team_members (team_id, user_id, role) VALUES (%s, %s, 'owner')", (team_id, user_id))
    return team_id


def membership(conn, team_id: int, user_id: int) -> Membership:
    """The user's membership of the team; LookupError when they are not in it."""
    row = conn.execute(
        "SELECT role, sharing FROM team_members WHERE team_id = %s AND user_id = %s", (team_id, user_id)
    ).fetchone()
    if row is None:
        raise LookupError(f"No team {team_id}.")
    return Membership(team_id, user_id, row[0], row[1])


def sharing_member(conn, team_id: int, user_id: int) -> Membership:
    """A member who shares: only they see what the team shares (LookupError otherwise)."""
    m = membership(conn, team_id, user_id)
    if not m.sharing:
        raise LookupError(
            f"Team {team_id} shows who knows whom only to members who share their own ties; turn sharing on first."
        )
    return m


def my_teams(conn, user_id: int) -> list[dict]:
    rows = conn.execute(
        "SELECT t.id, t.name, m.role, m.sharing,"
        " (SELECT count(*) FROM team_members x WHERE x.team_id = t.id)"
        " FROM team_members m JOIN teams t ON t.id = m.team_id WHERE m.user_id = %s ORDER BY t.id",
        (user_id,),
    ).fetchall()
    return [{"id": r[0], "name": r[1], "role": r[2], "sharing": r[3], "members": r[4]} for r in rows]


def team(conn, team_id: int, user_id: int) -> dict:
    """The team as its member sees it: name, their own role and sharing, the roster."""
    m = membership(conn, team_id, user_id)
    name = conn.execute("SELECT name FROM teams WHERE id = %s", (team_id,)).fetchone()[0]
    rows = conn.execute(
        "SELECT u.id, coalesce(u.name, u.email), u.email, m.role, m.sharing FROM team_members m"
        " JOIN users u ON u.id = m.user_id WHERE m.team_id = %s ORDER BY m.joined_at, u.id",
        (team_id,),
    ).fetchall()
    return {
        "id": team_id,
        "name": name,
        "role": m.role,
        "sharing": m.sharing,
        "members": [{"user_id": r[0], "name": r[1], "email": r[2], "role": r[3], "sharing": r[4]} for r in rows],
    }


def join(conn, team_id: int, user_id: int) -> bool:
    """Add the user as a member (sharing off); False when they already were one."""
    row = conn.execute(
        "INSERT INTO team_members (team_id, user_id) VALUES (%s, %s) ON CONFLICT DO NOTHING RETURNING 1",
        (team_id, user_id),
    ).fetchone()
    return row is not None


def set_sharing(conn, team_id: int, user_id: int, on: bool) -> int:
    """Turn the member's sharing on (their latest snapshot is shared at once; returns how
    many ties) or off (everything shared and every request addressed to them goes)."""
    membership(conn, team_id, user_id)
    conn.execute("UPDATE team_members SET sharing = %s WHERE team_id = %s AND user_id = %s", (on, team_id, user_id))
    if on:
        return shares.refresh_team_member(conn, team_id, user_id)
    shares.forget(conn, team_id, user_id)
    conn.execute("DELETE FROM team_intro_requests WHERE team_id = %s AND holder_id = %s", (team_id, user_id))
    return 0


def leave(conn, team_id: int, user_id: int) -> None:
    """The member leaves; an owner's role passes to the longest-standing member, and a team
    left empty is deleted."""
    m = membership(conn, team_id, user_id)
    conn.execute("DELETE FROM team_members WHERE team_id = %s AND user_id = %s", (team_id, user_id))
    heir = conn.execute(
        "SELECT user_id FROM team_members WHERE team_id = %s ORDER BY joined_at, user_id LIMIT 1", (team_id,)
    ).fetchone()
    if heir is None:
        conn.execute("DELETE FROM teams WHERE id = %s", (team_id,))
    elif (
        m.owner
        and not conn.execute("SELECT 1 FROM team_members WHERE team_id = %s AND role = 'owner'", (team_id,)).fetchone()
    ):
        conn.execute("UPDATE team_members SET role = 'owner' WHERE team_id = %s AND user_id = %s", (team_id, heir[0]))


def leave_all(conn, user_id: int) -> int:
    """The user leaves every team (before their account is erased): ownership passes on,
    teams left empty go with their invitations. Returns how many teams they left."""
    teams = [r[0] for r in conn.execute("SELECT team_id FROM team_members WHERE user_id = %s", (user_id,)).fetchall()]
    for team_id in teams:
        leave(conn, team_id, user_id)
    return len(teams)


def remove(conn, team_id: int, owner_id: int, user_id: int) -> None:
    """An owner removes a member (as if they had left)."""
    if not membership(conn, team_id, owner_id).owner:
        raise PermissionError("Only a team's owner can remove members.")
    membership(conn, team_id, user_id)
    leave(conn, team_id, user_id)


def own_domains(conn, team_id: int) -> set[str]:
    """The domains of the members' own addresses: the team's organisation, not a client."""
    rows = conn.execute(
        "SELECT DISTINCT lower(split_part(u.email, '@', 2)) FROM team_members m JOIN users u ON u.id = m.user_id"
        " WHERE m.team_id = %s",
        (team_id,),
    ).fetchall()
    return {r[0] for r in rows if r[0]}
