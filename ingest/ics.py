"""The .ics importer: every VEVENT of an iCalendar file as a meeting, recurrences expanded.

    IcsConnector(path).pages("ics", cursor) -> Page(items, cursor="<n>:<file digest>")

Parsing and time zones are `icalendar`'s (VTIMEZONE blocks, TZID parameters, Windows zone
names); recurrences (RRULE, RDATE, EXDATE, overridden instances with RECURRENCE-ID) are
expanded with `dateutil.rrule` in the event's own zone, so a weekly 10:00 in Europe/Madrid
stays 10:00 local across DST changes while `occurred_at` moves in UTC.

Choices worth knowing:
- Window: by default from the earliest DTSTART in the file to the latest DTSTART or UNTIL
  plus 90 days, but never more than two years past the newest event start. Non-recurring
  events and overridden instances are always kept (they are concrete); the window only
  bounds expansion. Expansion is bounded besides (ingest.recurrence): `max_instances` per
  series (100 for sub-daily rules), an iteration budget per series that catches rules
  which never match, FILE_INSTANCES and FILE_ITERATIONS per file, and a deadline. What a
  bound cuts is quarantined under the series' UID with the reason and what was kept.
- Attendees: at most MAX_ATTENDEES per event; the true number of people is kept in
  `audience` and the event quarantined with the reason (ingest.attendees). A DTSTART
  outside the years 1900-2199 is quarantined.
- Pages are made as series are expanded, so a long file shows progress from the start
  (total unknown until the last page).
- Floating times (no zone, or a TZID nobody defines) are read as UTC; `notes` says how many.
- Ids: UID for single events, UID + "/" + the instance's original start (UTC, or the date
  for all-day events) for instances. Without a UID, a hash of start and people.
  Repeated single events with one UID keep the highest SEQUENCE. RANGE=THISANDFUTURE is
  treated as an override of that one instance.
- Rooms and resources (CUTYPE=ROOM/RESOURCE) are not people and are left out.
- A file is a snapshot, so every import is a full sync (`full_sync` pages: what is not in
  the file any more is dropped when the round completes). The cursor is the number of items
  delivered plus a digest of the file ("500:<digest>"), "done:<digest>" after the last page:
  an unchanged file then gives one empty page, a changed one expires the cursor
  (CursorExpired) and is imported again in full.
"""

from __future__ import annotations

import codecs
import hashlib
import logging
import os
import time as time_
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone
from itertools import islice
from typing import Any
from collections.abc import Iterator

from icalendar import Calendar

from .addresses import normalize_address
from .attendees import MAX_ATTENDEES, bound_attendees, over_cap_reason
from .clean import clean_address, clean_id, clean_name, clean_text
from .errors import CursorExpired, InputError
from .files import FileConnector
from .records import Interaction, Item, Page, Participant, Quarantined
from .recurrence import ITERATIONS, Budget, Unreadable, expand
from .recurrence import as_utc as _utc

__all__ = ["IcsConnector", "read_calendar"]

log = logging.getLogger(__name__)

MAX_INSTANCES = 2000
TAIL = timedelta(days=90)
HORIZON = timedelta(days=730)
EXCERPT_LIMIT = 2048
_EXCERPT_PROPS = ("UID", "SUMMARY", "DTSTART", "DTEND", "RECURRENCE-ID", "RRULE", "STATUS", "ORGANIZER")
_PARTSTAT = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative", "NEEDS-ACTION": "needs_action"}
_STATUS = {"CANCELLED": "cancelled", "TENTATIVE": "tentative"}
# A whole file's recurrences together: beyond these, series keep their first occurrence.
FILE_INSTANCES = 50_000
FILE_ITERATIONS = 2_000_000
FILE_DEADLINE_S = 30.0
# Starts outside these years are typos or attacks; datetime arithmetic near year 1 and
# 9999 overflows, and a meeting in 0001 or 9999 would skew every rhythm it touches.
YEARS = range(1900, 2200)
_Unreadable = Unreadable
# icalendar's components are untyped: an event is whatever Calendar.walk("VEVENT") yields.
Event = Any
# (event, its start, its RECURRENCE-ID or None); a start is a date (all day) or a datetime.
Readable = tuple[Event, date, date | None]


