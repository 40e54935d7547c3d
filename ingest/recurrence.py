"""Bounded expansion of an iCalendar recurrence (RRULE, RDATE, EXDATE) with `dateutil.rrule`.

    expand(event, start, window_start, window_end, cap=..., budget=Budget(...)) -> Expansion

Instances are made in the event's own zone and kept only inside the window. Three bounds
hold whatever the file says, and each one that bites is reported in `Expansion.problem`
(the importer quarantines the series with that reason and keeps what was expanded):

- instances per series: `cap` (`SUBDAILY_INSTANCES` for FREQ=HOURLY/MINUTELY/SECONDLY,
  which no calendar application offers for meetings);
- iterations per series: dateutil loops without yielding while a rule matches no day
  (FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30 runs until the year 9999, about 6 s a rule), and
  has no hook to stop it. So the rule's BY* sets are swapped for tuples that count every
  membership test dateutil makes on them (one per day, week or period it looks at), and
  every instance produced counts too; past the budget the expansion stops;
- a wall-clock deadline shared by a whole file, checked on the same count.

The iteration count is deterministic, so an import resumed from a cursor expands the same
instances; only the deadline, a last resort, depends on the machine.
"""

from __future__ import annotations

import time as _time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import TYPE_CHECKING

from dateutil.rrule import rrule, rruleset, rrulestr

if TYPE_CHECKING:
    from icalendar import Event

__all__ = ["Budget", "Expansion", "as_utc", "expand", "ITERATIONS", "SUBDAILY_INSTANCES"]

ITERATIONS = 50_000
SUBDAILY_INSTANCES = 100
_SUBDAILY = ("HOURLY", "MINUTELY", "SECONDLY")
_RRULE_KEYS = {
    "FREQ",
    "INTERVAL",
    "COUNT",
    "BYSECOND",
    "BYMINUTE",
    "BYHOUR",
    "BYDAY",
    "BYMONTHDAY",
    "BYYEARDAY",
    "BYWEEKNO",
    "BYMONTH",
    "BYSETPOS",
    "WKST",
}
# The sets dateutil consults day by day (or period by period) while it searches for a match.
_METERED = (
    "_bymonth",
    "_byweekday",
    "_bynweekday",
    "_bymonthday",
    "_bynmonthday",
    "_byyearday",
    "_byweekno",
    "_bysetpos",
)


class Exhausted(Exception):
    """The iteration budget or the deadline ran out in the middle of an expansion."""


class Budget:
    """Iterations left for one series, and the file's deadline (time.monotonic seconds)."""

    def __init__(self, iterations: int = ITERATIONS, deadline: float | None = None) -> None:
        self.limit = self.left = iterations
        self.deadline = deadline
        self.timed_out = False

    def spend(self) -> None:
        self.left -= 1
        if self.left < 0:
            raise Exhausted
        # The clock is read every 1024 steps: cheap, and still well under a millisecond apart.
        if self.deadline is not None and not self.left & 1023 and _time.monotonic() > self.deadline:
            self.timed_out = True
            raise Exhausted

    @property
    def spent(self) -> int:
        return self.limit - max(self.left, 0)


class _Metered(tuple[object, ...]):
    """A BY* set of a dateutil rule that charges the budget on every look."""

    budget: Budget

    def __contains__(self, value: object) -> bool:
        self.budget.spend()
        return tuple.__contains__(self, value)

    def __iter__(self) -> Iterator[object]:
        self.budget.spend()
        return tuple.__iter__(self)


class Unreadable(ValueError):
    pass


@dataclass(frozen=True)
class Expansion:
    instances: list[date]  # starts (datetimes), dates for all-day series, inside the window, sorted
    problem: str | None = None


def _meter(rule: rrule, budget: Budget) -> rrule:
    for name in _METERED:
        values = getattr(rule, name, None)
        if values:
            metered = _Metered(values)
            metered.budget = budget
            setattr(rule, name, metered)
    return rule


