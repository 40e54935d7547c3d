"""Dashboard sessions and the forms they may post.

Signing in trades an API token for a session: a random id of its own (256 bits from
`secrets`) that the browser keeps in an HttpOnly cookie and the database keeps only as a
SHA-256 hash, so neither a stolen cookie nor a read of the table yields an API token.
Sign-out revokes the row; revoking the token that opened a session ends it too.

Every state-changing form carries `csrf_token(session id)`, an HMAC keyed by the session id:
a page elsewhere (another port of this host counts: cookies are per host, not per port)
cannot read the session id, so it cannot forge the field; and the Origin, when the browser
sends one, must be this site's.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from .. import auth

LIFETIME_DAYS = 30
MAX_SESSION_CHARS = 100
CSRF_FIELD = "csrf"


@dataclass(frozen=True)
class Session:
    id: str
    user_id: int

    @property
    def csrf(self) -> str:
        return csrf_token(self.id)


def _hash(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode("utf-8")).digest()


def csrf_token(session_id: str) -> str:
    return hmac.new(session_id.encode("utf-8"), b"kith dashboard form", hashlib.sha256).hexdigest()


def open_session(conn, api_token: str | None) -> Session | None:
    """A new session for the owner of a live API token, or None for any other token."""
    if api_token is None or not auth.user_for_token(conn, api_token):
        return None
    token_id, user_id = conn.execute(
        "SELECT id, user_id FROM api_tokens WHERE token_hash = %s", (auth.token_hash(api_token),)
    ).fetchone()
    # Sessions long dead are of no use to anyone: drop this user's while we are here.
    conn.execute(
        "DELETE FROM dashboard_sessions WHERE user_id = %s AND (expires_at < now() OR revoked_at IS NOT NULL)",
        (user_id,),
    )
    session_id = secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO dashboard_sessions (session_hash, user_id, token_id, expires_at)"
        " VALUES (%s, %s, %s, now() + make_interval(days => %s))",
        (_hash(session_id), user_id, token_id, LIFETIME_DAYS),
    )
    return Session(session_id, user_id)


def find_session(conn, session_id: str | None) -> Session | None:
    """The live session with this id: not expired, not revoked, its token not revoked."""
    if not session_id or len(session_id) > MAX_SESSION_CHARS:
        return None
    row = conn.execute(
        "SELECT s.user_id FROM dashboard_sessions s JOIN api_tokens t ON t.id = s.token_id"
        " WHERE s.session_hash = %s AND s.revoked_at IS NULL AND s.expires_at > now() AND t.revoked_at IS NULL",
        (_hash(session_id),),
    ).fetchone()
    return Session(session_id, row[0]) if row else None


def revoke_session(conn, session_id: str) -> None:
    conn.execute(
        "UPDATE dashboard_sessions SET revoked_at = coalesce(revoked_at, now()) WHERE session_hash = %s",
        (_hash(session_id),),
    )


def same_origin(headers) -> bool:
    """False when the browser says the request comes from another site or another port.

    Browsers send Origin on every cross-origin POST; Sec-Fetch-Site covers a request whose
    Origin was withheld. Neither present (curl, old browsers) is left to the CSRF token.
    """
    host = headers.get("host", "")
    origin = headers.get("origin")
    if origin is not None:
        return origin != "null" and urlsplit(origin).netloc == host
    return headers.get("sec-fetch-site", "same-origin") in ("same-origin", "none")


def form_allowed(headers, session: Session | None, fields: dict) -> bool:
    """A state-changing form counts only with a live session, this site's Origin and the
    session's CSRF token."""
    if session is None or not same_origin(headers):
        return False
    return hmac.compare_digest(str(fields.get(CSRF_FIELD, "")), session.csrf)
