"""Routes for connected accounts: list with sync health, connect, disconnect, sync now."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query as Q, Response

from .. import providers
from ..account_health import account_health
from ..account_state import DISCONNECT, transition
from ..jobs import QueueUnavailable
from ..providers.web_flow import ConnectUnavailable, authorize_url, bind
from .errors import documented
from .deps import Config, Db, User
from .jobs import Queue
from .account_schemas import Accepted, Account, ConnectIn, ConnectOut

router = APIRouter(prefix="/v1/accounts", tags=["accounts"])

NOT_FOUND = documented(404)
AccountId = Annotated[int, Path(ge=1, le=2**62)]


def _one(conn, user: int, account_id: int) -> dict:
    found = account_health(conn, user, account_id)
    if not found:
        raise HTTPException(404, f"No account {account_id}.")
    return found[0]


@router.get("", response_model=list[Account], summary="Connected accounts and their sync health")
def list_accounts(user: User, db: Db) -> list[dict]:
    with db.tx() as conn:
        return account_health(conn, user)


@router.post(
    "/connect",
    response_model=ConnectOut,
    responses=documented(503),
    summary="Start connecting (or reconnecting) an account of a provider (Google, Microsoft 365)",
    description="Returns the provider's sign-in address to open in the user's browser; the "
    "provider sends the user back to Kith's OAuth callback, which asks them to confirm "
    "the mailbox, then stores the account and queues a first sync. The flow finishes "
    "only in the browser holding the cookie this response sets (a same-origin page "
    "calling this route); `kith connect` is the way from a terminal. "
    "`login_hint` pre-fills the address to reconnect.",
)
def connect(body: ConnectIn, user: User, settings: Config, db: Db, response: Response) -> dict:
    try:
        started = authorize_url(settings, db, user, body.provider, body.login_hint)
    except ConnectUnavailable as exc:
        raise HTTPException(503, str(exc)) from None
    bind(response, settings, started)
    return {"provider": body.provider, "authorize_url": started.url}


@router.get("/{account_id:int}", response_model=Account, responses=NOT_FOUND, summary="One account's sync health")
def get_account(account_id: AccountId, user: User, db: Db) -> dict:
    with db.tx() as conn:
        return _one(conn, user, account_id)


@router.delete(
    "/{account_id:int}",
    response_model=Account,
    responses=NOT_FOUND,
    summary="Disconnect an account",
    description="Stops syncing and forgets the stored credentials; with `purge=true` the "
    "account's interactions are erased as well.",
)
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


@router.post(
    "/{account_id:int}/sync",
    response_model=Accepted,
    status_code=202,
    responses=documented(404, 409, 503),
    summary="Sync now",
    description="Queues an incremental sync on the interactive queue.",
)
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
        raise HTTPException(503, str(exc)) from None
    return {"status": "queued", "account_id": account_id}
