"""A calendar file's events as items: series expanded within the window and the file's bounds.

The job of the .ics importer (ingest.ics) after parsing: group VEVENTs into series (a master
per UID, the highest SEQUENCE wins, overridden instances by RECURRENCE-ID), expand each
series with ingest.recurrence inside the window, and stop a file that asks too much:
FILE_INSTANCES and FILE_ITERATIONS across all its series and FILE_DEADLINE_S of expansion.
What a bound cuts or an event lacks is quarantined under its UID with the reason.
"""

from __future__ import annotations

import time as time_
from collections import defaultdict
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone

from .attendees import MAX_ATTENDEES, bound_attendees, over_cap_reason
from .clean import clean_text
from .durations import too_long_reason
from .ics_event import (
    STATUS,
    Event,
    Readable,
    content_id,
    event_uid,
    excerpt,
    instance_key,
    participants as event_participants,
    raw,
    rid_text,
    sequence,
)
from .records import Interaction, Item, Participant, Quarantined
from .recurrence import ITERATIONS, Budget, Unreadable, expand
from .recurrence import as_utc as _utc

MAX_INSTANCES = 2000
TAIL = timedelta(days=90)
HORIZON = timedelta(days=730)
# A whole file's recurrences together: beyond these, series keep their first occurrence.
FILE_INSTANCES = 50_000
FILE_ITERATIONS = 2_000_000
FILE_DEADLINE_S = 30.0
# Starts outside these years are typos or attacks; datetime arithmetic near year 1 and
# 9999 overflows, and a meeting in 0001 or 9999 would skew every rhythm it touches.
YEARS = range(1900, 2200)
_Unreadable = Unreadable


class Reader:
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
        ws, we = window(readable, window_start, window_end)
        masters: dict[str, tuple[Event, date]] = {}
        overrides: dict[str, list[Readable]] = defaultdict(list)
        for event, start, rid in readable:
            uid = event_uid(event) or content_id(self._people(event), start)
            if rid is not None:
                overrides[uid].append((event, start, rid))
            elif uid not in masters or sequence(event) >= sequence(masters[uid][0]):
                masters[uid] = (event, start)
        for uid, (event, start) in masters.items():
            self.series(uid, event, start, overrides.pop(uid, []), ws, we)
            yield from self._drain()
        for uid, orphans in overrides.items():  # instances whose series is not in the file
            for event, start, rid in orphans:
                self.emit(uid, event, start, rid)
            yield from self._drain()
        for ref, (reasons, text) in self.problems.items():
            yield Quarantined(ref, "; ".join(reasons), text, self.resource)

    def _drain(self) -> list[Item]:
        items, self.items = self.items, []
        return items

    def quarantine(self, ref: str, reason: str, event: Event) -> None:
        reason = clean_text(reason, 1000) or "unreadable"
        reasons, _ = self.problems.setdefault(ref, ([], excerpt(event)))
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
                raise _Unreadable(f"unreadable RECURRENCE-ID: {raw(rid_prop)[:100]!r}") from None
            if isinstance(value, datetime) and value.tzinfo is None:
                self.floating += 1
            return event, value, rid
        except _Unreadable as exc:
            reason = str(exc)
        except Exception:
            reason = f"unreadable DTSTART: {raw(prop)[:100]!r}"
        ref = event_uid(event) or f"VEVENT #{n + 1}"
        self.items.append(Quarantined(ref, reason, excerpt(event), self.resource))
        return None

    def series(
        self, uid: str, event: Event, start: date, overrides: list[Readable], ws: datetime, we: datetime
    ) -> None:
        by_rid = {instance_key(rid): (o, s, rid) for o, s, rid in overrides}
        too_long = too_long_reason(_seconds(event, start))
        if too_long is not None:
            # Every occurrence would last as long: the series is refused once, unexpanded.
            self.quarantine(uid, too_long, event)
        elif event.get("RRULE") is None and event.get("RDATE") is None:
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
                override = by_rid.pop(instance_key(instance), None)
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
            self.people[key] = bound_attendees(event_participants(event), MAX_ATTENDEES)
        return self.people[key]

    def emit(self, uid: str, event: Event, start: date, recurrence_id: date | None) -> None:
        provider_id = uid if recurrence_id is None else f"{uid}/{rid_text(recurrence_id)}"
        all_day = not isinstance(start, datetime)
        duration = _seconds(event, start)
        too_long = too_long_reason(duration)
        if too_long is not None:  # an overridden instance of its own length
            self.quarantine(uid if event.get("RECURRENCE-ID") is None else provider_id, too_long, event)
            return
        status = STATUS.get(str(event.get("STATUS", "")).upper(), "confirmed")
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
                duration_s=duration,
                all_day=all_day,
                status=status,
                audience=audience,
            )
        )


def _seconds(event: Event, start: date) -> int:
    """The event's length (DTEND or DURATION) in whole seconds, 0 when it ends before it
    starts; a day for an all-day event, and 0 for a timed one, when it cannot be read."""
    try:
        duration = event.duration
    except Exception:
        duration = timedelta(0) if isinstance(start, datetime) else timedelta(days=1)
    return max(0, int(duration.total_seconds()))


def window(
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
