"""Every change of an account's state, and of its resources', through ingest.sync.next_state.

    connect     ("enable", "reconnect")  oauth_accounts.attach: a revoked or disconnected
                                         account and its stopped resources start again
    disconnect  ("disable",)             the accounts API, the demo when its emulators stop
    revoked     ("auth_revoked",)        a sync that the provider refused (the sync engine)
    synced      ("complete",)            a sync that finished every resource (the sync engine)

The state machine is the sync engine's own pure function, so an account cannot reach a
state that the diagram in ingest/sync.py does not draw (a disconnected account that a
finishing sync would mark `incremental` again stays disabled). This module sits below
service.store and the providers and imports neither, so both call it.
"""

from __future__ import annotations

from functools import reduce

from ingest.sync import next_state

STOPPED = ("auth_revoked", "disabled")
CONNECT = ("enable", "reconnect")
DISCONNECT = ("disable",)
# Events that reach an account's resources too; the others concern the account alone
# (each resource's cursor and state move with its own pages, in store.commit_page).
RESOURCE_EVENTS = ("enable", "reconnect", "disable")
KEEP = object()  # leave last_error as it is
# The sync engine reports account states; these are the events that lead to them.
EVENT_OF_STATE = {"incremental": "complete", "auth_revoked": "auth_revoked", "disabled": "disable"}


def transition(conn, account_id: int, *events: str, error: str | object | None = KEEP) -> str:
    """Apply `events` to the account (and, for connect/disconnect, its resources) in `conn`'s
    transaction; the account's new state. `error` replaces last_error unless KEEP."""
    row = conn.execute("SELECT status FROM accounts WHERE id = %s FOR UPDATE", (account_id,)).fetchone()
    if row is None:
        raise LookupError(f"no account {account_id}")
    old = row[0]
    new = reduce(next_state, events, old)
    if new == old and set(events) <= set(CONNECT):
        return old  # connecting a live account again changes nothing about its syncing
    conn.execute(
        "UPDATE accounts SET status = %s, last_error = CASE WHEN %s THEN last_error ELSE %s END, "
        "last_synced_at = CASE WHEN %s THEN now() ELSE last_synced_at END WHERE id = %s",
        (new, error is KEEP, None if error is KEEP else error, "complete" in events, account_id),
    )
    _resources(conn, account_id, [e for e in events if e in RESOURCE_EVENTS])
    if new == "auth_revoked" and error is not KEEP:
        conn.execute("UPDATE sync_state SET last_error = %s WHERE account_id = %s", (error, account_id))
    return new


def _resources(conn, account_id: int, events: list[str]) -> None:
    if not events:
        return
    rows = conn.execute(
        "SELECT resource, state, cursor IS NOT NULL FROM sync_state WHERE account_id = %s ORDER BY resource FOR UPDATE",
        (account_id,),
    ).fetchall()
    for resource, old, has_cursor in rows:
        new = reduce(next_state, events, old)
        if new == "initial" and old in STOPPED and has_cursor:
            # A stopped resource that had synced resumes from its cursor instead of reading
            # the whole mailbox again.
            new = "incremental"
        if new != old:
            # A disconnected resource keeps its last error to show; one that starts again does not.
            conn.execute(
                "UPDATE sync_state SET state = %s, last_error = CASE WHEN %s = 'disabled' "
                "THEN last_error END WHERE account_id = %s AND resource = %s",
                (new, new, account_id, resource),
            )


def event_of(state: str) -> str:
    """The event behind a state the sync engine reports (SyncStore.set_account_state)."""
    try:
        return EVENT_OF_STATE[state]
    except KeyError:
        raise ValueError(f"no event leads an account to {state!r}") from None


__all__ = ["transition", "event_of", "CONNECT", "DISCONNECT", "KEEP", "STOPPED"]
