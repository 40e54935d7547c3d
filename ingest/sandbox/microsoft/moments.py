"""Event times as the Graph emulator stores them: local wall time plus a zone name.

Written here, not borrowed from the connector (ingest.microsoft.calendar): the emulator
checks the connector's parsing, so sharing that code would mirror a bug and hide it.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import win_tz


def named_zone(name: str) -> ZoneInfo | None:
    """A zone as Graph names it (Windows or IANA, or UTC), None if unknown."""
    if name.strip().upper() in ("UTC", "GMT"):
        return ZoneInfo("UTC")
    try:
        return ZoneInfo(win_tz.get(name.strip(), name.strip()))
    except (ZoneInfoNotFoundError, ValueError):
        return None


def stored_moment(value: object) -> datetime | None:
    """{"dateTime": "2026-03-01T10:00:00.0000000", "timeZone": ...} -> an aware datetime,
    None when it is not one the emulator can place (Graph does not serve those)."""
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        return None
    tz = named_zone(value.get("timeZone") or "UTC")
    if tz is None:
        return None
    try:
        wall = datetime.strptime(value["dateTime"][:19], "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        return None
    return wall.replace(tzinfo=tz)
