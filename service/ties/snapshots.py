"""Reading kept snapshots of ties whole: which snapshot to read, and its ties.

A snapshot is every tie of a user scored at one moment (`as_of`), kept by scoring.py in
score_snapshots with the whole tie as its payload. The CLI, the demo and the dashboard
read them here; when there is none to read, the ties are computed from the data instead
(scoring.compute_ties), so a user never scored still sees ties. Paged reads for the API
are pages.py; one tie in depth is detail.py.
"""

from __future__ import annotations

from datetime import date, datetime

from . import as_of as moments


def latest_as_of(conn, user_id: int) -> datetime | None:
    return conn.execute("SELECT max(as_of) FROM score_snapshots WHERE user_id = %s", (user_id,)).fetchone()[0]


def snapshot_exists(conn, user_id: int, as_of: datetime) -> bool:
    return (
        conn.execute(
            "SELECT 1 FROM score_snapshots WHERE user_id = %s AND as_of = %s LIMIT 1", (user_id, as_of)
        ).fetchone()
        is not None
    )


def pick_snapshot(conn, user_id: int, wanted: datetime | None) -> datetime | None:
    """The snapshot to read: the latest one, or the one taken exactly at `wanted`, else None."""
    if wanted is None:
        return latest_as_of(conn, user_id)
    return wanted if snapshot_exists(conn, user_id, wanted) else None


def snapshot(conn, user_id: int, as_of: datetime, limit: int | None = None) -> list[dict]:
    """The ties of one snapshot, strongest first; the first `limit` only when given."""
    rows = conn.execute(
        "SELECT payload FROM score_snapshots WHERE user_id = %s AND as_of = %s ORDER BY strength DESC, person_id"
        " LIMIT %s",
        (user_id, as_of, limit),
    ).fetchall()
    return [r[0] for r in rows]


def list_ties(conn, user_id: int, *, as_of: datetime | date | None = None, limit: int | None = None) -> list[dict]:
    """The user's ties, strongest first (the first `limit` when given): the latest snapshot,
    or as they looked at `as_of` (from data before it)."""
    moment = moments.to_utc(as_of)
    if moment is not None:
        rows = snapshot(conn, user_id, moment, limit)
        return rows if rows else _computed(conn, user_id, moment)[:limit]
    latest = latest_as_of(conn, user_id)
    if latest is None:
        return _computed(conn, user_id)[:limit]
    return snapshot(conn, user_id, latest, limit)


def ties_to_deepen(ties: list[dict]) -> list[dict]:
    ranked = [t for t in ties if t.get("deepen_rank")]
    return sorted(ranked, key=lambda t: t["deepen_rank"])


def strongest(conn, user_id: int, limit: int) -> tuple[list[dict], datetime | None, int]:
    """The `limit` strongest ties of the latest snapshot (or computed, without one), cut to
    what a chart plots; the snapshot's time (None: computed); how many ties there are."""
    snap = latest_as_of(conn, user_id)
    if snap is None:
        ties = _computed(conn, user_id)
        return ties, None, len(ties)
    total = conn.execute(
        "SELECT count(*) FROM score_snapshots WHERE user_id = %s AND as_of = %s", (user_id, snap)
    ).fetchone()[0]
    rows = conn.execute(
        "SELECT person_id, coalesce(payload->>'name', payload->>'contact', ''), strength, reciprocity, tier"
        " FROM score_snapshots WHERE user_id = %s AND as_of = %s ORDER BY strength DESC, person_id LIMIT %s",
        (user_id, snap, limit),
    ).fetchall()
    return (
        [{"person_id": r[0], "name": r[1], "strength": r[2], "reciprocity": r[3], "tier": r[4]} for r in rows],
        snap,
        total,
    )


def _computed(conn, user_id: int, moment: datetime | None = None) -> list[dict]:
    # Imported here: scoring pulls in scikit-learn and SciPy (over a second), which a read
    # of a kept snapshot never needs.
    from .scoring import compute_ties

    return compute_ties(conn, user_id, moment)
