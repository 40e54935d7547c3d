"""One VEVENT's properties, read safely: who took part, its ids and an excerpt for quarantine.

Pure helpers of the .ics importer (ingest.ics); icalendar's components are untyped, so an
event is whatever `Calendar.walk("VEVENT")` yields and every property may be missing,
repeated or malformed in a hostile file.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from typing import Any

from .addresses import normalize_address
from .clean import clean_address, clean_id, clean_name, clean_text
from .records import Participant
from .recurrence import as_utc as _utc

EXCERPT_LIMIT = 2048
_EXCERPT_PROPS = ("UID", "SUMMARY", "DTSTART", "DTEND", "RECURRENCE-ID", "RRULE", "STATUS", "ORGANIZER")
_PARTSTAT = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative", "NEEDS-ACTION": "needs_action"}
STATUS = {"CANCELLED": "cancelled", "TENTATIVE": "tentative"}
# icalendar's components are untyped: an event is whatever Calendar.walk("VEVENT") yields.
Event = Any
# (event, its start, its RECURRENCE-ID or None); a start is a date (all day) or a datetime.
Readable = tuple[Event, date, date | None]


def instance_key(value: date | None) -> object:
    return value if not isinstance(value, datetime) else _utc(value)


def rid_text(value: date) -> str:
    if not isinstance(value, datetime):
        return value.isoformat()
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def participants(event: Event) -> tuple[Participant, ...]:
    out: list[Participant] = []
    seen: set[tuple[str, str]] = set()
    organizer = single(event.get("ORGANIZER"))
    attendees = event.get("ATTENDEE") or []
    if not isinstance(attendees, list):
        attendees = [attendees]
    people = [("organizer", organizer)] if organizer is not None else []
    for role, value in people + [("attendee", a) for a in attendees]:
        params = getattr(value, "params", {}) or {}
        if role == "attendee" and str(params.get("CUTYPE", "")).upper() in ("ROOM", "RESOURCE"):
            continue
        address = clean_address(normalize_address(str(value)))
        if address is None or (address, role) in seen:
            continue
        seen.add((address, role))
        name = clean_name(str(params.get("CN", "")).strip().strip('"'))
        response = (
            "organizer"
            if role == "organizer"
            else _PARTSTAT.get(str(params.get("PARTSTAT", "NEEDS-ACTION")).upper(), "none")
        )
        out.append(Participant(address, role, name, response))
    return tuple(out)


def event_uid(event: Event) -> str:
    return clean_id(str(single(event.get("UID")) or "")) or ""


def single(value: Any) -> Any:
    """A property that should occur once, when a broken file repeats it: the first."""
    return value[0] if isinstance(value, list) and value else value


def sequence(event: Event) -> int:
    try:
        return int(event.get("SEQUENCE", 0))
    except (TypeError, ValueError):
        return 0


def content_id(people_of_event: tuple[tuple[Participant, ...], int | None], start: date) -> str:
    people = ",".join(p.address for p in people_of_event[0])
    return "sha1:" + hashlib.sha1(f"{start!r}|{people}".encode()).hexdigest()


def raw(value: Any) -> str:
    """A property as the file wrote it (as far as icalendar can say)."""
    try:
        text = value.to_ical()
        return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    except Exception:
        return str(value)


def excerpt(event: Event) -> str:
    lines = [
        f"{prop}:{clean_text(raw(event.get(prop)), EXCERPT_LIMIT) or ''}"
        for prop in _EXCERPT_PROPS
        if event.get(prop) is not None
    ]
    return "\n".join(lines)[:EXCERPT_LIMIT]
