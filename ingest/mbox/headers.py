"""One message's header block -> an Interaction, or Quarantined with the reason.

    parse_headers(block) -> {name: value}      the headers Kith reads, unfolded, decoded
    message_item(raw, resource, latest, ...)   the record (dates, addresses, ids, labels)

Choices worth knowing:
- Messages without a Message-ID get `sha1:<hash of Date/From/To/Cc/Subject>` as provider id.
- `thread_id` is X-GM-THRID in hex (the form Gmail's API uses for the same thread), else the
  root of References, else In-Reply-To, else the message's own id.
- Sender is used as the author only when From is missing or unreadable.
"""

from __future__ import annotations

import codecs
import email.utils
import hashlib
import re
from datetime import datetime, timedelta, timezone
from collections.abc import Collection, Iterator

from ..addresses import decode_words, iter_address_list
from ..audience import bound_audience
from ..records import Interaction, Participant, Quarantined
from .split import RawMessage

__all__ = ["KEPT_HEADERS", "EARLIEST", "parse_headers", "message_item"]

EXCERPT_LIMIT = 2048
HEADER_VALUE_LIMIT = 512
EARLIEST = datetime(1990, 1, 1, tzinfo=timezone.utc)

_ADDRESS_HEADERS = ("from", "sender", "to", "cc", "bcc")
# Kept for the noise filters (Sender: calendar-notification@google.com marks invitation mail).
KEPT_HEADERS = (
    "list-unsubscribe",
    "list-id",
    "precedence",
    "auto-submitted",
    "content-class",
    "x-auto-response-suppress",
    "sender",
)
_WANTED = (
    _ADDRESS_HEADERS
    + KEPT_HEADERS
    + ("date", "message-id", "in-reply-to", "references", "x-gmail-labels", "x-gm-thrid", "subject")
)
# One C-level scan picks the wanted headers out of an unfolded block; the rest are ignored.
# (Anchored on a literal "\n", not on ^ with re.M, which is three times slower.)
_HEADER_LINE = re.compile(r"\n(" + "|".join(re.escape(n) for n in _WANTED) + r")[ \t]*:[ \t]*([^\n]*)", re.I)
_FOLD = re.compile(r"\n[ \t]+")
_MSGID = re.compile(r"<([^<>\s]+)>")
# The quoted form is an unrolled loop with possessive quantifiers: `(?:[^"\\]|\\.)*` keeps a
# backtracking frame per character, 1 MB for an 8 KB unterminated quote (found by the fuzz harness).
_LABEL_QUOTED = re.compile(r'"([^"\\]*+(?:\\.[^"\\]*+)*+)"|([^,]+)')


def _latin1_fallback(error: UnicodeError) -> tuple[str | bytes, int]:
    # Raw 8-bit headers are nearly always Latin-1/cp1252: keep the characters, not U+FFFD.
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error("kith-latin1", _latin1_fallback)


def parse_headers(block: bytes) -> dict[str, str]:
    """The headers Kith reads, by lower-case name, unfolded and decoded to text.

    Address headers that repeat are joined; for the others the first occurrence wins.
    Undecodable bytes never raise: stray 8-bit bytes are read as Latin-1.
    """
    text = block.decode("utf-8", "kith-latin1")
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", " ")
    out: dict[str, str] = {}
    for name, value in _HEADER_LINE.findall(_FOLD.sub(" ", "\n" + text)):
        name = name.lower()
        value = value.strip()
        if name not in out:
            out[name] = value
        elif name in _ADDRESS_HEADERS:
            out[name] = out[name] + ", " + value
    return out


def message_item(
    raw: RawMessage,
    resource: str,
    latest: datetime,
    label_cache: dict[str, tuple[str, ...]] | None = None,
    own: Collection[str] = (),
    address_cache: dict[tuple[str, str], tuple[Participant, ...]] | None = None,
) -> Interaction | Quarantined:
    """One message's header block as an Interaction, or Quarantined when it cannot be dated
    or has no readable author. `latest` is the newest plausible date (now + slack); `own`,
    the user's addresses, are kept with their role when a big audience is not (ingest.audience).
    `address_cache` (the reader's, across messages): address header values already read, as
    the Participants they hold; a mailbox repeats the same From and To lines thousands of times."""
    h = parse_headers(raw.header)
    ref = str(raw.offset)
    if raw.truncated:
        return Quarantined(ref, "truncated message at end of file", _excerpt(h), resource)
    raw_date = h.get("date")
    if not raw_date:
        return Quarantined(ref, "missing Date header", _excerpt(h), resource)
    occurred_at = _parse_date(raw_date)
    if occurred_at is None:
        return Quarantined(ref, f"unreadable Date header: {raw_date[:100]!r}", _excerpt(h), resource)
    if occurred_at < EARLIEST or occurred_at > latest:
        return Quarantined(ref, f"date out of range ({occurred_at.date().isoformat()})", _excerpt(h), resource)
    authors = _addresses("from", h.get("from"), address_cache) or _addresses("from", h.get("sender"), address_cache)
    if not authors:
        reason = (
            "missing From header"
            if not h.get("from") and not h.get("sender")
            else f"unreadable From header: {h.get('from', '')[:100]!r}"
        )
        return Quarantined(ref, reason, _excerpt(h), resource)
    audience = bound_audience(_participants(authors, h, address_cache), own)
    message_id = _first_id(h.get("message-id"))
    provider_id = (
        message_id
        or "sha1:"
        + hashlib.sha1(
            "\0".join(h.get(k, "") for k in ("date", "from", "to", "cc", "subject")).encode("utf-8", "surrogateescape")
        ).hexdigest()
    )
    references = tuple(_MSGID.findall(h["references"])) if "references" in h else ()
    in_reply_to = _first_id(h.get("in-reply-to"))
    labels = _labels(h.get("x-gmail-labels"), label_cache)
    return Interaction(
        provider_id=provider_id,
        kind="email",
        occurred_at=occurred_at,
        participants=audience.participants,
        audience=audience.count,
        resource=resource,
        thread_id=(
            _gmail_thread(h.get("x-gm-thrid")) or (references[0] if references else None) or in_reply_to or provider_id
        ),
        message_id=message_id,
        in_reply_to=in_reply_to,
        references=references,
        labels=labels,
        is_sent=("Sent" in labels) if "x-gmail-labels" in h else None,
        is_draft="Drafts" in labels or "Draft" in labels,
        headers=tuple((k, h[k][:HEADER_VALUE_LIMIT]) for k in KEPT_HEADERS if k in h),
    )


