"""Routes for connected accounts: list with sync health, connect, disconnect, sync now."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query as Q, Response

from ingest.errors import ConfigError, KithError, TransientError

from .. import providers
from ..account_state import DISCONNECT, transition
from ..config import Settings
from ..db import Database
from ..jobs import QueueUnavailable
from ..providers import oauth_states
from . import connect as connect_routes
from .errors import documented
from .deps import Config, Db, User
from .jobs import Queue
from .schemas import Accepted, Account, ConnectIn, ConnectOut

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])

NOT_FOUND = documented(404)
AccountId = Annotated[int, Path(ge=1, le=2**62)]

_HEALTH = """
SELECT a.id, a.provider, a.address, a.status, a.last_error, a.last_synced_at,
       coalesce(json_agg(json_build_object(
           'resource', s.resource, 'state', s.state, 'items_seen', s.items_seen,
           'items_total', s.items_total, 'cursor_advanced_at', s.cursor_advanced_at,
           'last_error', s.last_error) ORDER BY s.resource) FILTER (WHERE s.resource IS NOT NULL), '[]'),
       sum(s.items_seen) FILTER (WHERE s.items_total > 0),
       sum(s.items_total) FILTER (WHERE s.items_total > 0),
       max(s.cursor_advanced_at),
       (array_agg(s.last_error ORDER BY s.cursor_advanced_at DESC NULLS LAST)
            FILTER (WHERE s.last_error IS NOT NULL))[1],
       (SELECT count(*) FROM quarantine q WHERE q.account_id = a.id),
       (SELECT q.reason FROM quarantine q WHERE q.account_id = a.id
        ORDER BY q.created_at DESC, q.id DESC LIMIT 1)
FROM accounts a LEFT JOIN sync_state s ON s.account_id = a.id
WHERE a.user_id = %(u)s {extra}
GROUP BY a.id ORDER BY a.id
"""


def _health(row) -> dict:
    (account_id, provider, address, status, last_error, last_synced_at, resources,
     seen, total, advanced, resource_error, quarantined, latest_reason) = row
    share = None
    if total:
        # A mailbox grows while it syncs: never report more than all of it.
        share = round(min(1.0, float(seen or 0) / float(total)), 4)
    elif status == "incremental":
        share = 1.0
    return {"id": account_id, "provider": provider, "address": address, "status": status,
            "last_error": last_error or resource_error, "last_synced_at": last_synced_at,
            "synced_share": share, "cursor_advanced_at": advanced,
            "needs_reconnect": status == "auth_revoked", "resources": resources,
            "quarantined": quarantined, "quarantine_note": quarantine_note(quarantined, latest_reason)}


def quarantine_note(count: int, latest_reason: str | None) -> str | None:
    """The quarantine in words: syncing went on, but these items are not in Kith."""
    if not count:
        return None
    items = "1 item was" if count == 1 else f"{count} items were"
    return (f"{items} set aside in quarantine and left out; syncing went on without them. "
            f"Latest reason: {latest_reason}.")


def account_health(conn, user_id: int, account_id: int | None = None) -> list[dict]:
    extra = "" if account_id is None else "AND a.id = %(a)s"
    rows = conn.execute(_HEALTH.format(extra=extra), {"u": user_id, "a": account_id}).fetchall()
    return [_health(r) for r in rows]


def _one(conn, user: int, account_id: int) -> dict:
    found = account_health(conn, user, account_id)
    if not found:
        raise HTTPException(404, f"No account {account_id}.")
    return found[0]


class ConnectUnavailable(KithError, RuntimeError):
    pass


def authorize_url(settings: Settings, db: Database, user_id: int, provider: str,
                  login_hint: str | None = None) -> oauth_states.Started:
    """Start the provider's OAuth flow for the user: the URL to send their browser to, and
    the nonce that browser must hold (`connect_routes.bind` sets it as a cookie).

    The flow's state row remembers the user, so the callback needs no token.
    """
    chosen = providers.get(provider)
    try:
        return chosen.start_flow(settings, db, user_id, chosen.callback_url(settings.base_url), login_hint=login_hint)
    except (ConfigError, TransientError) as exc:
        raise ConnectUnavailable(str(exc)) from exc


@router.get("", response_model=list[Account], summary="Connected accounts and their sync health")
def list_accounts(user: User, db: Db) -> list[dict]:
    with db.tx() as conn:
        return account_health(conn, user)


@router.post("/connect", response_model=ConnectOut, responses=documented(503),
             summary="Start connecting (or reconnecting) an account of a provider (Google, Microsoft 365)",
             description="Returns the provider's sign-in address to open in the user's browser; the "
                         "provider sends the user back to Kith's OAuth callback, which asks them to confirm "
                         "the mailbox, then stores the account and queues a first sync. The flow finishes "
                         "only in the browser holding the cookie this response sets (a same-origin page "
                         "calling this route); `kith connect` is the way from a terminal. "
                         "`login_hint` pre-fills the address to reconnect.")
def connect(body: ConnectIn, user: User, settings: Config, db: Db, response: Response) -> dict:
    try:
        started = authorize_url(settings, db, user, body.provider, body.login_hint)
    except ConnectUnavailable as exc:
        raise HTTPException(503, str(exc))
    connect_routes.bind(response, settings, started)
    return {"provider": body.provider, "authorize_url": started.url}


@router.get("/{account_id:int}", response_model=Account, responses=NOT_FOUND, summary="One account's sync health")
def get_account(account_id: AccountId, user: User, db: Db) -> dict:
    with db.tx() as conn:
        return _one(conn, user, account_id)


@router.delete("/{account_id:int}", response_model=Account, responses=NOT_FOUND, summary="Disconnect an account",
               description="Stops syncing and forgets the stored credentials; with `purge=true` the "
                           "account's interactions are erased as well.")
def disconnect(account_id: AccountId, user: User, db: Db, jobs: Queue, purge: Annotated[bool, Q()] = False) -> dict:
    with db.tx() as conn:
        health = _one(conn, user, account_id)
        conn.execute("DELETE FROM credentials WHERE account_id = %s", (account_id,))
        if purge:
            conn.execute("DELETE FROM accounts WHERE id = %s AND user_id = %s", (account_id, user))
        else:
            transition(conn, account_id, *DISCONNECT)
    if purge:
        jobs.rescore(user)
    return health | {"status": "disabled", "needs_reconnect": False}


@router.post("/{account_id:int}/sync", response_model=Accepted, status_code=202,
             responses=documented(404, 409, 503),
             summary="Sync now", description="Queues an incremental sync on the interactive queue.")
def sync_now(account_id: AccountId, user: User, db: Db, jobs: Queue) -> dict:
    with db.tx() as conn:
        health = _one(conn, user, account_id)
    if not providers.synced(health["provider"]):
        raise HTTPException(409, f"{health['provider']} accounts are imported from files, not synced.")
    if health["status"] == "auth_revoked":
        raise HTTPException(409, "Access was revoked at the provider: reconnect the account first.")
    if health["status"] == "disabled":
        raise HTTPException(409, "The account is disconnected: connect it again to sync.")
    try:
        jobs.sync_now(account_id)
    except QueueUnavailable as exc:
        raise HTTPException(503, str(exc))
    return {"status": "queued", "account_id": account_id}
