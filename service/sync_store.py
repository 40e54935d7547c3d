"""The sync engine's store for one account, in PostgreSQL (`ingest.sync.SyncStore`).

A page of items and its cursor commit in one transaction (`commit_page`); the writes
themselves are `service.store`'s. Account and resource states move through
`service.account_state.transition`, the sync engine's state machine.
"""

from __future__ import annotations

from ingest.records import Interaction, Page, Quarantined, Removed, SyncReport
from ingest.sync import ResourceState

from . import providers
from .account_state import event_of, transition
from .db import Database
from .people import add_own_addresses
from .store import remove_interactions, write_interactions_or_split, write_quarantine


class AccountSyncStore:
    """The sync engine's view of one account in PostgreSQL (see ingest.sync.SyncStore)."""

    def __init__(self, db: Database, account_id: int):
        self.db = db
        self.account_id = account_id
        with db.tx() as conn:
            row = conn.execute("SELECT user_id, provider FROM accounts WHERE id = %s", (account_id,)).fetchone()
        if row is None:
            raise LookupError(f"no account {account_id}")
        self.user_id = row[0]
        # An mbox holds a message once per label (Takeout): copies merge, see write_interactions.
        self.merge_copies = row[1] == "mbox"
        # A file import commits hundreds of pages: none waits for its WAL flush. A page and
        # its cursor still commit together, so a database crash that loses the last few
        # commits only means those pages are read again from the file (the cursor is older);
        # the run's last commit (the account state, set_account_state) waits as always, and
        # the flush it waits for holds every page before it.
        self.flush_each_page = providers.synced(row[1])
        # The own addresses a page of this store last committed: a page naming the same ones
        # again (every page of a big import does) has nothing to add.
        self._own_committed: tuple[str, ...] = ()

    def load(self, resource: str) -> ResourceState:
        with self.db.tx() as conn:
            row = conn.execute(
                "SELECT cursor, state, generation FROM sync_state WHERE account_id = %s AND resource = %s",
                (self.account_id, resource),
            ).fetchone()
        if row is None:
            return ResourceState(None, "initial", 0)
        return ResourceState(*row)

    def commit_page(self, resource: str, page: Page, state: str, generation: int) -> SyncReport:
        interactions = [i for i in page.items if isinstance(i, Interaction)]
        quarantined = [i for i in page.items if isinstance(i, Quarantined)]
        removed = [i.provider_id for i in page.items if isinstance(i, Removed)]
        with self.db.tx() as conn:
            # Serialise writers of the same account+resource (two workers, one account).
            conn.execute(
                "SELECT pg_advisory_xact_lock(%s, hashtext(%s)), set_config('synchronous_commit', "
                "CASE WHEN %s THEN current_setting('synchronous_commit') ELSE 'off' END, true)",
                (self.account_id, resource, self.flush_each_page),
            )
            written, refused = write_interactions_or_split(
                conn, self.user_id, self.account_id, resource, interactions, generation, self.merge_copies
            )
            q = write_quarantine(conn, self.user_id, self.account_id, resource, quarantined + refused)
            gone = remove_interactions(conn, self.account_id, removed, resource)
            if page.complete and page.full_sync:
                # Whatever a completed full sync did not see is gone at the provider.
                gone += conn.execute(
                    "DELETE FROM interactions WHERE account_id = %s AND resource = %s AND sync_generation < %s",
                    (self.account_id, resource, generation),
                ).rowcount
            own_new = bool(page.own_addresses) and page.own_addresses != self._own_committed
            if own_new:
                add_own_addresses(conn, self.user_id, page.own_addresses, "provider")
            done, total = page.progress if page.progress else (None, None)
            # A newest-first full sync marks how far back the resource is whole; a finished
            # one needs no mark. The first page of a full sync starts the backfill clock.
            covered = page.covered_since if page.full_sync and not page.complete else None
            conn.execute(
                """
                INSERT INTO sync_state (account_id, resource, cursor, state, generation, items_seen,
                    items_total, cursor_advanced_at, covered_since, backfill_started_at)
                VALUES (%s, %s, %s, %s, %s, COALESCE(%s, 0), %s, now(), %s, CASE WHEN %s THEN now() END)
                ON CONFLICT (account_id, resource) DO UPDATE SET cursor = EXCLUDED.cursor,
                    state = EXCLUDED.state, generation = EXCLUDED.generation,
                    items_seen = CASE WHEN %s::bigint IS NULL THEN sync_state.items_seen
                                      ELSE EXCLUDED.items_seen END,
                    items_total = COALESCE(EXCLUDED.items_total, sync_state.items_total),
                    cursor_advanced_at = now(), last_error = NULL,
                    covered_since = EXCLUDED.covered_since,
                    backfill_started_at = COALESCE(sync_state.backfill_started_at, EXCLUDED.backfill_started_at)
                """,
                (
                    self.account_id,
                    resource,
                    page.cursor,
                    state,
                    generation,
                    done,
                    total,
                    covered,
                    page.full_sync,
                    done,
                ),
            )
        if own_new:
            self._own_committed = page.own_addresses
        return SyncReport(
            resource=resource, written=written, quarantined=q, removed=gone, pages=1, full_sync=page.full_sync
        )

    def reset(self, resource: str, state: str) -> None:
        with self.db.tx() as conn:
            conn.execute(
                "INSERT INTO sync_state (account_id, resource, cursor, state) VALUES (%s, %s, NULL, %s) "
                "ON CONFLICT (account_id, resource) DO UPDATE SET cursor = NULL, state = EXCLUDED.state, "
                "covered_since = NULL",
                (self.account_id, resource, state),
            )

    def set_account_state(self, state: str, error: str | None = None) -> None:
        with self.db.tx() as conn:
            transition(conn, self.account_id, event_of(state), error=error)
