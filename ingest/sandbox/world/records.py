"""A synthetic mailbox-and-calendar world whose every tie has a known truth.

`generate_world(seed)` builds, deterministically, the two years of mail and meetings of
one user (a personal Google account and a work Microsoft 365 account) with a cast of
people whose relationship to the user follows a named archetype (strong and steady,
cooling, dormant, one-sided, new and rising, ...) plus the noise every real mailbox holds
(newsletters, no-reply senders, robots, calendar notifications, all-hands mail). The
emulators, importers, filters and the model are built and measured against it.

How truth is defined (see `strength_from_rate`): each relationship has a daily intensity
of threads and of one-to-one meetings. Its expected *two-way interactions per month* at a
moment t is, over the 90 days before t,

    rate(t) = (expected answered threads + expected held 1:1 meetings) * 30.44 / 90

and the true strength is ``round(100 * (1 - exp(-rate / 3)))`` (`strength_from_rate`).
A thread gets an answer with probability ``q = u * a(them_reply) + (1 - u) * a(user_reply)``
(u = share of threads the user starts), where ``a(p) = p + (1 - p) * nudge * p * cont``:
answered at once, or nudged once by the opener and then answered (`Tie.answered`).
Recurring 1:1s count their actual occurrences; a one-sided 1:1 invitation counts unless
it was declined (a tentative or unanswered 1:1 is on both calendars, and Kith counts it
as a meeting). Group mail, group meetings, declined invitations and notification mail do
not count: they are what a model has to see through. `scale` multiplies the mail intensities
(threads and noise; meetings are not scaled), and the truth of a scaled world is
computed from the scaled intensities too.

Flags at as_of (`TrueTie.flags`), from the same plan: ``dormant`` = nothing expected in
the last 365 days after a peak monthly strength >= 50; ``cooling`` = the last-90-day rate
is under 40% of the rate over the 365 days before those 90, that baseline being at least
1.5/month; ``one_sided_you`` / ``one_sided_them`` = the user (or the other side) writes
>= 80% of the messages between them. Everyone in `people` has a `truth` entry: noise
senders, cold senders and the ~300 colleagues met only in all-hands mail and meetings
(kind "colleague", archetype "noise") have ``is_relationship=False`` and strength 0.

Modules of this package: `records` (this one) holds the records; `cast` plans the cast and
computes the truth, `mail`/`noise`/`calendar` sample mail, noise and meetings, `build`
assembles them (`generate_world`), `files` writes Takeout mbox and .ics files. Each imports
only the ones before it in that list, so the package has no import cycle.
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from functools import cached_property
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

UTC = timezone.utc
DEFAULT_AS_OF = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
WORK_DOMAIN = "northwind.example"
BODY_MARKER = "BODY-MARKER-7Q2"
STRENGTH_SCALE = 3.0  # rate (two-way interactions/month) at which strength reaches 63
WINDOW_DAYS = 90

KINDS = ("contact", "colleague", "newsletter", "noreply", "notifier", "bulk_sender", "cold_sender")
NOISE_KINDS = ("newsletter", "noreply", "notifier", "bulk_sender", "cold_sender")
ARCHETYPES = (
    "strong_steady",
    "medium_steady",
    "weak_occasional",
    "cooling",
    "dormant",
    "one_sided_you",
    "one_sided_them",
    "new_rising",
    "noise",
)
FLAGS = ("cooling", "dormant", "one_sided_you", "one_sided_them")
RESPONSES = ("accepted", "declined", "tentative", "needsAction")

Address = tuple[str, str]  # (display name, address)


def strength_from_rate(rate: float) -> int:
    """Map expected two-way interactions per month (last 90 days) to 0-100, monotonically:
    ``round(100 * (1 - exp(-rate / 3)))``: 1/month -> 28, 3/month -> 63, 8/month -> 93."""
    return int(round(100.0 * (1.0 - math.exp(-max(rate, 0.0) / STRENGTH_SCALE))))


def exchange_dn(alias: str) -> str:
    """The legacy Exchange DN under which Graph sometimes shows an internal sender."""
    return f"/O=NORTHWIND/OU=EXCHANGE ADMINISTRATIVE GROUP/CN=RECIPIENTS/CN={alias.upper()}"


@dataclass(frozen=True, slots=True)
class WorldPerson:
    name: str
    addresses: tuple[str, ...]  # the first is canonical
    kind: str
    timezone: str = "Europe/Madrid"

    @property
    def address(self) -> str:
        return self.addresses[0]


@dataclass(frozen=True, slots=True)
class TrueTie:
    """What a correct model should conclude about one person at `as_of`."""

    address: str
    name: str
    archetype: str
    is_relationship: bool
    true_strength: int
    monthly_strength: tuple[tuple[datetime, int], ...]  # (1st of month UTC, strength then)
    flags: frozenset
    addresses: tuple[str, ...]
    rate: float = 0.0  # the expected two-way interactions/month behind true_strength
    kind: str = "contact"
    user_initiates: float = 0.0  # planned share of conversations the user starts


@dataclass(frozen=True, slots=True)
class WorldMessage:
    """One message in one mailbox. A message delivered to both of the user's mailboxes is
    two WorldMessages with the same `message_id`. `body` holds BODY_MARKER: it exists so
    tests can prove bodies never reach storage."""

    gmail_id: str
    graph_id: str
    account: str  # "google" | "microsoft"
    thread_id: str
    conversation_id: str
    message_id: str
    in_reply_to: str | None
    references: tuple[str, ...]
    sender: Address
    to: tuple[Address, ...]
    cc: tuple[Address, ...]
    bcc: tuple[Address, ...]
    date: datetime
    labels: tuple[str, ...]
    folder: str | None  # "inbox" | "sentitems" | "drafts" on microsoft, None on google
    extra_headers: tuple[tuple[str, str], ...]
    subject: str
    body: str
    is_draft: bool = False
    size_estimate: int = 0

    @property
    def is_sent(self) -> bool:
        return "SENT" in self.labels or self.folder == "sentitems"

    @property
    def recipients(self) -> tuple[Address, ...]:
        return self.to + self.cc + self.bcc

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.extra_headers:
            if key.lower() == name:
                return value
        return None


@dataclass(frozen=True, slots=True)
class WorldEvent:
    """A calendar event. A series is one master (`recurrence` set, COUNT-bounded) whose
    cancelled occurrences are in `exdates`; an occurrence that was moved is listed in
    `overridden` and exists as its own exception event in `World.events` (same ical_uid,
    `recurring_event_id` = master id, `original_start`), as Google and Graph model it.
    `start`/`end` are aware in `timezone`; all-day events run midnight to midnight local,
    `end` exclusive."""

    id: str
    graph_id: str
    account: str
    calendar_id: str
    ical_uid: str
    summary: str
    start: datetime  # aware, in `timezone`
    end: datetime
    timezone: str
    all_day: bool
    organizer: Address
    attendees: tuple[tuple[str, str, str], ...]  # (name, address, response)
    status: str = "confirmed"
    recurrence: str | None = None  # RRULE body, e.g. "FREQ=WEEKLY;COUNT=20"
    exdates: tuple[datetime, ...] = ()  # cancelled occurrences of a series
    overridden: tuple[datetime, ...] = ()  # occurrences replaced by an exception event
    recurring_event_id: str | None = None  # set on exception events and on instances
    original_start: datetime | None = None
    sequence: int = 0
    created: datetime | None = None  # when it reached the calendar (never after as_of)

    def instances(self, until: datetime | None = None) -> tuple[WorldEvent, ...]:
        """Concrete occurrences. A series is expanded in its own time zone, so a 10:00
        Madrid meeting stays at 10:00 local on both sides of a DST change."""
        if self.recurrence is None:
            if until is not None and self.start >= until:
                return ()
            return (self,)
        tz = ZoneInfo(self.timezone)
        local_start = self.start.astimezone(tz).replace(tzinfo=None)
        duration = self.end.astimezone(tz).replace(tzinfo=None) - local_start
        skip = {d.astimezone(tz).replace(tzinfo=None) for d in self.exdates + self.overridden}
        out = []
        for occurrence in rrulestr(self.recurrence, dtstart=local_start):
            start = occurrence.replace(tzinfo=tz)
            if until is not None and start >= until:
                break
            if occurrence in skip:
                continue
            stamp = start.strftime("%Y%m%d") if self.all_day else start.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
            out.append(
                replace(
                    self,
                    id=f"{self.id}_{stamp}",
                    graph_id=occurrence_graph_id(self.graph_id, stamp),
                    start=start,
                    end=(occurrence + duration).replace(tzinfo=tz),
                    recurrence=None,
                    exdates=(),
                    overridden=(),
                    recurring_event_id=self.id,
                    original_start=start,
                )
            )
        return tuple(out)


def occurrence_graph_id(master: str, stamp: str) -> str:
    """Graph gives each occurrence of a series its own id; derive one, stably."""
    return master + base64.urlsafe_b64encode(stamp.encode()).decode()


@dataclass(frozen=True, eq=False)
class World:
    """A generated world. `messages` are sorted by date; each message and event belongs to
    one account: "google" (user_email's mailbox and calendars) or "microsoft" (work_email).
    Events may lie after `as_of` (calendars hold the future); messages never do."""

    seed: int
    user_email: str
    user_name: str
    work_email: str
    user_aliases: tuple[str, ...]
    timezone: str
    start: datetime
    as_of: datetime
    people: tuple[WorldPerson, ...]
    messages: tuple[WorldMessage, ...]
    events: tuple[WorldEvent, ...]
    truth: dict[str, TrueTie]
    label_names: dict[str, str] = field(default_factory=dict)

    @property
    def own_addresses(self) -> tuple[str, ...]:
        return (self.user_email, self.work_email) + self.user_aliases

    def account_address(self, account: str) -> str:
        return {"google": self.user_email, "microsoft": self.work_email}[account]

    def messages_for(self, account: str) -> tuple[WorldMessage, ...]:
        self.account_address(account)
        return tuple(m for m in self.messages if m.account == account)

    def events_for(self, account: str) -> tuple[WorldEvent, ...]:
        self.account_address(account)
        return tuple(e for e in self.events if e.account == account)

    @cached_property
    def _by_address(self) -> dict[str, WorldPerson]:
        return {a.lower(): p for p in self.people for a in p.addresses}

    def person(self, address: str) -> WorldPerson | None:
        """The person behind any of their addresses (case-insensitive), or None."""
        return self._by_address.get(address.lower())

    def truth_for(self, address: str) -> TrueTie | None:
        person = self.person(address)
        return self.truth.get(person.address) if person else None


def month_starts(start: datetime, end: datetime) -> list[datetime]:
    first = datetime(start.year, start.month, 1, tzinfo=UTC)
    out = []
    while first <= end:
        out.append(first)
        first = datetime(first.year + first.month // 12, first.month % 12 + 1, 1, tzinfo=UTC)
    return out


__all__ = [
    "World",
    "WorldPerson",
    "WorldMessage",
    "WorldEvent",
    "TrueTie",
    "strength_from_rate",
    "exchange_dn",
    "month_starts",
    "DEFAULT_AS_OF",
    "BODY_MARKER",
    "WORK_DOMAIN",
    "KINDS",
    "ARCHETYPES",
    "FLAGS",
    "occurrence_graph_id",
]
