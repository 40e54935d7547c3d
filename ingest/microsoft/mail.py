"""Graph `message` JSON (as `$select`ed by the connector) -> Interaction / Removed / Quarantined.

Only the fields the connector selects are read; there is no body to read (Mail.ReadBasic).
Addresses are normalised the way `Participant` expects: trimmed and lower-cased SMTP;
legacy Exchange forms (X.500 DNs such as "/o=ExchangeLabs/ou=.../cn=...", "EX:" prefixes)
are kept raw (trimmed) so identity resolution can map them to a person later.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any
from collections.abc import Collection, Iterable, Iterator

from ..audience import bound_audience
from ..clean import clean_name
from ..records import Interaction, Item, Participant, Quarantined, Removed

# The fields the connector asks for; nothing else is ever requested from Graph.
MESSAGE_SELECT = (
    "from",
    "toRecipients",
    "ccRecipients",
    "bccRecipients",
    "sentDateTime",
    "receivedDateTime",
    "conversationId",
    "internetMessageId",
    "isDraft",
    "parentFolderId",
)
_ROLE_FIELDS = (("to", "toRecipients"), ("cc", "ccRecipients"), ("bcc", "bccRecipients"))
# Folders whose items the user wrote; everything else is received mail.
SENT_FOLDERS = frozenset({"sentitems"})


def is_legacy_exchange(address: str) -> bool:
    """An X.500 / legacy Exchange DN rather than an SMTP address."""
    lowered = address.lower()
    return lowered.startswith("/o=") or lowered.startswith("ex:/o=") or lowered.startswith("x500:")


def normalise_address(raw: Any) -> str | None:
    """SMTP lower-cased; legacy DNs kept raw; anything unusable -> None."""
    if not isinstance(raw, str):
        return None
    address = raw.strip()
    if not address:
        return None
    if is_legacy_exchange(address):
        return address
    address = address.strip("<>").strip()
    if address.lower().startswith("smtp:"):
        address = address[5:]
    if "@" not in address or any(ch.isspace() for ch in address):
        return None
    return address.lower()


def parse_graph_datetime(value: Any) -> datetime | None:
    """Edm.DateTimeOffset ("2026-03-01T10:00:00Z", with up to 7 fractional digits) -> aware UTC."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    if "." in text:
        # Graph sends up to 7 fractional digits; Python reads at most 6.
        head, _, rest = text.partition(".")
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits) :]
        text = f"{head}.{digits[:6].ljust(6, '0')}{zone}"
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.astimezone(timezone.utc)
    except (ValueError, OverflowError):  # "9999-12-31T23:00:00-05:00" is past datetime's end
        return None


def _recipients(value: Any) -> Iterable[tuple[str | None, str | None]]:
    """(address, name) of each recipient in a Graph recipient or collection of them."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return
    for recipient in value:
        email = recipient.get("emailAddress") if isinstance(recipient, dict) else None
        if not isinstance(email, dict):
            yield None, None
            continue
        name = email.get("name")
        yield normalise_address(email.get("address")), clean_name(name) if isinstance(name, str) else None


def _participants(message: dict[str, Any], unusable: list[int]) -> Iterator[Participant]:
    """Participants in header order; recipients without a usable address are counted in
    `unusable[0]` (lazily: a broadcast's thousands are never held at once, ingest.audience)."""
    for role, field in (("from", "from"),) + _ROLE_FIELDS:
        for address, name in _recipients(message.get(field)):
            if address is None:
                unusable[0] += 1
                continue
            yield Participant(address=address, role=role, name=name)


def folder_label(resource: str) -> str:
    return resource.split(":", 1)[1] if ":" in resource else resource


def parse_message(message: dict[str, Any], resource: str = "", own: Collection[str] = ()) -> Item:
    """One delta entry -> the record Kith keeps (or a reason it cannot). `own`: the user's
    addresses, kept with their role when a big audience is not (ingest.audience)."""
    graph_id = message.get("id") if isinstance(message, dict) else None
    if not isinstance(graph_id, str) or not graph_id:
        return Quarantined(
            ref=str(message.get("internetMessageId", "?"))[:200] if isinstance(message, dict) else "?",
            reason="message without an id",
            resource=resource,
        )
    if "@removed" in message:
        return Removed(provider_id=graph_id)

    is_draft = message.get("isDraft") is True
    # Drafts have no sentDateTime yet; the time they were last saved is the best we have.
    occurred = (
        parse_graph_datetime(message.get("sentDateTime"))
        or parse_graph_datetime(message.get("receivedDateTime"))
        or parse_graph_datetime(message.get("lastModifiedDateTime"))
    )
    if occurred is None:
        return Quarantined(
            ref=graph_id, reason="message without a sent or received time", excerpt=_excerpt(message), resource=resource
        )
    unusable = [0]
    audience = bound_audience(_participants(message, unusable), own)
    if not audience.participants and audience.count is None:
        reason = "no recipient has an address" if unusable[0] else "message without sender or recipients"
        return Quarantined(ref=graph_id, reason=reason, excerpt=_excerpt(message), resource=resource)

    folder = folder_label(resource)
    message_id = message.get("internetMessageId")
    if isinstance(message_id, str):
        message_id = message_id.strip().strip("<>").strip() or None
    else:
        message_id = None
    conversation = message.get("conversationId")
    return Interaction(
        provider_id=graph_id,
        kind="email",
        occurred_at=occurred,
        participants=audience.participants,
        audience=audience.count,
        resource=resource,
        thread_id=conversation if isinstance(conversation, str) and conversation else None,
        message_id=message_id,
        labels=(folder,) if folder else (),
        is_sent=(folder in SENT_FOLDERS) if folder else None,
        is_draft=is_draft,
    )


def _excerpt(message: dict[str, Any]) -> str:
    """Header-like facts for the quarantine table: ids and dates, never content."""
    keys = ("internetMessageId", "conversationId", "sentDateTime", "receivedDateTime", "isDraft")
    return "\n".join(f"{k}: {message[k]}" for k in keys if k in message)[:500]
