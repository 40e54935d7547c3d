"""The .ics importer: every VEVENT of an iCalendar file as a meeting, recurrences expanded.

    IcsConnector(path).pages("ics", cursor) -> Page(items, cursor="<n>:<file digest>")

Parsing and time zones are `icalendar`'s (VTIMEZONE blocks, TZID parameters, Windows zone
names); recurrences (RRULE, RDATE, EXDATE, overridden instances with RECURRENCE-ID) are
expanded with `dateutil.rrule` in the event's own zone, so a weekly 10:00 in Europe/Madrid
stays 10:00 local across DST changes while `occurred_at` moves in UTC.

Choices worth knowing:
- Window: by default from the earliest DTSTART in the file to the latest DTSTART or UNTIL
  plus 90 days, but never more than two years past the newest event start, and at most
  `max_instances` instances per series. Non-recurring events and overridden instances are
  always kept (they are concrete); the window only bounds expansion.
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
from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone
from itertools import islice
from pathlib import Path
from typing import Iterator

from dateutil.rrule import rruleset, rrulestr
from icalendar import Calendar

from .addresses import normalize_address
from .connector import Connector
from .errors import CursorExpired, InputError
from .records import Interaction, Item, Page, Participant, Quarantined

__all__ = ["IcsConnector", "read_calendar"]

log = logging.getLogger(__name__)

MAX_INSTANCES = 2000
TAIL = timedelta(days=90)
HORIZON = timedelta(days=730)
EXCERPT_LIMIT = 2048
_EXCERPT_PROPS = ("UID", "SUMMARY", "DTSTART", "DTEND", "RECURRENCE-ID", "RRULE", "STATUS", "ORGANIZER")
_PARTSTAT = {"ACCEPTED": "accepted", "DECLINED": "declined", "TENTATIVE": "tentative",
             "NEEDS-ACTION": "needs_action"}
_STATUS = {"CANCELLED": "cancelled", "TENTATIVE": "tentative"}
_RRULE_KEYS = {"FREQ", "INTERVAL", "COUNT", "BYSECOND", "BYMINUTE", "BYHOUR", "BYDAY",
               "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYMONTH", "BYSETPOS", "WKST"}


class _Unreadable(ValueError):
    pass


def read_calendar(data: bytes, name: str = "calendar.ics", *, window_start: datetime | None = None,
                  window_end: datetime | None = None, max_instances: int = MAX_INSTANCES,
                  resource: str = "ics") -> tuple[list[Item], list[str], list[str]]:
    """(items, own addresses, notes) of an iCalendar document. Raises InputError if it is not one."""
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
    ws, we = _window(readable, window_start, window_end)
    masters: dict[str, tuple] = {}
    overrides: dict[str, list] = defaultdict(list)
    for event, start, rid in readable:
        uid = str(_single(event.get("UID")) or "") or _content_id(event, start)
        if rid is not None:
            overrides[uid].append((event, start, rid))
        elif uid not in masters or _sequence(event) >= _sequence(masters[uid][0]):
            masters[uid] = (event, start)
    for uid, (event, start) in masters.items():
        reader.series(uid, event, start, overrides.pop(uid, []), ws, we)
    for uid, orphans in overrides.items():  # instances whose series is not in the file
        for event, start, rid in orphans:
            reader.emit(uid, event, start, rid)
    own = []
    for cal in calendars:
        owner = normalize_address(str(cal.get("X-WR-CALNAME", "")))
        if owner and owner not in own:
            own.append(owner)
    notes = []
    if reader.floating:
        notes.append(f"{name}: floating times (no time zone) in {reader.floating} event(s), read as UTC")
        log.warning(notes[-1])
    return reader.items, own, notes


class _Reader:
    def __init__(self, resource: str, max_instances: int):
        self.resource, self.max_instances = resource, max_instances
        self.items: list[Item] = []
        self.floating = 0

    def start(self, n: int, event) -> tuple | None:
        """(event, start, recurrence-id or None), or None after quarantining an event
        without a usable DTSTART or RECURRENCE-ID."""
        prop = event.get("DTSTART")
        try:
            if prop is None:
                raise _Unreadable("VEVENT without DTSTART")
            value = prop.dt
            if not isinstance(value, date):  # a period or duration where a start belongs
                raise ValueError(value)
            rid_prop = event.get("RECURRENCE-ID")
            try:
                rid = rid_prop.dt if rid_prop is not None else None
                if rid is not None and not isinstance(rid, date):
                    raise ValueError(rid)
            except Exception:
                raise _Unreadable(f"unreadable RECURRENCE-ID: {_raw(rid_prop)[:100]!r}") from None
            if isinstance(value, datetime) and value.tzinfo is None:
                self.floating += 1
            return event, value, rid
        except _Unreadable as exc:
            reason = str(exc)
        except Exception:
            reason = f"unreadable DTSTART: {_raw(prop)[:100]!r}"
        ref = str(_single(event.get("UID")) or f"VEVENT #{n + 1}")
        self.items.append(Quarantined(ref, reason, _excerpt(event), self.resource))
        return None

    def series(self, uid: str, event, start, overrides: list, ws: datetime, we: datetime) -> None:
        by_rid = {_key(rid): (o, s, rid) for o, s, rid in overrides}
        if event.get("RRULE") is None and event.get("RDATE") is None:
            self.emit(uid, event, start, None)
        else:
            try:
                instances = _expand(event, start, ws, we, self.max_instances)
            except Exception as exc:
                self.items.append(Quarantined(uid, f"unreadable recurrence ({str(exc)[:120]}); "
                                              "only the first occurrence kept", _excerpt(event), self.resource))
                instances = [start]
            for instance in instances:
                override = by_rid.pop(_key(instance), None)
                if override is not None:
                    self.emit(uid, override[0], override[1], instance)
                else:
                    self.emit(uid, event, instance, instance)
        for o, s, rid in by_rid.values():
            self.emit(uid, o, s, rid)

    def emit(self, uid: str, event, start, recurrence_id) -> None:
        provider_id = uid if recurrence_id is None else f"{uid}/{_rid_text(recurrence_id)}"
        all_day = not isinstance(start, datetime)
        try:
            duration = event.duration
        except Exception:
            duration = timedelta(days=1) if all_day else timedelta(0)
        status = _STATUS.get(str(event.get("STATUS", "")).upper(), "confirmed")
        self.items.append(Interaction(
            provider_id=provider_id, kind="meeting", occurred_at=_utc(start),
            participants=_participants(event), resource=self.resource, thread_id=uid,
            duration_s=max(0, int(duration.total_seconds())), all_day=all_day, status=status))


def _expand(event, start, ws: datetime, we: datetime, cap: int) -> list:
    """Instance starts of a recurring master within [ws, we], in the event's own zone."""
    all_day = not isinstance(start, datetime)
    base = datetime.combine(start, time()) if all_day else start
    aware = base.tzinfo is not None
    rs = rruleset()
    for rule in event.rrules:
        if not hasattr(rule, "items"):
            raise _Unreadable(f"RRULE {str(rule)[:60]!r}")
        parts = {k: v for k, v in rule.items() if k in _RRULE_KEYS}
        text = ";".join(f"{k}={','.join(_rrule_value(x) for x in v)}" for k, v in parts.items())
        rr = rrulestr(text, dtstart=base)
        until, count = rule.get("UNTIL"), rule.get("COUNT")
        if until and not count:  # both is invalid (RFC 5545): COUNT is the safer bound
            rr = rr.replace(until=_align(until[0], base, end_of_day=True))
        # RFC 5545 3.3.10: DTSTART always counts as the first occurrence, also when the
        # rule would not produce it; dateutil would then make COUNT one too many.
        if count and next(iter(rr), None) != base:
            if int(count[0]) <= 1:
                continue
            rr = rr.replace(count=int(count[0]) - 1)
        rs.rrule(rr)
    rs.rdate(base)
    for value in event.rdates:
        rs.rdate(_align(value[0] if isinstance(value, tuple) else value, base))
    for value in event.exdates:
        rs.exdate(_align(value, base))
    lo, hi = (ws, we) if aware else (ws.replace(tzinfo=None), we.replace(tzinfo=None))
    out = []
    for instance in islice(rs.xafter(lo, inc=True), cap):
        if instance > hi:
            break
        out.append(instance.date() if all_day else instance)
    return out


