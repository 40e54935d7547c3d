"""Persons behind addresses, as the user shaped them by hand: list, merge, split.

A person is a row of `people` with its addresses in `person_addresses`. `refresh.py` makes
and keeps them automatically; the functions here are the user's edits, stored with source
'manual' so that every later refresh keeps them. A split is also remembered as a rejected
merge suggestion (`suggestions.py`), so the same pair is not suggested back.
"""

from __future__ import annotations

import json
from collections import defaultdict

from ingest import identity

from ..db import rows as _rows


def drop_orphans(conn, user_id: int) -> int:
    cur = conn.execute(
        "DELETE FROM people p WHERE p.user_id = %s AND NOT EXISTS "
        "(SELECT 1 FROM person_addresses pa WHERE pa.person_id = p.id)",
        (user_id,),
    )
    return cur.rowcount


def people_addresses(conn, user_id: int) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    for a, pid in _rows(
        conn, "SELECT address, person_id FROM person_addresses WHERE user_id = %s ORDER BY address", (user_id,)
    ):
        out[pid].append(a)
    return dict(out)


def merge_people(conn, user_id: int, person_ids: list[int]) -> int:
    """Make one person of several, by hand: the first id stays; survives every refresh."""
    ids = list(dict.fromkeys(int(p) for p in person_ids))
    found = {r[0] for r in _rows(conn, "SELECT id FROM people WHERE user_id = %s AND id = ANY(%s)", (user_id, ids))}
    missing = [p for p in ids if p not in found]
    if missing or not ids:
        raise LookupError(f"no such people: {missing}")
    target, others = ids[0], ids[1:]
    conn.execute(
        "UPDATE person_addresses SET person_id = %s, source = 'manual' WHERE user_id = %s AND person_id = ANY(%s)",
        (target, user_id, ids),
    )
    if others:
        conn.execute(
            "UPDATE feedback SET person_id = %s WHERE user_id = %s AND person_id = ANY(%s)", (target, user_id, others)
        )
        conn.execute("DELETE FROM people WHERE user_id = %s AND id = ANY(%s)", (user_id, others))
    return target


def split_person(conn, user_id: int, person_id: int, addresses: list[str]) -> int:
    """Take `addresses` out of a person into a new one, by hand; returns the new person id."""
    held = {
        r[0]
        for r in _rows(
            conn, "SELECT address FROM person_addresses WHERE user_id = %s AND person_id = %s", (user_id, person_id)
        )
    }
    wanted = {a.strip().lower() for a in addresses}
    wanted = {a if a in held else identity.canonical(a) for a in wanted}
    if not wanted or not wanted <= held:
        raise LookupError(f"person {person_id} does not have {sorted(wanted - held)}")
    if wanted == held:
        raise ValueError("a split must leave at least one address with the person")
    new_id = _rows(conn, "INSERT INTO people (user_id) VALUES (%s) RETURNING id", (user_id,))[0][0]
    conn.execute(
        "UPDATE person_addresses SET person_id = %s, source = 'manual' WHERE user_id = %s AND address = ANY(%s)",
        (new_id, user_id, sorted(wanted)),
    )
    conn.execute(
        "UPDATE person_addresses SET source = 'manual' WHERE user_id = %s AND person_id = %s", (user_id, person_id)
    )
    # Remember the split as a rejected pair, so it is not suggested back.
    pair = sorted((min(held - wanted), min(wanted)))
    conn.execute(
        "INSERT INTO merge_suggestions (user_id, addresses, evidence, status) "
        "VALUES (%s, %s, %s, 'rejected') ON CONFLICT (user_id, addresses) DO UPDATE "
        "SET status = 'rejected'",
        (
            user_id,
            pair,
            json.dumps(
                {"score": None, "evidence": [{"kind": "split_by_hand", "detail": "you split these apart", "weight": 0}]}
            ),
        ),
    )
    for pid in (person_id, new_id):
        conn.execute(
            "UPDATE people SET display_name = coalesce((SELECT p.name FROM participants p "
            "JOIN person_addresses pa ON pa.address = p.address AND pa.user_id = p.user_id "
            "WHERE pa.person_id = %s AND p.name IS NOT NULL GROUP BY p.name "
            "ORDER BY count(*) DESC, p.name LIMIT 1), display_name) WHERE id = %s",
            (pid, pid),
        )
    return new_id


def list_people(conn, user_id: int) -> list[dict]:
    addrs = people_addresses(conn, user_id)
    return [
        {"id": pid, "name": name, "addresses": addrs.get(pid, [])}
        for pid, name in _rows(conn, "SELECT id, display_name FROM people WHERE user_id = %s ORDER BY id", (user_id,))
    ]
