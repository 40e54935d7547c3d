"""One tie in depth: the tie, its weekly timeline by kind and direction, and its score history.

What GET /v1/ties/{id} answers and the dashboard's tie page shows. The tie comes from the
snapshot asked for (shape.TIE_JSON, rebuilt from the row) or, without one, is computed
from the data (scoring.compute_ties), cut to the API's keys either way (shape.public).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from .as_of import iso
from .shape import SHOWN_STRENGTH, TIE_JSON, public
from .snapshots import pick_snapshot


def snapshot_tie(conn, user_id: int, person_id: int, as_of: datetime) -> dict | None:
    row = conn.execute(
        f"SELECT {TIE_JSON} FROM score_snapshots s WHERE s.user_id = %s AND s.as_of = %s AND s.person_id = %s",
        (user_id, as_of, person_id),
    ).fetchone()
    return row[0] if row else None


def person_exists(conn, user_id: int, person_id: int) -> bool:
    return (
        conn.execute("SELECT 1 FROM people WHERE id = %s AND user_id = %s", (person_id, user_id)).fetchone() is not None
    )


def monday(d: date) -> date:
    return d - timedelta(days=d.weekday())


def timeline(conn, user_id: int, person_id: int, until: datetime, weeks: int) -> list[dict]:
    """Interactions with the person per week, by kind and direction, oldest week first.

    `out` means the user wrote or organised it (the provider marked it sent, or its From /
    organizer is one of the user's own addresses); anything else with the person is `in`.
    """
    last_week = monday(until.astimezone(timezone.utc).date())
    first_week = last_week - timedelta(weeks=weeks - 1)
    since = datetime.combine(first_week, datetime.min.time(), tzinfo=timezone.utc)
    rows = conn.execute(
        """
        WITH mine AS (
            SELECT DISTINCT i.id, i.kind, i.occurred_at, i.is_sent
            FROM person_addresses pa
            JOIN participants p ON p.user_id = pa.user_id AND p.address = pa.address
            JOIN interactions i ON i.id = p.interaction_id
            WHERE pa.user_id = %(u)s AND pa.person_id = %(p)s AND i.user_id = %(u)s
              AND i.occurred_at >= %(since)s AND i.occurred_at < %(until)s
              AND NOT i.is_draft AND i.status <> 'cancelled'
        )
        SELECT (date_trunc('week', m.occurred_at AT TIME ZONE 'UTC'))::date, m.kind,
               coalesce(m.is_sent, false) OR EXISTS (
                   SELECT 1 FROM participants f
                   JOIN user_addresses ua ON ua.user_id = f.user_id AND ua.address = f.address
                   WHERE f.interaction_id = m.id AND f.role IN ('from', 'organizer')),
               count(*)
        FROM mine m GROUP BY 1, 2, 3
        """,
        {"u": user_id, "p": person_id, "since": since, "until": until},
    ).fetchall()
    weeks_out = {
        first_week + timedelta(weeks=k): {"email_out": 0, "email_in": 0, "meeting_out": 0, "meeting_in": 0}
        for k in range(weeks)
    }
    for week, kind, outgoing, n in rows:
        bucket = weeks_out.get(week)
        if bucket is not None:
            bucket[f"{kind}_{'out' if outgoing else 'in'}"] += n
    return [{"week": w, **counts} for w, counts in sorted(weeks_out.items())]


def history(conn, user_id: int, person_id: int, limit: int = 260) -> list[dict]:
    rows = conn.execute(
        f"SELECT s.as_of, {SHOWN_STRENGTH}, s.tier, s.reciprocity, s.flags FROM score_snapshots s"
        " WHERE s.user_id = %s AND s.person_id = %s ORDER BY s.as_of DESC LIMIT %s",
        (user_id, person_id, limit),
    ).fetchall()
    return [
        {"as_of": iso(r[0]), "strength": r[1], "tier": r[2], "reciprocity": r[3], "flags": list(r[4])}
        for r in reversed(rows)
    ]


def tie_detail(conn, user_id: int, person_id: int, wanted: datetime | None, weeks: int) -> dict | None:
    """The tie, its weekly timeline and its history; None when the person has no scored tie."""
    snap = pick_snapshot(conn, user_id, wanted)
    if snap is not None:
        tie, until = snapshot_tie(conn, user_id, person_id, snap), snap
    else:
        until = wanted or datetime.now(timezone.utc)
        from .scoring import compute_ties  # the model, imported only when a tie is computed

        tie = next((t for t in compute_ties(conn, user_id, until) if t["person_id"] == person_id), None)
    if tie is None:
        return None
    return {
        "tie": public(tie),
        "timeline": timeline(conn, user_id, person_id, until, weeks),
        "history": history(conn, user_id, person_id),
    }
