"""Calendar `Event` JSON (events.list, singleEvents=true) -> Interaction, Removed or Quarantined.

A meeting's provider id is `gcal:<calendar id>:<event id>` (event ids are unique per
calendar only, and must not collide with Gmail ids in the same account). A cancelled
event, or an occurrence cancelled out of a series, is `Removed`: it did not happen. The
organizer is kept with role "organizer" and every human attendee with their response
(resources such as rooms are skipped), the first `MAX_ATTENDEES` of them: a bigger
audience is counted in `audience`, not stored (ingest.attendees). All-day events start at midnight in the event's
(or the calendar's) time zone.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ingest.attendees import bound_attendees
from ingest.clean import clean_address, clean_id, clean_name
from ingest.durations import duration_seconds, too_long_reason
from ingest.records import Interaction, Participant, Quarantined, Removed

UTC = timezone.utc
RESPONSES = {"accepted": "accepted", "declined": "declined", "tentative": "tentative", "needsAction": "needs_action"}


def provider_id(calendar_id: str, event_id: str) -> str:
    return clean_id(f"gcal:{calendar_id}:{event_id}")


def _zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name) if name else ZoneInfo("UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _when(value: object, default_tz: str | None) -> tuple[datetime | None, bool]:
    if not isinstance(value, dict):
        return None, False
    if value.get("dateTime"):
        parsed = datetime.fromisoformat(str(value["dateTime"]).replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=_zone(value.get("timeZone") or default_tz))
        return parsed.astimezone(UTC), False
    if value.get("date"):
        day = date.fromisoformat(str(value["date"]))
        local = datetime.combine(day, time(0), tzinfo=_zone(value.get("timeZone") or default_tz))
        return local.astimezone(UTC), True
    return None, False


def _address(raw: object) -> str | None:
    address = str(raw or "").strip().lower()
    if "@" not in address or " " in address:
        return None
    return clean_address(address)


def parse_event(
    event: dict[str, Any], calendar_id: str, calendar_tz: str | None = None, resource: str | None = None
) -> Interaction | Removed | Quarantined:
    resource = resource or f"calendar:{calendar_id}"
    event_id = str(event.get("id") or "")
    if not event_id:
        return Quarantined(ref="?", reason="event without id", resource=resource)
    pid = provider_id(calendar_id, event_id)
    if event.get("status") == "cancelled":
        return Removed(pid)
    try:
        start, all_day = _when(event.get("start"), calendar_tz)
        end, _ = _when(event.get("end"), calendar_tz)
    except (TypeError, ValueError, OverflowError) as exc:  # OverflowError: the year 9999 in UTC-5
        return Quarantined(
            ref=pid,
            reason=f"unreadable start/end: {type(exc).__name__}",
            excerpt=str({k: event.get(k) for k in ("start", "end")})[:500],
            resource=resource,
        )
    if start is None:
        return Quarantined(ref=pid, reason="event without start", resource=resource)
    duration = duration_seconds(start, end)
    too_long = too_long_reason(duration)
    if too_long is not None:
        return Quarantined(
            ref=pid, reason=too_long, excerpt=str({k: event.get(k) for k in ("start", "end")})[:500], resource=resource
        )
    participants: list[Participant] = []
    organizer = event.get("organizer")
    if not isinstance(organizer, dict):
        organizer = {}
    org_address = _address(organizer.get("email"))
    if org_address:
        participants.append(
            Participant(
                address=org_address,
                role="organizer",
                name=clean_name(organizer.get("displayName")),
                response="organizer",
            )
        )
    attendees = event.get("attendees")
    for attendee in attendees if isinstance(attendees, list) else ():
        if not isinstance(attendee, dict) or attendee.get("resource"):
            continue
        address = _address(attendee.get("email"))
        if address is None:
            continue
        # A list or an object here would be unhashable: one odd attendee must not fail the page.
        status = attendee.get("responseStatus")
        participants.append(
            Participant(
                address=address,
                role="attendee",
                name=clean_name(attendee.get("displayName")),
                response=RESPONSES.get(status, "none") if isinstance(status, str) else "none",
            )
        )
    kept, audience = bound_attendees(participants)
    return Interaction(
        provider_id=pid,
        kind="meeting",
        occurred_at=start,
        participants=kept,
        audience=audience,
        resource=resource,
        thread_id=_maybe_id(event.get("recurringEventId")),
        message_id=_maybe_id(event.get("iCalUID")),
        duration_s=duration,
        all_day=all_day,
        status="tentative" if event.get("status") == "tentative" else "confirmed",
    )


def _maybe_id(value: object) -> str | None:
    return clean_id(value) if isinstance(value, str) and value else None