def read_calendar(
    data: bytes,
    name: str = "calendar.ics",
    *,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    max_instances: int = MAX_INSTANCES,
    resource: str = "ics",
) -> tuple[list[Item], list[str], list[str]]:
    """(items, own addresses, notes) of an iCalendar document. Raises InputError if it is not one."""
    own, notes, items = calendar_items(
        data, name, window_start=window_start, window_end=window_end, max_instances=max_instances, resource=resource
    )
    return list(items), own, notes


def calendar_items(
    data: bytes,
    name: str = "calendar.ics",
    *,
    window_start: datetime | None = None,
    window_end: datetime | None = None,
    max_instances: int = MAX_INSTANCES,
    resource: str = "ics",
) -> tuple[list[str], list[str], Iterator[Item]]:
    """(own addresses, notes, items as they are expanded): a long file shows progress
    page by page instead of expanding everything first. Raises InputError if it is not
    an iCalendar document."""
    head = data.lstrip(codecs.BOM_UTF8).lstrip()
    if not head[:15].upper().startswith(b"BEGIN:VCALENDAR"):
        raise InputError(f"{name} is not an iCalendar file: it does not start with BEGIN:VCALENDAR")
    try:
        calendars = Calendar.from_ical(data, multiple=True)
    except Exception as exc:  # icalendar raises bare ValueErrors and friends on broken files
        raise InputError(f"{name} is not a readable iCalendar file: {str(exc)[:200]}") from None
    if not calendars:
        raise InputError(f"{name} is not a readable iCalendar file: no complete VCALENDAR (truncated?)")
    reader = _Reader(resource, max_instances)
    events = [e for cal in calendars for e in cal.walk("VEVENT")]
    readable = [e for e in (reader.start(n, e) for n, e in enumerate(events)) if e is not None]
    own = []
    for cal in calendars:
        owner = clean_address(normalize_address(str(cal.get("X-WR-CALNAME", ""))))
        if owner and owner not in own:
            own.append(owner)
    notes = []
    if reader.floating:
        notes.append(f"{name}: floating times (no time zone) in {reader.floating} event(s), read as UTC")
        log.warning(notes[-1])
    return own, notes, reader.run(readable, window_start, window_end)