_MONTHS = {
    m: i for i, m in enumerate(("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1)
}
# What nearly every mailer writes ("Thu, 11 Jan 2024 02:30:00 +0100"); the rest goes to email.utils.
_RFC5322_DATE = re.compile(
    r"(?:[A-Za-z]{3},\s*)?(\d{1,2})\s+([A-Za-z]{3})\s+(\d{4})\s+(\d\d):(\d\d):(\d\d)\s+([+-])(\d\d)(\d\d)\b"
)


# Header values longer than this are read each time (a huge audience is read lazily).
CACHED_VALUE = 1000
CACHE_SIZE = 50_000


def _addresses(
    role: str, value: str | None, cache: dict[tuple[str, str], tuple[Participant, ...]] | None
) -> tuple[Participant, ...]:
    """Every address of a short header value as a Participant in `role`, from the cache when
    the same value was read before (Participants are immutable, so messages share them)."""
    if not value:
        return ()
    if cache is None or len(value) > CACHED_VALUE:
        return tuple(Participant(address, role, name) for name, address in iter_address_list(value))
    key = (role, value)
    found = cache.get(key)
    if found is None:
        found = tuple(Participant(address, role, name) for name, address in iter_address_list(value))
        if len(cache) >= CACHE_SIZE:
            cache.clear()
        cache[key] = found
    return found


def _participants(
    authors: tuple[Participant, ...], h: dict[str, str], cache: dict[tuple[str, str], tuple[Participant, ...]] | None
) -> Iterator[Participant]:
    yield from authors
    for role in ("to", "cc", "bcc"):
        value = h.get(role)
        if value and len(value) <= CACHED_VALUE:
            yield from _addresses(role, value, cache)
        else:
            for name, address in iter_address_list(value):
                yield Participant(address, role, name)


def _parse_date(value: str) -> datetime | None:
    match = _RFC5322_DATE.match(value)
    if match:
        day, month, year, hh, mm, ss, sign, oh, om = match.groups()
        month_no = _MONTHS.get(month.lower())
        if month_no:
            try:
                local = datetime(int(year), month_no, int(day), int(hh), int(mm), int(ss), tzinfo=timezone.utc)
            except ValueError:
                return None
            offset = timedelta(hours=int(oh), minutes=int(om))
            try:
                return local - offset if sign == "+" else local + offset
            except OverflowError:  # "1 Jan 0001 ... +0100" lands before year 1
                return None
    try:
        parts = email.utils.parsedate_tz(value)
        if parts is None:
            return None
        zone = parts[9] or 0  # no zone, or -0000: the RFC says treat as UTC
        year, month, day, hh, mm, ss = parts[:6]
        return datetime(year, month, day, hh, mm, ss, tzinfo=timezone.utc) - timedelta(seconds=zone)
    except (ValueError, TypeError, OverflowError, IndexError):
        return None


def _first_id(value: str | None) -> str | None:
    if not value:
        return None
    match = _MSGID.search(value)
    if match:
        return match.group(1)
    value = value.split()[0].strip("<>") if value.split() else ""
    return value or None


def _gmail_thread(value: str | None) -> str | None:
    # Takeout writes the thread id in decimal; Gmail's API names the same thread in hex.
    if value and value.isdigit():
        return format(int(value), "x")
    return value or None


def _labels(value: str | None, cache: dict[str, tuple[str, ...]] | None) -> tuple[str, ...]:
    if not value:
        return ()
    if cache is not None and value in cache:
        return cache[value]
    if '"' in value:
        found = [q if q else u for q, u in _LABEL_QUOTED.findall(value)]
    else:
        found = value.split(",")
    labels = tuple(dict.fromkeys(d for d in (decode_words(x.strip()) for x in found) if d))
    if cache is not None and len(cache) < 10000:
        cache[value] = labels
    return labels


def _excerpt(h: dict[str, str]) -> str:
    lines = [
        f"{name}: {decode_words(h[key])}"
        for name, key in (("From", "from"), ("To", "to"), ("Subject", "subject"), ("Date", "date"))
        if key in h
    ]
    return "\n".join(lines)[:EXCERPT_LIMIT]
