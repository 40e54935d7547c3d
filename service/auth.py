"""API tokens: created once, shown once, stored only as a SHA-256 hash and a short prefix.

A token is `kith_` followed by 43 URL-safe characters (256 bits from `secrets`), so a
plain, unsalted hash is enough: nobody can brute-force a 256-bit preimage, and an
unsalted hash lets a request find its token with one unique-index lookup. The prefix
(first 12 characters) is kept so a user can tell their tokens apart in a listing.

Tokens are never logged; functions here return or accept them, nothing else prints them.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import TypeGuard

import psycopg
from psycopg.rows import dict_row

TOKEN_PREFIX = "kith_"
PREFIX_CHARS = 12
# Only touch last_used_at when it is this stale, so reads do not turn into writes.
LAST_USED_GRANULARITY = "5 minutes"
MAX_TOKEN_CHARS = 200


def token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8")).digest()


def create_token(conn: psycopg.Connection, user_id: int, name: str = "default") -> str:
    """Create a token for the user and return it; only its hash and prefix are stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO api_tokens (user_id, token_hash, prefix, name) VALUES (%s, %s, %s, %s)",
        (user_id, token_hash(token), token[:PREFIX_CHARS], name),
    )
    return token


def create_token_row(conn: psycopg.Connection, user_id: int, name: str = "default") -> tuple[str, dict]:
    """Like `create_token`, also returning the stored row (for the API's listing shape)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = (
        conn.cursor(row_factory=dict_row)
        .execute(
            "INSERT INTO api_tokens (user_id, token_hash, prefix, name) VALUES (%s, %s, %s, %s)"
            " RETURNING id, name, prefix, created_at, last_used_at, revoked_at",
            (user_id, token_hash(token), token[:PREFIX_CHARS], name),
        )
        .fetchone()
    )
    if row is None:
        raise LookupError("INSERT ... RETURNING returned no row")
    return token, row


_LOOKUP = (
    "SELECT id, user_id, last_used_at IS NULL OR last_used_at < now() - %s::interval"
    " FROM api_tokens WHERE token_hash = %s AND revoked_at IS NULL"
)
_TOUCH = "UPDATE api_tokens SET last_used_at = now() WHERE id = %s"


def _well_formed(token: str | None) -> TypeGuard[str]:
    return token is not None and token.startswith(TOKEN_PREFIX) and len(token) <= MAX_TOKEN_CHARS


def user_for_token(conn: psycopg.Connection, token: str | None) -> int | None:
    """The user a live token belongs to, or None for an unknown, revoked or malformed one."""
    if not _well_formed(token):
        return None
    row = conn.execute(_LOOKUP, (LAST_USED_GRANULARITY, token_hash(token))).fetchone()
    if row is None:
        return None
    token_id, user_id, stale = row
    if stale:
        conn.execute(_TOUCH, (token_id,))
    return user_id


# The same check as a CTE named `me` (token_id, user_id, stale), for a hot route that
# authenticates and reads in one statement; pair it with `token_params`.
TOKEN_CTE = (
    "me AS (SELECT id AS token_id, user_id, last_used_at IS NULL OR last_used_at < now() - "
    "%(token_staleness)s::interval AS stale FROM api_tokens WHERE token_hash = %(token_hash)s "
    "AND revoked_at IS NULL)"
)


def token_params(token: str | None) -> dict | None:
    """Parameters for TOKEN_CTE, or None for a token that cannot be one of ours."""
    if not _well_formed(token):
        return None
    return {"token_staleness": LAST_USED_GRANULARITY, "token_hash": token_hash(token)}


async def touch_async(conn: psycopg.AsyncConnection, token_id: int) -> None:
    await conn.execute(_TOUCH, (token_id,))


async def user_for_token_async(conn: psycopg.AsyncConnection, token: str | None) -> int | None:
    """`user_for_token` on an async connection (the API's per-request check)."""
    if not _well_formed(token):
        return None
    row = await (await conn.execute(_LOOKUP, (LAST_USED_GRANULARITY, token_hash(token)))).fetchone()
    if row is None:
        return None
    token_id, user_id, stale = row
    if stale:
        await conn.execute(_TOUCH, (token_id,))
    return user_id


def list_tokens(conn: psycopg.Connection, user_id: int, include_revoked: bool = True) -> list[dict]:
    query = (
        "SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM api_tokens"
        " WHERE user_id = %s" + ("" if include_revoked else " AND revoked_at IS NULL") + " ORDER BY id"
    )
    return conn.cursor(row_factory=dict_row).execute(query, (user_id,)).fetchall()


def revoke_token(conn: psycopg.Connection, user_id: int, token_id: int) -> datetime | None:
    """Revoke one of the user's tokens; None when the user has no such token.

    Revoking twice keeps the first revocation time.
    """
    row = conn.execute(
        "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())"
        " WHERE id = %s AND user_id = %s RETURNING revoked_at",
        (token_id, user_id),
    ).fetchone()
    return row[0] if row else None


def revoke_all(conn: psycopg.Connection, user_id: int) -> int:
    cur = conn.execute(
        "UPDATE api_tokens SET revoked_at = now() WHERE user_id = %s AND revoked_at IS NULL",
        (user_id,),
    )
    return cur.rowcount