class _Reader:
    def __init__(self, resource: str, max_instances: int):
        self.resource, self.max_instances = resource, max_instances
        self.items: list[Item] = []
        self.floating = 0
        self.instances_left = FILE_INSTANCES
        self.iterations_left = FILE_ITERATIONS
        self.deadline = 0.0
        self.people: dict[int, tuple[tuple[Participant, ...], int | None]] = {}
        self.problems: dict[str, tuple[list[str], str]] = {}

    def run(
        self, readable: list[Readable], window_start: datetime | None, window_end: datetime | None
    ) -> Iterator[Item]:
        yield from self._drain()  # what start() quarantined
        self.deadline = time_.monotonic() + FILE_DEADLINE_S
        ws, we = _window(readable, window_start, window_end)
        masters: dict[str, tuple[Event, date]] = {}
        overrides: dict[str, list[Readable]] = defaultdict(list)
        for event, start, rid in readable:
            uid = _uid(event) or _content_id(self._people(event), start)
            if rid is not None:
                overrides[uid].append((event, start, rid))
            elif uid not in masters or _sequence(event) >= _sequence(masters[uid][0]):
                masters[uid] = (event, start)
        for uid, (event, start) in masters.items():
            self.series(uid, event, start, overrides.pop(uid, []), ws, we)
            yield from self._drain()
        for uid, orphans in overrides.items():  # instances whose series is not in the file
            for event, start, rid in orphans:
                self.emit(uid, event, start, rid)
            yield from self._drain()
        for ref, (reasons, excerpt) in self.problems.items():
            yield Quarantined(ref, "; ".join(reasons), excerpt, self.resource)

    def _drain(self) -> list[Item]:
        items, self.items = self.items, []
        return items

    def quarantine(self, ref: str, reason: str, event: Event) -> None:
        reason = clean_text(reason, 1000) or "unreadable"
        reasons, _ = self.problems.setdefault(ref, ([], _excerpt(event)))
        if reason not in reasons:
            reasons.append(reason)

    def start(self, n: int, event: Event) -> Readable | None:
        """(event, start, recurrence-id or None), or None after quarantining an event
        without a usable DTSTART or RECURRENCE-ID."""
        prop = event.get("DTSTART")
        try:
            if prop is None:
                raise _Unreadable("VEVENT without DTSTART")
            value = prop.dt
            if not isinstance(value, date):  # a period or duration where a start belongs
                raise ValueError(value)
            if value.year not in YEARS:
                raise _Unreadable(f"DTSTART in the year {value.year}, outside {YEARS.start}-{YEARS.stop - 1}")
            rid_prop = event.get("RECURRENCE-ID")
            try:
                rid = rid_prop.dt if rid_prop is not None else None
                if rid is not None and not isinstance(rid, date):
                    raise ValueError(rid)
                _utc(rid if rid is not None else value)  # a zone offset at the edge of time overflows
            except Exception:
                raise _Unreadable(f"unreadable RECURRENCE-ID: {_raw(rid_prop)[:100]!r}") from None
            if isinstance(value, datetime) and value.tzinfo is None:
                self.floating += 1
            return event, value, rid
        except _Unreadable as exc:
            reason = str(exc)
        except Exception:
            reason = f"unreadable DTSTART: {_raw(prop)[:100]!r}"
        ref = _uid(event) or f"VEVENT #{n + 1}"
        self.items.append(Quarantined(ref, reason, _excerpt(event), self.resource))
        return None

    def series(
        self, uid: str, event: Event, start: date, overrides: list[Readable], ws: datetime, we: datetime
    ) -> None:
        by_rid = {_key(rid): (o, s, rid) for o, s, rid in overrides}
        if event.get("RRULE") is None and event.get("RDATE") is None:
            self.emit(uid, event, start, None)
        else:
            cap = max(1, min(self.max_instances, self.instances_left))
            budget = Budget(max(1, min(ITERATIONS, self.iterations_left)), self.deadline)
            try:
                expansion = expand(event, start, ws, we, cap=cap, budget=budget)
                instances = expansion.instances
                if expansion.problem:
                    shared = f" (the file's series may give at most {FILE_INSTANCES} instances in all)"
                    self.quarantine(uid, expansion.problem + (shared if cap < self.max_instances else ""), event)
            except Exception as exc:
                self.quarantine(uid, f"unreadable recurrence ({str(exc)[:120]}); only the first occurrence kept", event)
                instances = [start]
            self.iterations_left -= budget.spent
            self.instances_left -= len(instances)
            for instance in instances:
                override = by_rid.pop(_key(instance), None)
                if override is not None:
                    self.emit(uid, override[0], override[1], instance)
                else:
                    self.emit(uid, event, instance, instance)
        for o, s, rid in by_rid.values():
            self.emit(uid, o, s, rid)

    def _people(self, event: Event) -> tuple[tuple[Participant, ...], int | None]:
        # Once per VEVENT, not once per instance: a series repeats the same attendee list.
        key = id(event)
        if key not in self.people:
            self.people[key] = bound_attendees(_participants(event), MAX_ATTENDEES)
        return self.people[key]

    def emit(self, uid: str, event: Event, start: date, recurrence_id: date | None) -> None:
        provider_id = uid if recurrence_id is None else f"{uid}/{_rid_text(recurrence_id)}"
        all_day = not isinstance(start, datetime)
        try:
            duration = event.duration
        except Exception:
            duration = timedelta(days=1) if all_day else timedelta(0)
        status = _STATUS.get(str(event.get("STATUS", "")).upper(), "confirmed")
        participants, audience = self._people(event)
        if audience is not None:
            self.quarantine(
                uid if event.get("RECURRENCE-ID") is None else provider_id,
                over_cap_reason(audience, MAX_ATTENDEES),
                event,
            )
        self.items.append(
            Interaction(
                provider_id=provider_id,
                kind="meeting",
                occurred_at=_utc(start),
                participants=participants,
                resource=self.resource,
                thread_id=uid,
                duration_s=max(0, int(duration.total_seconds())),
                all_day=all_day,
                status=status,
                audience=audience,
            )
        )


