"""The user's word on a tie: `not_relationship`, `matters`, or `snooze` until a date.

Given through POST /v1/ties/{id}/feedback and read back by the same route; scoring reads
each person's latest word (`latest_words`) and analytics.score_ties acts on it: marked ties
are pinned and their likes (same features, or the same organisation domain, `domains_of`)
move with them (analytics/feedback_layer.py). The digest reads the same rule in its own
one-round-trip query (service/digest/inputs.py `_FLAGS`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime

from psycopg.rows import dict_row

from ingest import identity

_COLUMNS = "id, person_id, kind, until, created_at"


def latest_words(conn, user_id: int, as_of: datetime) -> dict[int, str]:
    """The latest word of the user on each person; a snooze counts until its date."""
    rows = conn.execute(
        "SELECT DISTINCT ON (person_id) person_id, kind, until FROM feedback "
        "WHERE user_id = %s AND created_at <= %s ORDER BY person_id, created_at DESC, id DESC",
        (user_id, as_of),
    ).fetchall()
    out = {}
    for person_id, kind, until in rows:
        if kind == "snooze" and until is not None and until < as_of.date():
            continue
        out[person_id] = kind
    return out


def give(conn, user_id: int, person_id: int, kind: str, until: date | None) -> dict:
    """Keep the user's word (a snooze's date only with a snooze) and return it as stored."""
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            f"INSERT INTO feedback (user_id, person_id, kind, until) VALUES (%s, %s, %s, %s) RETURNING {_COLUMNS}",
            (user_id, person_id, kind, until if kind == "snooze" else None),
        )
        .fetchone()
    )


def given(conn, user_id: int, person_id: int, limit: int = 100) -> list[dict]:
    """The user's words on the person, latest first."""
    return (
        conn.cursor(row_factory=dict_row)
        .execute(
            f"SELECT {_COLUMNS} FROM feedback WHERE user_id = %s AND person_id = %s"
            " ORDER BY created_at DESC, id DESC LIMIT %s",
            (user_id, person_id, limit),
        )
        .fetchall()
    )


def domains_of(info: Mapping[int, Mapping]) -> dict[int, str]:
    """Person id -> the organisation a word on one of its people may carry over to.

    None for free-mail and academic domains (a provider, not an employer) and for the
    user's colleagues (the user's own organisation holds every kind of tie). A person with
    several organisations is taken at the one of their primary address, else the first.
    """
    out: dict[int, str] = {}
    for pid, person in info.items():
        if person.get("colleague"):
            continue
        addresses = [person.get("primary") or ""] + sorted(person.get("addresses") or [])
        orgs = [d for d in (identity.domain_of(a.lower()) for a in addresses) if d and not identity.is_shared_domain(d)]
        if orgs:
            out[pid] = orgs[0]
    return out
