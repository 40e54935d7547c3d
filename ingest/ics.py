"""The .ics importer: every VEVENT of an iCalendar file as a meeting, recurrences expanded.

    IcsConnector(path).pages("ics", cursor) -> Page(items, cursor="<n>:<file digest>")

Parsing and time zones are `icalendar`'s (VTIMEZONE blocks, TZID parameters, Windows zone
names); recurrences (RRULE, RDATE, EXDATE, overridden instances with RECURRENCE-ID) are
expanded with `dateutil.rrule` in the event's own zone, so a weekly 10:00 in Europe/Madrid
stays 10:00 local across DST changes while `occurred_at` moves in UTC.

Three modules, one job each: this one reads the file (is it iCalendar, whose calendar, the
cursor and pages); ingest.ics_expansion turns events into items within the window and the
bounds below; ingest.ics_event reads one VEVENT's properties (people, ids, excerpt).

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
from collections.abc import Iterator
from datetime import datetime
from itertools import islice

from icalendar import Calendar

from .addresses import normalize_address
from .clean import clean_address
from .errors import CursorExpired, InputError
from .files import FileConnector
from .ics_expansion import FILE_DEADLINE_S, FILE_INSTANCES, FILE_ITERATIONS, MAX_INSTANCES, Reader
from .records import Item, Page

__all__ = ["IcsConnector", "read_calendar", "FILE_DEADLINE_S", "FILE_INSTANCES", "FILE_ITERATIONS", "MAX_INSTANCES"]

log = logging.getLogger(__name__)


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
    reader = Reader(resource, max_instances)
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
