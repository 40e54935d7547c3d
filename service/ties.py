"""Ties as the API, the CLI and the digest report them: scoring a user and reading snapshots.

The one path from stored interactions to the DESIGN tie shape: people and noise
(`service.people.load_exchanges`) -> `analytics.score_ties` -> tie dicts, kept as
snapshots in score_snapshots so trends can be shown.
"""
from __future__ import annotations

from datetime import date, datetime, timezone

from psycopg.types.json import Jsonb

import analytics

from . import people
from .db import Database


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def feedback_for(conn, user_id: int, as_of: datetime) -> dict[int, str]:
    """The latest word of the user on each person; a snooze counts until its date."""
    rows = conn.execute(
        "SELECT DISTINCT ON (person_id) person_id, kind, until FROM feedback "
        "WHERE user_id = %s AND created_at <= %s ORDER BY person_id, created_at DESC, id DESC",
        (user_id, as_of)).fetchall()
    out = {}
    for person_id, kind, until in rows:
        if kind == "snooze" and until is not None and until < as_of.date():
            continue
        out[person_id] = kind
    return out


def tie_dict(score, info: dict) -> dict:
    return {
        "contact": info.get("primary") or (info.get("addresses") or [""])[0],
        "name": info.get("name"),
        "addresses": list(info.get("addresses") or []),
        "strength": int(round(score.strength)),
        "tier": score.tier,
        "reciprocity": int(score.reciprocity),
        "flags": list(score.flags),
        "last_interaction": _iso(score.last_interaction),
        "explanation": list(score.explanation),
        "ledger": dict(score.ledger),
        "person_id": score.contact,
        "suggestion": score.suggestion,
        "deepen_rank": score.deepen_rank,
        "colleague": bool(info.get("colleague")),
    }


def compute_ties(conn, user_id: int, as_of: datetime | None = None, *,
                 include_colleagues: bool = True) -> list[dict]:
    as_of = as_of or datetime.now(timezone.utc)
    exchanges, info = people.load_exchanges(conn, user_id, as_of, include_colleagues=include_colleagues)
    feedback = feedback_for(conn, user_id, as_of)
    scores = analytics.score_ties(exchanges, as_of, feedback=feedback)
    ties = [tie_dict(s, info.get(s.contact, {})) for s in scores if s.contact in info]
    # The order snapshots are read back in: strength as shown, then a stable key.
    ties.sort(key=lambda t: (-t["strength"], t["person_id"]))
    return ties


def score_user(db: Database, user_id: int, as_of: datetime | None = None) -> list[dict]:
    """Refresh people, score every tie and keep the result as a snapshot at `as_of`."""
    as_of = as_of or datetime.now(timezone.utc).replace(microsecond=0)
    with db.tx() as conn:
        people.refresh_people(conn, user_id)
    with db.tx() as conn:
        ties = compute_ties(conn, user_id, as_of)
        conn.execute("DELETE FROM score_snapshots WHERE user_id = %s AND as_of = %s", (user_id, as_of))
        write_snapshot(conn, user_id, as_of, ties)
    return ties


def write_snapshot(conn, user_id: int, as_of: datetime, ties: list[dict]) -> None:
    """Keep tie dicts as the snapshot at `as_of` (the payload is the whole tie)."""
    with conn.cursor() as cur:
        with cur.copy("COPY score_snapshots (user_id, person_id, as_of, strength, tier, reciprocity, "
                      "flags, payload) FROM STDIN") as copy:
            for t in ties:
                copy.write_row((user_id, t["person_id"], as_of, t["strength"], t["tier"],
                                t["reciprocity"], t["flags"], Jsonb(t)))


def latest_snapshot_time(conn, user_id: int, before: datetime | None = None) -> datetime | None:
    if before is None:
        row = conn.execute("SELECT max(as_of) FROM score_snapshots WHERE user_id = %s", (user_id,)).fetchone()
    else:
        row = conn.execute("SELECT max(as_of) FROM score_snapshots WHERE user_id = %s AND as_of <= %s",
                           (user_id, before)).fetchone()
    return row[0] if row else None


def snapshot(conn, user_id: int, as_of: datetime) -> list[dict]:
    rows = conn.execute("SELECT payload FROM score_snapshots WHERE user_id = %s AND as_of = %s "
                        "ORDER BY strength DESC, person_id", (user_id, as_of)).fetchall()
    return [r[0] for r in rows]


def list_ties(conn, user_id: int, *, as_of: datetime | date | None = None) -> list[dict]:
    """The user's ties: the latest snapshot, or as they looked at `as_of` (from data before it)."""
    if isinstance(as_of, date) and not isinstance(as_of, datetime):
        as_of = datetime(as_of.year, as_of.month, as_of.day, tzinfo=timezone.utc)
    if as_of is not None:
        if as_of.tzinfo is None:
            as_of = as_of.replace(tzinfo=timezone.utc)
        rows = snapshot(conn, user_id, as_of)
        return rows if rows else compute_ties(conn, user_id, as_of)
    latest = latest_snapshot_time(conn, user_id)
    if latest is None:
        return compute_ties(conn, user_id)
    return snapshot(conn, user_id, latest)


def ties_to_deepen(ties: list[dict]) -> list[dict]:
    ranked = [t for t in ties if t.get("deepen_rank")]
    return sorted(ranked, key=lambda t: t["deepen_rank"])


def history(conn, user_id: int, person_id: int) -> list[dict]:
    rows = conn.execute("SELECT as_of, strength, tier, reciprocity, flags FROM score_snapshots "
                        "WHERE user_id = %s AND person_id = %s ORDER BY as_of", (user_id, person_id)).fetchall()
    return [{"as_of": r[0].strftime("%Y-%m-%dT%H:%M:%SZ"), "strength": r[1], "tier": r[2],
             "reciprocity": r[3], "flags": list(r[4])} for r in rows]
