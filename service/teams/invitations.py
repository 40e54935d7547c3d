"""Invitations: a signed, expiring, single-use token bound to one team and one address.

A token is `<invitation id>.<expiry, epoch seconds>.<MAC>`, the MAC an HMAC-SHA256 (cut to
128 bits) of (id, team, address, expiry) under a key derived from `settings.secret()` for
this purpose alone. The row it names makes it single-use; the address makes it useless to
anyone but the invited person, who joins with their own account (its login address or
any of their own addresses must be the invited one).

Refusals are `InvitationRefused` with the HTTP status a route answers: 400 malformed or
forged, 410 expired or already used, 403 for another person's invitation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta, timezone

from ingest.errors import InputError

from . import membership
from .answers import clean_address

LIFETIME = timedelta(days=7)
MAX_PENDING = 200  # unanswered invitations per team


class InvitationRefused(InputError, ValueError):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _key(secret: bytes) -> bytes:
    return hmac.new(secret, b"kith/team-invitations/v1", hashlib.sha256).digest()


def _mac(secret: bytes, invitation_id: int, team_id: int, email: str, expires: int) -> str:
    message = f"{invitation_id}\x1f{team_id}\x1f{email}\x1f{expires}".encode()
    digest = hmac.new(_key(secret), message, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def invite(conn, secret: bytes, team_id: int, inviter: int, email: str, *, now: datetime | None = None) -> dict:
    """An owner invites an address; returns the token and when it expires."""
    if not membership.membership(conn, team_id, inviter).owner:
        raise PermissionError("Only a team's owner can invite.")
    email = clean_address(email)
    now = now or datetime.now(timezone.utc)
    pending = conn.execute(
        "SELECT count(*) FROM team_invitations WHERE team_id = %s AND used_at IS NULL AND expires_at > %s",
        (team_id, now),
    ).fetchone()[0]
    if pending >= MAX_PENDING:
        raise ValueError(f"A team can have at most {MAX_PENDING} open invitations.")
    expires = int((now + LIFETIME).timestamp())
    invitation_id = conn.execute(
        "INSERT INTO team_invitations (team_id, email, invited_by, expires_at) VALUES (%s, %s, %s, to_timestamp(%s))"
        " RETURNING id",
        (team_id, email, inviter, expires),
    ).fetchone()[0]
    token = f"{invitation_id}.{expires}.{_mac(secret, invitation_id, team_id, email, expires)}"
    return {
        "team_id": team_id,
        "email": email,
        "token": token,
        "expires_at": datetime.fromtimestamp(expires, timezone.utc),
    }


def accept(conn, secret: bytes, token: str, user_id: int, *, now: datetime | None = None) -> int:
    """The signed-in user joins the team the token invites them to; returns the team id."""
    now = now or datetime.now(timezone.utc)
    parts = (token or "").strip().split(".")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit() or len(parts[0]) > 18:
        raise InvitationRefused(400, "That is not an invitation token.")
    invitation_id, expires = int(parts[0]), int(parts[1])
    row = conn.execute(
        "SELECT team_id, email, expires_at, used_at FROM team_invitations WHERE id = %s FOR UPDATE", (invitation_id,)
    ).fetchone()
    expected = _mac(secret, invitation_id, row[0], row[1], expires) if row else _mac(secret, 0, 0, "", expires)
    if row is None or not hmac.compare_digest(expected.encode(), parts[2].encode("utf-8", "surrogatepass")):
        raise InvitationRefused(400, "That invitation token is not valid.")
    team_id, email, expires_at, used_at = row
    if int(expires_at.timestamp()) != expires or now >= expires_at:
        raise InvitationRefused(410, "That invitation has expired; ask for a new one.")
    if used_at is not None:
        raise InvitationRefused(410, "That invitation has already been used.")
    mine = conn.execute(
        "SELECT 1 FROM users WHERE id = %(u)s AND lower(email) = %(e)s"
        " UNION ALL SELECT 1 FROM user_addresses WHERE user_id = %(u)s AND lower(address) = %(e)s",
        {"u": user_id, "e": email},
    ).fetchone()
    if mine is None:
        raise InvitationRefused(403, "That invitation is for another address than this account's.")
    conn.execute("UPDATE team_invitations SET used_at = %s WHERE id = %s", (now, invitation_id))
    membership.join(conn, team_id, user_id)
    return team_id
