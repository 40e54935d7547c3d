"""Graph `event` JSON (calendarView/delta entries) -> Interaction / Removed / Quarantined.

Times come as `dateTimeTimeZone` pairs: a wall-clock time and a zone name that is UTC
(when the connector asks for `outlook.timezone="UTC"`), an IANA name, or a Windows name
("Pacific Standard Time"), which is mapped through the CLDR table tzlocal ships.
An event without an organizer is still a meeting: its organizer is simply unknown.
Resource attendees (rooms, equipment) are not people and are left out; beyond
`MAX_ATTENDEES` attendees the rest are counted in `audience`, not stored (ingest.attendees).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import win_tz

from ..attendees import bound_attendees
from ..clean import clean_address, clean_id, clean_name, clean_text
from ..durations import duration_seconds, too_long_reason
from ..records import Interaction, Item, Participant, Quarantined, Removed
from .mail import normalise_address

# Graph responseType -> the normalised Response of ingest.records.
RESPONSES = {
    "none": "none",
    "organizer": "organizer",
    "tentativelyAccepted": "tentative",
    "accepted": "accepted",
    "declined": "declined",
    "notResponded": "needs_action",
}
SHOW_AS = ("free", "tentative", "busy", "oof", "workingElsewhere", "unknown")


def zone(name: str | None) -> ZoneInfo | None:
    """A dateTimeTimeZone zone name (UTC, IANA or Windows) -> ZoneInfo, None if unknown."""
    if not isinstance(name, str) and name is not None:
        return None
    if not name or name.strip().upper() in ("UTC", "Z", "GMT", "COORDINATED UNIVERSAL TIME"):
        return ZoneInfo("UTC")
    name = name.strip()
    iana = win_tz.get(name, name)
    try:
        return ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def parse_date_time_zone(value: object) -> datetime | None:
    """{"dateTime": "2026-03-01T10:00:00.0000000", "timeZone": "..."} -> aware UTC datetime."""
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        return None
    tz = zone(value.get("timeZone"))
    if tz is None:
        return None
    text = value["dateTime"].strip()
    head, _, fraction = text.partition(".")
    try:
        wall = datetime.fromisoformat(head)
    except ValueError:
        return None
    if fraction:
        digits = "".join(ch for ch in fraction if ch.isdigit())[:6]
        wall = wall.replace(microsecond=int(digits.ljust(6, "0")) if digits else 0)
    if wall.tzinfo is None:
        wall = wall.replace(tzinfo=tz)
    try:
        return wall.astimezone(timezone.utc)
    except OverflowError:  # 9999-12-31T23:00 in a zone west of UTC
        return None


def _person(recipient: object) -> tuple[str | None, str | None]:
    email = recipient.get("emailAddress") if isinstance(recipient, dict) else None
    if not isinstance(email, dict):
        return None, None
    name = email.get("name")
    address = email.get("address")
    return (
        clean_address(normalise_address(address)) if isinstance(address, str) else None,
        clean_name(name) if isinstance(name, str) else None,
    )


def _participants(event: dict[str, Any]) -> tuple[Participant, ...]:
    people: list[Participant] = []
    organizer, organizer_name = _person(event.get("organizer"))
    if organizer:
        people.append(Participant(address=organizer, role="organizer", name=organizer_name, response="organizer"))
    seen = {organizer} if organizer else set()
    attendees = event.get("attendees")
    for attendee in attendees if isinstance(attendees, list) else ():
        if not isinstance(attendee, dict) or attendee.get("type") == "resource":
            continue
        address, name = _person(attendee)
        if not address or address in seen:
            continue
        seen.add(address)
        status = attendee.get("status")
        # A list or an object here would be unhashable: one odd attendee must not fail the page.
        response = status.get("response") if isinstance(status, dict) else None
        people.append(
            Participant(
                address=address,
                role="attendee",
                name=name,
                response=RESPONSES.get(response, "none") if isinstance(response, str) else "none",
            )
        )
    return tuple(people)


def parse_event(event: dict[str, Any], resource: str = "calendar") -> Item:
    """One calendarView/delta entry -> the record Kith keeps (or a reason it cannot)."""
    graph_id = event.get("id") if isinstance(event, dict) else None
    if not isinstance(graph_id, str) or not graph_id:
        return Quarantined(ref="?", reason="event without an id", resource=resource)
    graph_id = clean_id(graph_id)
    if "@removed" in event:
        return Removed(provider_id=graph_id)
    start = parse_date_time_zone(event.get("start"))
    end = parse_date_time_zone(event.get("end"))
    if start is None:
        zone_name = (event.get("start") or {}).get("timeZone") if isinstance(event.get("start"), dict) else None
        reason = (
            f"event start in an unknown time zone: {clean_text(zone_name, 100)}"
            if zone_name and zone(zone_name) is None
            else "event without a readable start"
        )
        return Quarantined(ref=graph_id, reason=reason, excerpt=_excerpt(event), resource=resource)
    duration = duration_seconds(start, end)
    too_long = too_long_reason(duration)
    if too_long is not None:
        return Quarantined(ref=graph_id, reason=too_long, excerpt=_excerpt(event), resource=resource)

    show_as = event.get("showAs") if event.get("showAs") in SHOW_AS else None
    if event.get("isCancelled") is True:
        status = "cancelled"
    elif show_as == "tentative":
        status = "tentative"
    else:
        status = "confirmed"
    series = event.get("seriesMasterId") or event.get("iCalUId")
    participants, audience = bound_attendees(_participants(event))
    return Interaction(
        provider_id=graph_id,
        kind="meeting",
        occurred_at=start,
        participants=participants,
        audience=audience,
        resource=resource,
        thread_id=clean_id(series) if isinstance(series, str) and series else None,
        duration_s=duration,
        all_day=event.get("isAllDay") is True,
        status=status,
        labels=(f"showAs:{show_as}",) if show_as else (),
        is_sent=(event.get("isOrganizer") if isinstance(event.get("isOrganizer"), bool) else None),
    )


def _excerpt(event: dict[str, Any]) -> str:
    keys = ("iCalUId", "type", "isAllDay", "isCancelled")
    lines = [f"{k}: {clean_text(event[k], 200)}" for k in keys if k in event]
    for side in ("start", "end"):
        if isinstance(event.get(side), dict):
            lines.append(clean_text(f"{side}: {event[side].get('dateTime')} {event[side].get('timeZone')}", 200))
    return "\n".join(lines)[:500]
