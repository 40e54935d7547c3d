"""The user's own identities: every address that is the user (given, account, provider
sendAs, sent from, sub-addresses, resolved legacy DNs), stored in user_addresses.

The rest of the package asks `assembly.is_own` before treating an address as a contact:
the user takes part in the analytics input as person 0 (`analytics.records.USER`), never
as a person of their own.
"""

from __future__ import annotations

from collections.abc import Iterable

from ingest import identity

from ..db import rows as _rows


def add_own_addresses(conn, user_id: int, addresses: Iterable[str], source: str) -> None:
    """Record addresses as the user's (given, sendAs, account, sent, legacy_dn)."""
    rows = sorted(
        {(user_id, identity.canonical(a), source) for a in addresses if a and a.strip()}
        | {(user_id, a.strip().lower(), source) for a in addresses if a and a.strip()}
    )
    if rows:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO user_addresses (user_id, address, source) VALUES (%s, %s, %s) ON CONFLICT DO NOTHING", rows
            )
        # Someone the user turned out to be is no longer a contact.
        own = [r[1] for r in rows]
        conn.execute("DELETE FROM person_addresses WHERE user_id = %s AND address = ANY(%s)", (user_id, own))


def own_addresses(conn, user_id: int) -> set[str]:
    """Canonical forms of every address that is the user: given, provider, account addresses."""
    rows = _rows(
        conn,
        "SELECT address FROM user_addresses WHERE user_id = %s UNION SELECT address FROM accounts WHERE user_id = %s",
        (user_id, user_id),
    )
    return {identity.canonical(r[0]) for r in rows}


def sent_from(conn, user_id: int) -> set[str]:
    rows = _rows(
        conn,
        "SELECT DISTINCT p.address FROM participants p "
        "JOIN interactions i ON i.id = p.interaction_id "
        "WHERE i.user_id = %s AND i.is_sent AND NOT i.is_draft AND p.role = 'from'",
        (user_id,),
    )
    return {r[0] for r in rows}
