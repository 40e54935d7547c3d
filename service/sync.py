"""Syncing one account: the provider's connector, the sync engine and the store together.

One account is synced by one process at a time (a PostgreSQL advisory lock held for the
run); a second request for the same account returns at once and leaves the work to the
first. Which providers sync, and how their connectors are built, is service.providers'.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager

from ingest.errors import AuthRevoked, KithError
from ingest.sync import run_sync

from . import providers
from .config import Settings
from .db import Database, scalar
from .people import refresh_after
from .sync_store import AccountSyncStore

log = logging.getLogger(__name__)

LOCK_SPACE = 7_171  # advisory-lock namespace of account syncs


class AlreadySyncing(KithError):
    """Another worker holds this account's sync lock: skip, it is being done."""


@contextmanager
def account_lock(db: Database, account_id: int):
    with db.pool.connection() as conn:
        conn.autocommit = True
        got = scalar(conn.execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_SPACE, account_id)))
        if not got:
            raise AlreadySyncing(f"account {account_id} is being synced by another worker")
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s, %s)", (LOCK_SPACE, account_id))
            conn.autocommit = False


def build_connector(settings: Settings, db: Database, account_id: int, provider: str):
    if not providers.synced(provider):
        raise ValueError(f"accounts of provider {provider!r} are imported from files, not synced")
    return providers.get(provider).build_connector(settings, db, account_id)


def sync_account(settings: Settings, db: Database, account_id: int, progress=None):
    with db.tx() as conn:
        row = conn.execute("SELECT provider, status FROM accounts WHERE id = %s", (account_id,)).fetchone()
    if row is None:
        raise LookupError(f"no account {account_id}")
    provider, status = row
    if status in ("disabled", "auth_revoked"):
        log.info("account %s is %s: not syncing", account_id, status)
        return []
    with account_lock(db, account_id):
        store = AccountSyncStore(db, account_id)
        try:
            connector = build_connector(settings, db, account_id, provider)
        except AuthRevoked as exc:
            store.set_account_state("auth_revoked", str(exc) or "reconnect the account")
            raise
        try:
            return refresh_after(db, store.user_id, lambda: run_sync(store, connector, progress=progress))
        finally:
            connector.close()