def expand(event: Event, start: date, ws: datetime, we: datetime, *, cap: int, budget: Budget) -> Expansion:
    """Instance starts of a recurring master within [ws, we], in the event's own zone."""
    all_day = not isinstance(start, datetime)
    base = start if isinstance(start, datetime) else datetime.combine(start, time())
    aware = base.tzinfo is not None
    rs = rruleset()
    subdaily = False
    for rule in event.rrules:
        if not hasattr(rule, "items"):
            raise Unreadable(f"RRULE {str(rule)[:60]!r}")
        parts = {k: v for k, v in rule.items() if k in _RRULE_KEYS}
        subdaily = subdaily or str(next(iter(parts.get("FREQ") or []), "")).upper() in _SUBDAILY
        text = ";".join(f"{k}={','.join(_rrule_value(x) for x in v)}" for k, v in parts.items())
        interval = next(iter(parts.get("INTERVAL") or []), 1)
        if not isinstance(interval, int) or interval < 1:
            # RFC 5545 wants a positive integer; with 0 dateutil gives the same start for ever,
            # which rruleset drops as a repeat before any budget sees it: a silent hang.
            raise Unreadable(f"INTERVAL={str(interval)[:20]} (it must be a positive whole number)")
        rr = rrulestr(text, dtstart=base)
        until, count = rule.get("UNTIL"), rule.get("COUNT")
        if until and not count:  # both is invalid (RFC 5545): COUNT is the safer bound
            rr = rr.replace(until=align(until[0], base, end_of_day=True))
        _meter(rr, budget)
        # RFC 5545 3.3.10: DTSTART always counts as the first occurrence, also when the
        # rule would not produce it; dateutil would then make COUNT one too many.
        if count:
            try:
                first = next(iter(rr), None)
            except Exhausted:
                return _stopped([start] if ws <= as_utc(start) <= we else [], budget, rule_gave=0)
            if first != base:
                if int(count[0]) <= 1:
                    continue
                rr = _meter(rr.replace(count=int(count[0]) - 1), budget)
        rs.rrule(rr)
    rs.rdate(base)
    for value in event.rdates:
        rs.rdate(align(value[0] if isinstance(value, tuple) else value, base))
    for value in event.exdates:
        rs.exdate(align(value, base))
    if subdaily:
        cap = min(cap, SUBDAILY_INSTANCES)
    lo, hi = (ws, we) if aware else (ws.replace(tzinfo=None), we.replace(tzinfo=None))
    out: list[date] = []
    produced = 0  # instances the rules gave besides DTSTART, in the window or not
    try:
        for instance in rs:
            budget.spend()  # instances before the window cost as much as those in it
            if instance != base:
                produced += 1
            if instance > hi:
                break
            if instance < lo:
                continue
            if len(out) == cap:
                freq = " (it repeats more often than daily)" if subdaily else ""
                return Expansion(out, f"series has more than {cap} instances in the window{freq}; kept the first {cap}")
            out.append(instance.date() if all_day else instance)
    except Exhausted:
        # rruleset asks every rule for its first instance before it yields anything, DTSTART
        # included: a rule that never matches stops it before DTSTART comes out.
        if not out and lo <= base <= hi:
            out.append(start)
        return _stopped(out, budget, produced)
    return Expansion(out)


def _stopped(out: list[date], budget: Budget, rule_gave: int) -> Expansion:
    if budget.timed_out:
        return Expansion(out, f"the file's time for expanding recurrences ran out; kept {len(out)} instance(s)")
    if not rule_gave:
        return Expansion(
            out,
            f"recurrence rule produced no instance within {budget.limit} iterations; only the first occurrence kept",
        )
    return Expansion(out, f"recurrence expansion stopped after {budget.limit} iterations; kept {len(out)} instance(s)")


def _rrule_value(value: object) -> str:
    if isinstance(value, (datetime, date)):
        return value.strftime("%Y%m%dT%H%M%S")
    if hasattr(value, "to_ical"):
        data = value.to_ical()
        return data.decode() if isinstance(data, bytes) else str(data)
    return str(value)


def align(value: date, base: datetime, end_of_day: bool = False) -> datetime:
    """`value` in the same form (aware or naive) as the series start `base`."""
    if not isinstance(value, datetime):
        value = datetime.combine(value, time(23, 59, 59) if end_of_day else base.timetz().replace(tzinfo=None))
        if base.tzinfo is not None:
            value = value.replace(tzinfo=base.tzinfo)
        return value
    if base.tzinfo is None:
        return value.astimezone(timezone.utc).replace(tzinfo=None) if value.tzinfo else value
    return value.replace(tzinfo=base.tzinfo) if value.tzinfo is None else value


def as_utc(value: date) -> datetime:
    """A start as an aware UTC datetime: dates at midnight, floating times read as UTC."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time(), tzinfo=timezone.utc)
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)
