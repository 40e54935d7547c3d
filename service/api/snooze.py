"""How far a snooze may reach: from today, in the user's own time zone, to a year ahead.

A date before today hides nothing; one centuries ahead (9999-12-31) is a silent "never",
which is what `not_relationship` or turning the digest off say openly, and dates that far
out break date arithmetic downstream.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fastapi import HTTPException

MAX_DAYS = 365


def user_today(conn, user_id: int, zone: str | None = None) -> date:
    if zone is None:
        row = conn.execute("SELECT timezone FROM users WHERE id = %s", (user_id,)).fetchone()
        zone = row[0] if row else "UTC"
    try:
        tz = ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        tz = ZoneInfo("UTC")
    return datetime.now(tz).date()


def check_until(conn, user_id: int, field: str, until: date, zone: str | None = None) -> None:
    """422 with a plain sentence unless `until` is within [today, today + MAX_DAYS]."""
    today = user_today(conn, user_id, zone)
    latest = today + timedelta(days=MAX_DAYS)
    if not today <= until <= latest:
        raise HTTPException(
            422,
            f"{field}: {until.isoformat()} is out of range; a snooze runs from today "
            f"({today.isoformat()}) to at most a year ahead ({latest.isoformat()}).",
        )
