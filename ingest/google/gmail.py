"""Gmail `Message` JSON (format=metadata) -> Interaction, or Quarantined when unreadable.

Only header lines and label ids are read; a metadata response has no body to read. The
date is the Date header when it parses, else Gmail's `internalDate` (when Gmail received
it). Addresses that do not parse are dropped one by one; a message whose every address is
unreadable and that has no date at all is quarantined with its header lines as excerpt.
"""

from __future__ import annotations

from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from collections.abc import Collection, Iterator

from ingest.addresses import iter_address_list
from ingest.audience import bound_audience
from ingest.clean import clean_name
from ingest.records import Interaction, Participant, Quarantined

UTC = timezone.utc
EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)
METADATA_HEADERS = (
    "From",
    "To",
    "Cc",
    "Bcc",
    "Date",
    "Message-ID",
    "In-Reply-To",
    "References",
    "List-Unsubscribe",
    "List-Id",
    "Precedence",
    "Auto-Submitted",
    "Sender",
    "Content-Class",
    "X-Auto-Response-Suppress",
)
# What the noise filters read (Sender: calendar-notification@google.com marks invitations).
KEPT_HEADERS = (
    "list-unsubscribe",
    "list-id",
    "precedence",
    "auto-submitted",
    "sender",
    "content-class",
    "x-auto-response-suppress",
)
ROLES = (("from", "from"), ("to", "to"), ("cc", "cc"), ("bcc", "bcc"))
MAX_BROADCAST_HEADER = 4 << 20  # as mbox's header block: past this nothing is read


def _addresses(raw: list[str], role: str) -> Iterator[Participant]:
    # The mbox importer's parser, not email.utils.getaddresses: that one recurses once per
    # nested "(" or ":" and a hostile From of a few thousand of them exhausts the stack. It
    # reads lazily, so a broadcast's header is counted whole (and the user's own address found
    # wherever it stands, ingest.audience) without holding its addresses.
    for value in raw:
        for name, address in iter_address_list(value[:MAX_BROADCAST_HEADER]):
            if address.count("@") != 1:
                continue
            yield Participant(address=address, role=role, name=clean_name(name))


def _msgid(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().split()[0] if value.strip() else ""
    return value.strip("<>") or None


def _date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value)
        if parsed is None:
            return None
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)  # RFC 5322 "-0000": time is UTC, zone unknown
        parsed = parsed.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    # A Date header in year 1 or 9999 is a lie; internalDate (when Gmail got it) is not.
    return parsed if EARLIEST <= parsed <= LATEST else None


def _internal(value: str | int | None) -> datetime | None:
    """Gmail's internalDate: epoch milliseconds, as a decimal string."""
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def header_map(message: dict[str, Any]) -> dict[str, list[str]]:
    headers: dict[str, list[str]] = {}
    for entry in (message.get("payload") or {}).get("headers") or []:
        name = str(entry.get("name", "")).lower()
        if name:
            headers.setdefault(name, []).append(str(entry.get("value", "")))
    return headers


def _first(headers: dict[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


def excerpt(message: dict[str, Any]) -> str:
    lines = [
        f"{e.get('name')}: {e.get('value')}"
        for e in (message.get("payload") or {}).get("headers") or []
        if str(e.get("name", "")).lower() in {h.lower() for h in METADATA_HEADERS}
    ]
    return "\n".join(lines)[:2000]


def parse_message(
    message: dict[str, Any], resource: str = "gmail", own: Collection[str] = ()
) -> Interaction | Quarantined:
    """`own`: the user's addresses, kept with their role when a big audience is not
    (ingest.audience; pass `own_forms(...)` when parsing many messages)."""
    message_id = str(message.get("id") or "")
    try:
        headers = header_map(message)
        audience = bound_audience((p for header, role in ROLES for p in _addresses(headers.get(header, []), role)), own)
        occurred = _date(_first(headers, "date")) or _internal(message.get("internalDate"))
        if not message_id:
            return Quarantined(ref="?", reason="message without id", excerpt=excerpt(message), resource=resource)
        if occurred is None:
            return Quarantined(
                ref=message_id,
                reason="no readable Date header and no internalDate",
                excerpt=excerpt(message),
                resource=resource,
            )
        labels = tuple(str(label) for label in message.get("labelIds") or ())
        references = tuple(r.strip("<>") for r in " ".join(headers.get("references", [])).split() if r.strip("<>"))
        kept = tuple((name, headers[name][0][:1000]) for name in KEPT_HEADERS if headers.get(name))
        return Interaction(
            provider_id=message_id,
            kind="email",
            occurred_at=occurred,
            participants=audience.participants,
            audience=audience.count,
            resource=resource,
            thread_id=message.get("threadId") or None,
            message_id=_msgid(_first(headers, "message-id")),
            in_reply_to=_msgid(_first(headers, "in-reply-to")),
            references=references,
            labels=labels,
            is_sent="SENT" in labels,
            is_draft="DRAFT" in labels,
            headers=kept,
        )
    except Exception as exc:
        return Quarantined(
            ref=message_id or "?",
            reason=f"unreadable message: {type(exc).__name__}",
            excerpt=excerpt(message) if isinstance(message, dict) else "",
            resource=resource,
        )
