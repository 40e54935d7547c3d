"""A tie's whole history, and the last year's activity of a page of ties, for the charts.

    whole_history(conn, user, person, until) -> {"first": datetime|None, "unit": "week"|"month",
                                                  "buckets": [{"start": date, email_out, ...}]}
    activity(conn, user, person_ids, until)  -> {person_id: [12 monthly counts, oldest first]}

The tie page shows everything since the first contact, so a tie that went quiet still shows
its strong past (weekly bars when the history is short, monthly otherwise). The table's
sparklines are mail and meetings per month over the last twelve months. Counts follow
ties.detail.timeline: `out` when the user sent or organised it, `in` otherwise.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from ..ties.detail import monday, timeline

SERIES_KEYS = ("email_out", "email_in", "meeting_out", "meeting_in")
WEEKLY_UP_TO_WEEKS = 26
SPARK_MONTHS = 12

_MINE = """
    SELECT DISTINCT pa.person_id, i.id, i.kind, i.occurred_at, i.is_sent
    FROM person_addresses pa
    JOIN participants p ON p.user_id = pa.user_id AND p.address = pa.address
    JOIN interactions i ON i.id = p.interaction_id
    WHERE pa.user_id = %(u)s AND pa.person_id = ANY(%(p)s) AND i.user_id = %(u)s
      AND i.occurred_at >= %(since)s AND i.occurred_at < %(until)s
      AND NOT i.is_draft AND i.status <> 'cancelled'
"""
_OUTGOING = """coalesce(m.is_sent, false) OR EXISTS (
        SELECT 1 FROM participants f
        JOIN user_addresses ua ON ua.user_id = f.user_id AND ua.address = f.address
        WHERE f.interaction_id = m.id AND f.role IN ('from', 'organizer'))"""
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def first_contact(conn, user_id: int, person_id: int, until: datetime) -> datetime | None:
    row = conn.execute(
        f"SELECT min(m.occurred_at) FROM ({_MINE}) m",
        {"u": user_id, "p": [person_id], "since": EPOCH, "until": until},
    ).fetchone()
    return row[0] if row else None


def _month(d: date) -> date:
    return d.replace(day=1)


def _next_month(d: date) -> date:
    return (d.replace(day=28) + timedelta(days=4)).replace(day=1)


def _months(first: date, last: date) -> list[date]:
    out, month = [], _month(first)
    while month <= last:
        out.append(month)
        month = _next_month(month)
    return out


def whole_history(conn, user_id: int, person_id: int, until: datetime) -> dict:
    """Mail and meetings with the person since the first contact, by week or by month."""
    first = first_contact(conn, user_id, person_id, until)
    if first is None:
        return {"first": None, "unit": "week", "buckets": []}
    span_weeks = (monday(until.date()) - monday(first.astimezone(timezone.utc).date())).days // 7 + 1
    if span_weeks <= WEEKLY_UP_TO_WEEKS:
        weeks = timeline(conn, user_id, person_id, until, max(4, span_weeks))
        return {"first": first, "unit": "week", "buckets": [{"start": w["week"], **_counts(w)} for w in weeks]}
    rows = conn.execute(
        f"""SELECT (date_trunc('month', m.occurred_at AT TIME ZONE 'UTC'))::date, m.kind, {_OUTGOING}, count(*)
            FROM ({_MINE}) m GROUP BY 1, 2, 3""",
        {"u": user_id, "p": [person_id], "since": first, "until": until},
    ).fetchall()
    months = {m: dict.fromkeys(SERIES_KEYS, 0) for m in _months(first.date(), until.date())}
    for month, kind, outgoing, n in rows:
        if month in months:
            months[month][f"{kind}_{'out' if outgoing else 'in'}"] += n
    return {"first": first, "unit": "month", "buckets": [{"start": m, **c} for m, c in sorted(months.items())]}


def _counts(week: dict) -> dict:
    return {key: week[key] for key in SERIES_KEYS}


def activity(conn, user_id: int, person_ids: list[int], until: datetime) -> dict[int, list[int]]:
    """Interactions per month with each person over the last SPARK_MONTHS months, oldest first."""
    if not person_ids:
        return {}
    last = _month(until.astimezone(timezone.utc).date())
    first = last
    for _ in range(SPARK_MONTHS - 1):
        first = _month(first - timedelta(days=1))
    since = datetime.combine(first, datetime.min.time(), tzinfo=timezone.utc)
    rows = conn.execute(
        f"""SELECT m.person_id, (date_trunc('month', m.occurred_at AT TIME ZONE 'UTC'))::date, count(*)
            FROM ({_MINE}) m GROUP BY 1, 2""",
        {"u": user_id, "p": list(person_ids), "since": since, "until": until},
    ).fetchall()
    months = _months(first, last)
    index = {m: k for k, m in enumerate(months)}
    out = {pid: [0] * len(months) for pid in person_ids}
    for pid, month, n in rows:
        if month in index:
            out[pid][index[month]] += n
    return out


__all__ = ["whole_history", "activity", "first_contact", "SERIES_KEYS"]
