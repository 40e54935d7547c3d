"""Routes about the user themself: profile, API tokens, export of everything, delete-my-data."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from collections.abc import Iterator

from fastapi import APIRouter, HTTPException, Path
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field
from psycopg.rows import dict_row

from .. import auth
from ..db import Database, scalar
from .errors import documented
from ..erasure import erase_user
from ..people import senders
from ..ties.horizon import horizon
from .deps import Config, Db, User
from .schemas import Deleted, NewToken, TokenIn, TokenInfo

router = APIRouter(prefix="/v1", tags=["me"])

# Everything Kith holds for a user, table by table. Secrets are left out on purpose:
# token hashes, encrypted provider credentials and OAuth verifiers are not the user's
# data but keys to it; their existence and dates are exported instead.
EXPORT: tuple[tuple[str, str], ...] = (
    ("user", "SELECT id, email, name, timezone, created_at FROM users WHERE id = %(u)s"),
    ("user_addresses", "SELECT address, source FROM user_addresses WHERE user_id = %(u)s ORDER BY address"),
    (
        "accounts",
        "SELECT id, provider, address, status, scopes, last_error, last_synced_at, created_at"
        " FROM accounts WHERE user_id = %(u)s ORDER BY id",
    ),
    (
        "credentials",
        "SELECT c.account_id, c.updated_at FROM credentials c JOIN accounts a ON a.id = c.account_id"
        " WHERE a.user_id = %(u)s ORDER BY c.account_id",
    ),
    (
        "sync_state",
        "SELECT s.* FROM sync_state s JOIN accounts a ON a.id = s.account_id"
        " WHERE a.user_id = %(u)s ORDER BY s.account_id, s.resource",
    ),
    ("people", "SELECT id, display_name, created_at FROM people WHERE user_id = %(u)s ORDER BY id"),
    (
        "person_addresses",
        "SELECT address, person_id, source FROM person_addresses WHERE user_id = %(u)s ORDER BY address",
    ),
    ("interactions", "SELECT * FROM interactions WHERE user_id = %(u)s ORDER BY id"),
    ("participants", "SELECT * FROM participants WHERE user_id = %(u)s ORDER BY interaction_id, role, address"),
    ("score_snapshots", "SELECT * FROM score_snapshots WHERE user_id = %(u)s ORDER BY as_of, person_id"),
    (
        "accuracy_checks",
        "SELECT scored_at, payload, computed_at FROM accuracy_checks WHERE user_id = %(u)s ORDER BY scored_at",
    ),
    (
        "flag_checks",
        "SELECT flags_at, counts, computed_at FROM flag_checks WHERE user_id = %(u)s ORDER BY flags_at",
    ),
    ("quarantine", "SELECT * FROM quarantine WHERE user_id = %(u)s ORDER BY id"),
    (
        "api_tokens",
        "SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM api_tokens"
        " WHERE user_id = %(u)s ORDER BY id",
    ),
    ("rules", "SELECT kind, value, action, created_at FROM rules WHERE user_id = %(u)s ORDER BY kind, value"),
    ("org_domains", "SELECT domain FROM org_domains WHERE user_id = %(u)s ORDER BY domain"),
    ("feedback", "SELECT id, person_id, kind, until, created_at FROM feedback WHERE user_id = %(u)s ORDER BY id"),
    ("merge_suggestions", "SELECT * FROM merge_suggestions WHERE user_id = %(u)s ORDER BY id"),
    ("digest_settings", "SELECT * FROM digest_settings WHERE user_id = %(u)s"),
    (
        "outbox",
        "SELECT week, state, message_id, subject, encode(message, 'base64') AS message_base64,"
        " created_at, sent_at FROM outbox WHERE user_id = %(u)s ORDER BY week",
    ),
    (
        "oauth_states",
        "SELECT provider, created_at, used_at FROM oauth_states WHERE user_id = %(u)s ORDER BY created_at",
    ),
    (
        "team_members",
        "SELECT team_id, role, sharing, joined_at FROM team_members WHERE user_id = %(u)s ORDER BY team_id",
    ),
    (
        "team_shared_ties",
        "SELECT team_id, address, band, month FROM team_shared_ties WHERE user_id = %(u)s ORDER BY team_id, address",
    ),
    (
        "team_intro_requests",
        "SELECT id, team_id, requester_id, holder_id, address, note, status, created_at, decided_at"
        " FROM team_intro_requests WHERE requester_id = %(u)s OR holder_id = %(u)s ORDER BY id",
    ),
)
EXPORT_BATCH = 2000


class MailState(BaseModel):
    latest: datetime | None = Field(
        default=None, description="Your newest mail or meeting up to now; null without any."
    )
    ended: bool = Field(default=False, description="True when that is more than 90 days ago.")
    scored_as_of: datetime | None = Field(
        default=None, description="When ended: the moment your ties are scored as of (the end of that day, UTC)."
    )
    notice: str | None = Field(default=None, description="A sentence saying so, to show above your ties.")
    address_warning: str | None = Field(
        default=None, description="Set when none of your mail was sent from your addresses: the likely one is named."
    )


class Me(BaseModel):
    id: int
    email: str
    name: str | None
    timezone: str
    created_at: datetime
    mail: MailState = Field(default_factory=lambda: MailState())


def export_stream(db: Database, user_id: int) -> Iterator[bytes]:
    """One JSON object, table by table, row by row: memory stays flat however much mail there is."""
    with db.pool.connection() as conn:
        # One snapshot for the whole export, so tables agree with each other.
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            yield b'{"format":"kith-export/1"'
            for name, query in EXPORT:
                yield f',"{name}":['.encode()
                with conn.cursor(name=f"export_{name}") as cur:
                    cur.itersize = EXPORT_BATCH
                    cur.execute(f"SELECT row_to_json(t)::text FROM ({query}) t", {"u": user_id})
                    first = True
                    while rows := cur.fetchmany(EXPORT_BATCH):
                        chunk = ",".join(r[0] for r in rows)
                        yield (chunk if first else "," + chunk).encode()
                        first = False
                yield b"]"
            yield b"}"


@router.get("/me", response_model=Me, summary="Who the token belongs to")
def me(user: User, db: Db) -> dict:
    with db.tx() as conn:
        row = (
            conn.cursor(row_factory=dict_row)
            .execute("SELECT id, email, name, timezone, created_at FROM users WHERE id = %s", (user,))
            .fetchone()
        )
        if row is not None:
            check = senders.check(conn, user)
            row["mail"] = horizon(conn, user).as_dict() | {"address_warning": check.warning(cli=False)}
    if row is None:  # erased between the token check and this read
        raise HTTPException(404, "The user is gone.")
    return row


@router.get(
    "/export",
    summary="Everything Kith holds for you, as one JSON document",
    response_model=dict[str, Any],
    responses={
        200: {
            "content": {
                "application/json": {
                    "example": {
                        "format": "kith-export/1",
                        "user": [{"id": 1, "email": "me@example.org"}],
                        "interactions": [],
                        "score_snapshots": [],
                    }
                }
            }
        }
    },
)
def export(user: User, db: Db) -> StreamingResponse:
    return StreamingResponse(
        export_stream(db, user),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="kith-export.json"'},
    )


@router.delete(
    "/me",
    response_model=Deleted,
    summary="Delete my data",
    description="Erases every row held for you (mail and meeting metadata, people, scores, "
    "accounts, credentials, settings), your tokens and the digest files kept for you. "
    "Cannot be undone.",
)
def delete_me(user: User, db: Db, settings: Config) -> dict:
    def inventory(conn) -> dict[str, int]:
        return {
            name: conn.execute(f"SELECT count(*) FROM ({query}) t", {"u": user}).fetchone()[0] for name, query in EXPORT
        }

    return {"deleted": True, "rows": erase_user(db, settings, user, inventory)}


@router.get("/tokens", response_model=list[TokenInfo], summary="Your API tokens (never the secret part)")
def list_tokens(user: User, db: Db) -> list[dict]:
    with db.tx() as conn:
        return auth.list_tokens(conn, user)


@router.post(
    "/tokens",
    response_model=NewToken,
    status_code=201,
    summary="Create an API token",
    responses=documented(409),
    description="The token is in this response only; Kith keeps just its hash.",
)
def create_token(body: TokenIn, user: User, db: Db) -> dict:
    if "\x00" in body.name:
        raise HTTPException(422, "name: must not contain NUL characters.")
    with db.tx() as conn:
        live = scalar(
            conn.execute("SELECT count(*) FROM api_tokens WHERE user_id = %s AND revoked_at IS NULL", (user,))
        )
        if live >= 50:
            raise HTTPException(409, "You have 50 live tokens; revoke one before creating another.")
        token, row = auth.create_token_row(conn, user, body.name)
    return row | {"token": token}


@router.delete(
    "/tokens/{token_id:int}", response_model=TokenInfo, responses=documented(404), summary="Revoke an API token"
)
def revoke_token(token_id: Annotated[int, Path(ge=1, le=2**62)], user: User, db: Db) -> dict:
    with db.tx() as conn:
        if auth.revoke_token(conn, user, token_id) is None:
            raise HTTPException(404, f"No token {token_id}.")
        return next(t for t in auth.list_tokens(conn, user) if t["id"] == token_id)