def _window(
    readable: list[Readable], window_start: datetime | None, window_end: datetime | None
) -> tuple[datetime, datetime]:
    starts = [_utc(s) for _, s, _ in readable]
    if not starts:
        now = datetime.now(timezone.utc)
        return window_start or now, window_end or now
    ends = list(starts)
    for event, _, _ in readable:
        try:
            ends.extend(_utc(u) for rule in event.rrules if hasattr(rule, "get") for u in rule.get("UNTIL") or [])
        except Exception:  # a broken rule is reported when the series is expanded
            pass
    ws = window_start or min(starts)
    we = window_end or min(_later(max(ends), TAIL), _later(max(starts), HORIZON))
    return _utc(ws), _utc(we)


def _later(moment: datetime, delta: timedelta) -> datetime:
    try:
        return moment + delta
    except OverflowError:  # an UNTIL in the year 9999
        return datetime.max.replace(tzinfo=timezone.utc)


def _key(value: date | None) -> object:
    return value if not isinstance(value, datetime) else _utc(value)


def _rid_text(value: date) -> str:
    if not isinstance(value, datetime):
        return value.isoformat()
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _participants(event: Event) -> tuple[Participant, ...]:
    out: list[Participant] = []
    seen: set[tuple[str, str]] = set()
    organizer = _single(event.get("ORGANIZER"))
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


def _uid(event: Event) -> str:
    return clean_id(str(_single(event.get("UID")) or "")) or ""


def _single(value: Any) -> Any:
    """A property that should occur once, when a broken file repeats it: the first."""
    return value[0] if isinstance(value, list) and value else value


def _sequence(event: Event) -> int:
    try:
        return int(event.get("SEQUENCE", 0))
    except (TypeError, ValueError):
        return 0


def _content_id(people_of_event: tuple[tuple[Participant, ...], int | None], start: date) -> str:
    people = ",".join(p.address for p in people_of_event[0])
    return "sha1:" + hashlib.sha1(f"{start!r}|{people}".encode()).hexdigest()


def _raw(value: Any) -> str:
    """A property as the file wrote it (as far as icalendar can say)."""
    try:
        text = value.to_ical()
        return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    except Exception:
        return str(value)


def _excerpt(event: Event) -> str:
    lines = [
        f"{prop}:{clean_text(_raw(event.get(prop)), EXCERPT_LIMIT) or ''}"
        for prop in _EXCERPT_PROPS
        if event.get(prop) is not None
    ]
    return "\n".join(lines)[:EXCERPT_LIMIT]


class IcsConnector(FileConnector):
    """An .ics file as one resource, delivered in pages of `page_size` items."""

    provider = "ics"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        resource: str = "ics",
        window_start: datetime | None = None,
        window_end: datetime | None = None,
        page_size: int = 500,
        max_instances: int = MAX_INSTANCES,
    ):
        super().__init__(path, resource=resource, page_size=max(1, int(page_size)))
        self.window_start, self.window_end = window_start, window_end
        self.max_instances = max_instances
        self.notes: list[str] = []

    def _read(self, cursor: str | None) -> Iterator[Page]:
        data = self._read_bytes()
        digest = hashlib.sha256(data).hexdigest()[:16]
        done = 0
        if cursor:
            count, _, seen_digest = cursor.partition(":")
            if seen_digest != digest or not (count.isdigit() or count == "done"):
                raise CursorExpired(f"{self.name} changed since the last import")
            if count == "done":  # imported in full before and unchanged: nothing to do
                yield Page((), cursor=cursor, complete=True, progress=(0, 0))
                return
            done = int(count)
        self._own, self.notes, stream = calendar_items(
            data,
            self.name,
            window_start=self.window_start,
            window_end=self.window_end,
            max_instances=self.max_instances,
            resource=self.resource,
        )
        # The same file expands to the same items in the same order: skip what was delivered.
        for batch, complete in self._batches(islice(stream, done, None)):
            done += len(batch)
            yield Page(
                batch,
                cursor=f"{'done' if complete else done}:{digest}",
                complete=complete,
                full_sync=True,
                own_addresses=tuple(self._own),
                progress=(done, done if complete else None),
            )
