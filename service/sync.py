"""Syncing one account: the provider's connector, the sync engine and the store together.

One account is synced by one process at a time (a PostgreSQL advisory lock held for the
run); a second request for the same account returns at once and leaves the work to the
first. Which providers sync, and how their connectors are built, is service.providers'.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

from ingest.errors import AuthRevoked, KithError
from ingest.sync import run_sync

from . import coverage, providers
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


class ProvisionalWatch:
    """Calls `score(user_id)` while a first sync reads newest first: once the last 180 days
    are whole, then each time the whole mail reaches another step further back (one, two,
    four, eight years), so provisional scores are refined as history arrives."""

    STEPS = (coverage.RECENT,) + tuple(timedelta(days=365 * n) for n in (1, 2, 4, 8))

    def __init__(self, db: Database, user_id: int, score: Callable[[int], object], progress=None):
        self.db, self.user_id, self.score, self.progress = db, user_id, score, progress
        self.now = datetime.now(timezone.utc)
        self.steps = list(self.STEPS)

    def __call__(self, resource: str, total, page) -> None:
        if self.progress is not None:
            self.progress(resource, total, page)
        mark = page.covered_since
        if not self.steps or mark is None or mark > self.now - self.steps[0]:
            return
        with self.db.tx() as conn:
            whole = coverage.live(conn, self.user_id, self.now)
        if not coverage.recent_enough(whole, self.now) or whole.since is None:
            return  # another resource or account is not that far back yet
        while self.steps and whole.since <= self.now - self.steps[0]:
            self.steps.pop(0)
        log.info("user %s: mail whole since %s, provisional scoring", self.user_id, whole.since.date())
        self.score(self.user_id)


def sync_account(
    settings: Settings,
    db: Database,
    account_id: int,
    progress=None,
    on_provisional: Callable[[int], object] | None = None,
):
    """Sync one account; `on_provisional(user_id)` is called when a first sync has read
    enough recent mail for provisional scores, and again as older mail arrives."""
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
            if on_provisional is not None:
                progress = ProvisionalWatch(db, store.user_id, on_provisional, progress)
            return refresh_after(db, store.user_id, lambda: run_sync(store, connector, progress=progress))
        finally:
            connector.close()
