"""The plain values the assembly of the analytics input works on (`assembly.py`): the rows
`exchanges.py` reads, what is known of the user's people, and the result. No database.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from analytics.records import Exchange


class InteractionRow(NamedTuple):
    """One interaction, its participants joined by \\x1f (\\x1e before an attendee's response):
    parsing text arrays would cost more than the query at 100,000 rows."""

    kind: str
    at: float  # epoch seconds
    message_id: str | None
    reply_to: str | None
    thread_id: str | None
    duration_s: float | None
    status: str | None
    labels: str | None
    is_sent: bool | None
    is_draft: bool | None
    headers: dict | None
    first: str | None  # sender or organiser
    rcpt: str | None  # to, cc, bcc
    attendees: str | None
    n_participants: int | None
    to: str | None = None  # the To line alone (None: not known, every recipient is taken as To)


@dataclass(frozen=True)
class Directory:
    """What is stored about the user's people, as plain values."""

    own: set[str]  # canonical own addresses
    person_of: dict[str, int]  # address -> person id
    rules: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, value, action)
    addresses: dict[int, list[str]] = field(default_factory=dict)  # person id -> sorted addresses
    names: dict[int, str | None] = field(default_factory=dict)
    used: dict[str, int] = field(default_factory=dict)  # address -> participant rows
    org_domains: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AnalyticsInput:
    exchanges: list[Exchange]
    info: dict[int, dict]
    exclusions: list[dict]
    unknown: frozenset[str]
