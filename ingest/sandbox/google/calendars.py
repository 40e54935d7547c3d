"""The emulator's Google Calendar: calendars of one user, their events and change log.

Events are stored already expanded the way `events.list(singleEvents=true)` shows them
(one entry per occurrence, ids `<series>_<UTC stamp>`). Every change bumps the calendar's
sequence; a sync token names a sequence, and `events.list(syncToken)` returns what changed
after it, deleted events included as `status: cancelled`. Tokens older than `token_floor`
are gone (410), as Google's are after a while.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc


@dataclass
class StoredEvent:
    id: str
    ical_uid: str
    start: datetime
    end: datetime
    timezone: str
    all_day: bool
    organizer: tuple[str, str]
    attendees: tuple[tuple[str, str, str], ...]
    status: str = "confirmed"
    recurring_event_id: str | None = None
    original_start: datetime | None = None
    sequence: int = 0
    summary: str = ""
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated: datetime = field(default_factory=lambda: datetime.now(UTC))
    changed_seq: int = 0


@dataclass
class Calendar:
    id: str
    summary: str
    timezone: str = "UTC"
    primary: bool = False
    access_role: str = "owner"
    events: dict[str, StoredEvent] = field(default_factory=dict)
    seq: int = 0
    token_floor: int = 0
    epoch: int = 0  # bumped when Google forgets this calendar's sync tokens
    lock: threading.RLock = field(default_factory=threading.RLock)

    def put(self, event: StoredEvent) -> StoredEvent:
        with self.lock:
            self.seq += 1
            event.changed_seq = self.seq
            event.updated = datetime.now(UTC)
            self.events[event.id] = event
            return event

    def cancel(self, event_id: str) -> bool:
        with self.lock:
            event = self.events.get(event_id)
            if event is None or event.status == "cancelled":
                return False
            event.status = "cancelled"
            event.sequence += 1
            self.put(event)
            return True

    def expire_tokens(self) -> None:
        with self.lock:
            self.token_floor = self.seq
            self.epoch += 1

    def ordered(self) -> list[StoredEvent]:
        with self.lock:
            return sorted(self.events.values(), key=lambda e: (e.start.astimezone(UTC), e.id))

    def changed_after(self, seq: int, epoch: int = 0) -> list[StoredEvent] | None:
        with self.lock:
            if epoch != self.epoch or seq < self.token_floor or seq > self.seq:
                return None
            return sorted((e for e in self.events.values() if e.changed_seq > seq), key=lambda e: (e.changed_seq, e.id))


def stored_from_world(event) -> StoredEvent:
    return StoredEvent(
        id=event.id,
        ical_uid=event.ical_uid,
        start=event.start,
        end=event.end,
        timezone=event.timezone,
        all_day=event.all_day,
        organizer=tuple(event.organizer),
        attendees=tuple(tuple(a) for a in event.attendees),
        status=event.status,
        recurring_event_id=event.recurring_event_id,
        original_start=event.original_start,
        sequence=event.sequence,
        summary=getattr(event, "summary", "") or "",
    )


def expand_world_events(events, until: datetime) -> list[StoredEvent]:
    """Occurrences of the world's events up to `until` (an open series stops there)."""
    out = []
    for event in events:
        for occurrence in event.instances(until=until):
            out.append(stored_from_world(occurrence))
    return out


def _rfc3339(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _time(value: datetime, tz: str, all_day: bool) -> dict:
    if all_day:
        return {"date": value.astimezone(ZoneInfo(tz)).date().isoformat() if value.tzinfo else value.date().isoformat()}
    local = value.astimezone(ZoneInfo(tz))
    return {"dateTime": local.isoformat(), "timeZone": tz}


def event_json(event: StoredEvent, calendar: Calendar, owner: str) -> dict:
    """The Calendar API `Event` resource (calendar.v3 discovery schema)."""
    body: dict = {
        "kind": "calendar#event",
        "etag": f'"{event.changed_seq}"',
        "id": event.id,
        "status": event.status,
        "updated": _rfc3339(event.updated),
    }
    if event.status == "cancelled" and event.recurring_event_id is None:
        return body  # a deleted event in an incremental sync: id and status only
    org_name, org_address = event.organizer
    body.update(
        {
            "created": _rfc3339(event.created),
            "iCalUID": event.ical_uid,
            "sequence": event.sequence,
            "organizer": {
                "email": org_address,
                **({"displayName": org_name} if org_name else {}),
                **({"self": True} if org_address.lower() == owner else {}),
            },
            "start": _time(event.start, event.timezone, event.all_day),
            "end": _time(event.end, event.timezone, event.all_day),
            "eventType": "default",
        }
    )
    if event.summary:
        body["summary"] = event.summary
    if event.recurring_event_id:
        body["recurringEventId"] = event.recurring_event_id
        body["originalStartTime"] = _time(event.original_start or event.start, event.timezone, event.all_day)
    if event.attendees:
        attendees = []
        for name, address, response in event.attendees:
            entry = {"email": address, "responseStatus": response}
            if name:
                entry["displayName"] = name
            if address.lower() == org_address.lower():
                entry["organizer"] = True
            if address.lower() == owner:
                entry["self"] = True
            attendees.append(entry)
        body["attendees"] = attendees
    return body


def default_horizon(as_of: datetime) -> datetime:
    return as_of + timedelta(days=365)
