"""The records every source produces: what Kith keeps of a message or a meeting.

Parsers and connectors turn provider data (headers, JSON, iCalendar) into these frozen
records; the store writes them; nothing else crosses the ingest boundary. There is no
field for a body or an attachment, so none can be stored by mistake.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any, Literal

from .clean import clean_excerpt, clean_header, clean_id, clean_label, clean_name, clean_text

# An item carries at most this many labels and references (the thread root and the latest
# references are what threading reads; a hostile header can list thousands).
MAX_LABELS = 100
MAX_REFERENCES = 100

Role = Literal["from", "to", "cc", "bcc", "organizer", "attendee"]
Kind = Literal["email", "meeting"]
# Attendee responses, normalised across iCalendar PARTSTAT, Google and Graph.
Response = Literal["accepted", "declined", "tentative", "needs_action", "organizer", "none"]

ROLES: tuple[str, ...] = ("from", "to", "cc", "bcc", "organizer", "attendee")
RESPONSES: tuple[str, ...] = ("accepted", "declined", "tentative", "needs_action", "organizer", "none")


@dataclass(frozen=True, slots=True)
class Participant:
    """One address on a message or meeting. `address` is lower-cased, trimmed SMTP
    (or a raw legacy form such as an Exchange DN, resolved later by identity)."""

    address: str
    role: str
    name: str | None = None
    response: str | None = None

    def __post_init__(self) -> None:
        # Every connector builds Participants: cleaning here means none can forget it.
        object.__setattr__(self, "address", clean_id(self.address))
        object.__setattr__(self, "name", clean_name(self.name))

    # Pickled pages cross from the mbox reader process (ingest.read_ahead): the generated
    # slots state calls dataclasses.fields() per object, most of the cost of a page.
    def __getstate__(self) -> tuple[Any, ...]:
        return (self.address, self.role, self.name, self.response)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        _set_state(self, _PARTICIPANT_FIELDS, state)


@dataclass(frozen=True, slots=True)
class Interaction:
    """A message or a meeting, as seen by one account.

    `provider_id` is unique per account (Gmail message id, Graph immutable id, the
    Message-ID or a content hash for mbox, UID+RECURRENCE-ID for .ics): importing the
    same item twice changes nothing.
    """

    provider_id: str
    kind: str  # "email" | "meeting"
    occurred_at: datetime  # timezone-aware, UTC
    participants: tuple[Participant, ...]
    resource: str = ""  # mailbox/folder/calendar the item came from
    thread_id: str | None = None
    message_id: str | None = None  # RFC 5322 Message-ID without <>
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    duration_s: int | None = None  # meetings
    all_day: bool = False
    status: str = "confirmed"  # "confirmed" | "tentative" | "cancelled"
    labels: tuple[str, ...] = ()  # Gmail label ids, Takeout X-Gmail-Labels, Graph folder names
    is_sent: bool | None = None  # the provider says the user sent it (SENT label, Sent Items)
    is_draft: bool = False
    # Header facts the noise filters need, by lower-case header name:
    # list-unsubscribe, list-id, precedence, auto-submitted, content-class, x-auto-response-suppress
    headers: tuple[tuple[str, str], ...] = ()
    # How many distinct addresses the item really had, when that is more than the
    # participants kept: a big audience is counted, not stored (None: all were kept).
    audience: int | None = None

    def __post_init__(self) -> None:
        # Mail is untrusted: no control character, lone surrogate or unbounded value
        # reaches the store from any connector (see ingest.clean).
        setter = object.__setattr__
        setter(self, "provider_id", clean_id(self.provider_id))
        for key in ("thread_id", "message_id", "in_reply_to"):
            value = getattr(self, key)
            if value is not None:
                setter(self, key, clean_id(value) or None)
        if self.references:
            refs = tuple(r for r in map(clean_id, self.references) if r)
            if len(refs) > MAX_REFERENCES:
                refs = refs[:1] + refs[-(MAX_REFERENCES - 1) :]
            setter(self, "references", refs)
        if self.labels:
            labels = tuple(dict.fromkeys(x for x in map(clean_label, self.labels) if x))
            setter(self, "labels", labels[:MAX_LABELS])
        if self.headers:
            setter(self, "headers", tuple((k, clean_header(v)) for k, v in self.headers))

    def __getstate__(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _INTERACTION_FIELDS)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        _set_state(self, _INTERACTION_FIELDS, state)

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return None


_PARTICIPANT_FIELDS = tuple(f.name for f in fields(Participant))
_INTERACTION_FIELDS = tuple(f.name for f in fields(Interaction))


def _set_state(item: object, names: tuple[str, ...], state: tuple[Any, ...]) -> None:
    # Values are stored as pickled: they were cleaned when the record was first built.
    for name, value in zip(names, state, strict=True):
        object.__setattr__(item, name, value)


@dataclass(frozen=True, slots=True)
class Quarantined:
    """An item that could not be read. `excerpt` holds header lines only, never a body."""

    ref: str  # provider id, byte offset or line number: enough to find the item again
    reason: str
    excerpt: str = ""
    resource: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "ref", clean_id(self.ref))
        object.__setattr__(self, "reason", clean_text(self.reason, 1000))
        object.__setattr__(self, "excerpt", clean_excerpt(self.excerpt))


@dataclass(frozen=True, slots=True)
class Removed:
    """The provider says this item is gone (history delete, Graph @removed, cancelled)."""

    provider_id: str

    def __post_init__(self) -> None:
        # Cleaned as Interaction cleans it, so the id removed is the id that was stored.
        object.__setattr__(self, "provider_id", clean_id(self.provider_id))


Item = Interaction | Quarantined | Removed


@dataclass(frozen=True, slots=True)
class Page:
    """A batch of items and the cursor that follows them.

    The sync engine writes `items` and stores `cursor` in one transaction, so a crash
    repeats the page and never skips it. `cursor` is opaque to everything but the
    connector that made it. `complete` is True on the last page of a round; a full
    (re)sync that completes may then drop what it did not see (`full_sync=True`).
    `own_addresses` are addresses the source says are the user's (sendAs, account).
    `covered_since`: on a newest-first full sync, every item of the resource that arrived
    after this moment is stored once this page is (None: nothing is covered yet, or the
    source does not read newest first).
    """

    items: tuple[Item, ...]
    cursor: str | None
    complete: bool = False
    full_sync: bool = False
    own_addresses: tuple[str, ...] = ()
    progress: tuple[int, int | None] | None = None  # (done, total) when the source knows
    covered_since: datetime | None = None


@dataclass(frozen=True, slots=True)
class SyncReport:
    resource: str
    written: int = 0
    quarantined: int = 0
    removed: int = 0
    pages: int = 0
    full_sync: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