def _rrule_value(value) -> str:
    if isinstance(value, (datetime, date)):
        return value.strftime("%Y%m%dT%H%M%S")
    if hasattr(value, "to_ical"):
        data = value.to_ical()
        return data.decode() if isinstance(data, bytes) else str(data)
    return str(value)


def _align(value, base: datetime, end_of_day: bool = False) -> datetime:
    """`value` in the same form (aware or naive) as the series start `base`."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(23, 59, 59) if end_of_day else base.timetz().replace(tzinfo=None))
        if base.tzinfo is not None:
            value = value.replace(tzinfo=base.tzinfo)
        return value
    if base.tzinfo is None:
        return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
    return value.replace(tzinfo=base.tzinfo) if value.tzinfo is None else value


def _window(readable: list, window_start, window_end) -> tuple[datetime, datetime]:
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
    we = window_end or min(max(ends) + TAIL, max(starts) + HORIZON)
    return _utc(ws), _utc(we)


def _utc(value) -> datetime:
    if not isinstance(value, datetime):
        return datetime.combine(value, time(), tzinfo=timezone.utc)
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def _key(value) -> object:
    return value if not isinstance(value, datetime) else _utc(value)


def _rid_text(value) -> str:
    if not isinstance(value, datetime):
        return value.isoformat()
    return _utc(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _participants(event) -> tuple[Participant, ...]:
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
        address = normalize_address(str(value))
        if address is None or (address, role) in seen:
            continue
        seen.add((address, role))
        name = str(params.get("CN", "")).strip().strip('"') or None
        response = "organizer" if role == "organizer" else _PARTSTAT.get(
            str(params.get("PARTSTAT", "NEEDS-ACTION")).upper(), "none")
        out.append(Participant(address, role, name, response))
    return tuple(out)


def _single(value):
    """A property that should occur once, when a broken file repeats it: the first."""
    return value[0] if isinstance(value, list) and value else value


def _sequence(event) -> int:
    try:
        return int(event.get("SEQUENCE", 0))
    except (TypeError, ValueError):
        return 0


def _content_id(event, start) -> str:
    people = ",".join(p.address for p in _participants(event))
    return "sha1:" + hashlib.sha1(f"{start!r}|{people}".encode()).hexdigest()


def _raw(value) -> str:
    """A property as the file wrote it (as far as icalendar can say)."""
    try:
        text = value.to_ical()
        return text.decode("utf-8", "replace") if isinstance(text, bytes) else str(text)
    except Exception:
        return str(value)


def _excerpt(event) -> str:
    lines = [f"{prop}:{_raw(event.get(prop))}" for prop in _EXCERPT_PROPS if event.get(prop) is not None]
    return "\n".join(lines)[:EXCERPT_LIMIT]


class IcsConnector(Connector):
    """An .ics file as one resource, delivered in pages of `page_size` items."""

    provider = "ics"

    def __init__(self, path: str | os.PathLike, *, resource: str = "ics", window_start: datetime | None = None,
                 window_end: datetime | None = None, page_size: int = 500, max_instances: int = MAX_INSTANCES):
        self.path, self.resource = Path(path), resource
        self.window_start, self.window_end = window_start, window_end
        self.page_size, self.max_instances = max(1, int(page_size)), max_instances
        self.notes: list[str] = []
        self._own: list[str] = []

    def resources(self) -> list[str]:
        return [self.resource]

    def own_addresses(self) -> list[str]:
        return list(self._own)

    def pages(self, resource: str, cursor: str | None) -> Iterator[Page]:
        if resource != self.resource:
            raise InputError(f"{self.path.name} has no resource {resource!r}")
        try:
            data = self.path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot read {self.path}: {exc.strerror}") from None
        digest = hashlib.sha256(data).hexdigest()[:16]
        done, full = 0, True
        if cursor:
            count, _, seen_digest = cursor.partition(":")
            if seen_digest != digest or not (count.isdigit() or count == "done"):
                raise CursorExpired(f"{self.path.name} changed since the last import")
            if count == "done":  # imported in full before and unchanged: nothing to do
                yield Page((), cursor=cursor, complete=True, progress=(0, 0))
                return
            done = int(count)
        items, self._own, self.notes = read_calendar(
            data, self.path.name, window_start=self.window_start, window_end=self.window_end,
            max_instances=self.max_instances, resource=self.resource)
        total = len(items)
        while True:
            batch = items[done:done + self.page_size]
            done = min(done + self.page_size, total) if batch else max(done, total)
            complete = done >= total
            yield Page(tuple(batch), cursor=f"{'done' if complete else done}:{digest}", complete=complete,
                       full_sync=full, own_addresses=tuple(self._own), progress=(done, total))
            if complete:
                return
