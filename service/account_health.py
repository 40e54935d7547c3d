"""Connected accounts with their sync health, as the accounts API and the dashboard show them.

    account_health(conn, user_id, account_id=None) -> [{id, provider, address, status,
        last_error, last_synced_at, synced_share, cursor_advanced_at, needs_reconnect,
        resources, quarantined, quarantine_note}]

One query over accounts, their sync_state rows (one per resource) and quarantine; only the
user's own accounts. The shape is the API's `Account` schema (service.api.schemas).
"""

from __future__ import annotations

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
    (
        account_id,
        provider,
        address,
        status,
        last_error,
        last_synced_at,
        resources,
        seen,
        total,
        advanced,
        resource_error,
        quarantined,
        latest_reason,
    ) = row
    share = None
    if total:
        # A mailbox grows while it syncs: never report more than all of it.
        share = round(min(1.0, float(seen or 0) / float(total)), 4)
    elif status == "incremental":
        share = 1.0
    return {
        "id": account_id,
        "provider": provider,
        "address": address,
        "status": status,
        "last_error": last_error or resource_error,
        "last_synced_at": last_synced_at,
        "synced_share": share,
        "cursor_advanced_at": advanced,
        "needs_reconnect": status == "auth_revoked",
        "resources": resources,
        "quarantined": quarantined,
        "quarantine_note": quarantine_note(quarantined, latest_reason),
    }


def quarantine_note(count: int, latest_reason: str | None) -> str | None:
    """The quarantine in words: syncing went on, but these items are not in Kith."""
    if not count:
        return None
    items = "1 item was" if count == 1 else f"{count} items were"
    return (
        f"{items} set aside in quarantine and left out; syncing went on without them. Latest reason: {latest_reason}."
    )


def account_health(conn, user_id: int, account_id: int | None = None) -> list[dict]:
    extra = "" if account_id is None else "AND a.id = %(a)s"
    rows = conn.execute(_HEALTH.format(extra=extra), {"u": user_id, "a": account_id}).fetchall()
    return [_health(r) for r in rows]


__all__ = ["account_health", "quarantine_note"]
