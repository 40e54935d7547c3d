"""The mbox importer: Google Takeout archives and any mboxo/mboxrd file, headers only.

    MboxConnector(path).pages("mbox", cursor) -> Page(items, cursor=<byte offset>)

The file is read in binary chunks and split on `From_` lines; only each message's header
block is kept, body bytes are skipped as they stream past (bodies are never stored, and
memory stays flat whatever the file size). A body line starting with "From " only splits
messages when it looks like a separator: preceded by a blank line (or at file start) and
followed by something date-like ("From sender Wed Nov 25 10:00:00 2026"). Takeout's own
form, `From 1683...@xxx <date>`, is a separator wherever it stands at a line start, since
Takeout does not always leave a blank line before it.

Cursors: during an import the cursor is the byte offset of the next unread message ("5242"),
so an interrupted import resumes exactly where its last committed page ended; those pages are
`full_sync` (the file is the whole truth). The last page's cursor, "tail:<end>:<crc>", marks
the end of the file and a CRC of samples of the bytes before it: the next round reads only messages
appended since (not a full sync), and a file rewritten in any other way expires the cursor,
so the engine re-imports it in full and drops what is gone.

Choices worth knowing:
- One Message-ID is one message. Gmail keeps a message once but Takeout may write it once
  per label set (a note to self is in Sent and Inbox), so later copies are not new records:
  their labels are merged into the first one (re-emitted when the first is in an earlier
  page) and they are otherwise skipped. Messages without a Message-ID get `sha1:<hash of
  Date/From/To/Cc/Subject>` as provider id. Merging here is per run: a run resumed from its
  cursor has not seen the copies before it, and the store merges those (labels are the union
  within one import generation; see service.store.write_interactions).
- `thread_id` is X-GM-THRID in hex (the form Gmail's API uses for the same thread), else the
  root of References, else In-Reply-To, else the message's own id.
- Sender is used as the author only when From is missing or unreadable.
"""

from __future__ import annotations

import codecs
import email.utils
import hashlib
import os
import re
import zlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import BinaryIO, cast
from collections.abc import Collection, Iterator

from .addresses import decode_words, iter_address_list, parse_address_list
from .audience import bound_audience, own_forms
from .errors import CursorExpired, InputError
from .files import FileConnector
from .records import Interaction, Item, Page, Participant, Quarantined

__all__ = ["MboxConnector", "RawMessage", "split_messages", "parse_headers", "message_item"]

CHUNK = 1 << 20
MAX_HEADER = 4 << 20  # a header block larger than this is cut (no real one comes close)
EXCERPT_LIMIT = 2048
HEADER_VALUE_LIMIT = 512
EARLIEST = datetime(1990, 1, 1, tzinfo=timezone.utc)
FUTURE_SLACK = timedelta(days=2)

# A separator line after a blank line: "From " + sender + a tail with a time and a year.
_SEPARATOR = re.compile(rb"From [^ \t\r\n]*[ \t]+[^\r\n]*?\b\d{1,2}:\d\d\b[^\r\n]*?\b(?:19|20)\d\d\b")
_TAKEOUT_SEPARATOR = re.compile(rb"From \d+@xxx [^\r\n]*\d\d:\d\d")

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


@dataclass(frozen=True, slots=True)
class RawMessage:
    offset: int  # byte offset of this message's From_ line
    end: int  # byte offset of the next message's From_ line, or of the end of the file
    header: bytes  # header block, without the From_ line; the body is never read into it
    truncated: bool = False  # the file ended before the header block did


class _Buffer:
    """A sliding window over a binary file, addressed by absolute offsets."""

    def __init__(self, f: BinaryIO, start: int, chunk: int):
        self.f, self.chunk = f, chunk
        self.base, self.data, self.eof = start, b"", False
        f.seek(start)

    @property
    def end(self) -> int:
        return self.base + len(self.data)

    def more(self, keep_from: int) -> bool:
        """Forget bytes before `keep_from`, read one more chunk; False at end of file."""
        if self.eof:
            return False
        drop = keep_from - self.base
        if drop > 0:
            self.data, self.base = self.data[drop:], keep_from
        chunk = self.f.read(self.chunk)
        if not chunk:
            self.eof = True
            return False
        self.data = self.data + chunk if self.data else chunk
        return True

    def find(self, sub: bytes, start: int, stop: int | None = None) -> int:
        i = self.data.find(sub, start - self.base, None if stop is None else stop - self.base)
        return -1 if i < 0 else i + self.base

    def byte(self, at: int) -> int:
        i = at - self.base
        return self.data[i] if 0 <= i < len(self.data) else -1

    def slice(self, a: int, b: int) -> bytes:
        return self.data[a - self.base : b - self.base]

    def line_end(self, start: int, keep_from: int) -> int:
        """Offset of the newline ending the line at `start` (end of file if none)."""
        while True:
            i = self.find(b"\n", start)
            if i >= 0:
                return i
            if not self.more(keep_from):
                return self.end


def split_messages(f: BinaryIO, start: int = 0, chunk: int = CHUNK) -> Iterator[RawMessage]:
    """Yield every message from `start` (which must be a From_ line) to the end of file."""
    buf = _Buffer(f, start, chunk)
    pos = start
    crlf = False  # which blank-line form the last header block ended with: search it first
    while True:
        if pos >= buf.end and not buf.more(pos):
            return
        header_start = buf.line_end(pos, pos) + 1
        # Find the blank line closing the header block (it may end at the From_ line itself).
        while True:
            blank, width = _blank_line(buf, header_start - 1, crlf)
            if blank >= 0 or buf.end - header_start > MAX_HEADER or not buf.more(pos):
                break
        if blank < 0 and buf.end - header_start <= MAX_HEADER:  # the file ended in headers
            yield RawMessage(pos, buf.end, buf.slice(header_start, buf.end), truncated=True)
            return
        if blank < 0:
            blank, width = header_start + MAX_HEADER, 0
        crlf = width == 3
        # A body-less message may be followed directly by a Takeout separator.
        inner = _next_separator(buf, header_start - 1, blank + 1, pos, strict_only=True)
        if inner >= 0:
            yield RawMessage(pos, inner, buf.slice(header_start, inner))
            pos = inner
            continue
        header = buf.slice(header_start, blank + 1)
        nxt = _next_separator(buf, blank + 1, None, pos)
        yield RawMessage(pos, nxt if nxt >= 0 else buf.end, header)
        if nxt < 0:
            return
        pos = nxt


def _blank_line(buf: _Buffer, start: int, crlf_first: bool) -> tuple[int, int]:
    """(offset of the newline before the blank line, 2 or 3 bytes of "\\n\\n"/"\\n\\r\\n")."""
    first, other = (b"\n\r\n", b"\n\n") if crlf_first else (b"\n\n", b"\n\r\n")
    i = buf.find(first, start)
    j = buf.find(other, start, i + 1 if i >= 0 else None)
    if j >= 0 and (i < 0 or j < i):
        i, first = j, other
    return i, (len(first) if i >= 0 else 0)


def _next_separator(buf: _Buffer, start: int, stop: int | None, keep: int, strict_only: bool = False) -> int:
    """Offset of the next From_ line after `start`, or -1. Body bytes scanned past are
    dropped from the buffer (only a few bytes are kept to match across chunk edges)."""
    q = start
    while True:
        i = buf.find(b"\nFrom ", q, stop)
        if i < 0:
            if stop is not None:
                return -1
            keep_from = max(keep, buf.end - 8)
            if not buf.more(keep_from):
                return -1
            keep = keep_from
            q = max(q, keep_from)
            continue
        line_start = i + 1
        eol = buf.line_end(line_start, min(keep, i - 2))
        line = buf.slice(line_start, min(eol, line_start + 512))
        if _TAKEOUT_SEPARATOR.match(line):
            return line_start
        if not strict_only:
            before = buf.byte(i - 1)
            blank_before = before == 10 or (before == 13 and buf.byte(i - 2) == 10)
            if blank_before and _SEPARATOR.match(line):
                return line_start
        q = line_start


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
) -> Interaction | Quarantined:
    """One message's header block as an Interaction, or Quarantined when it cannot be dated
    or has no readable author. `latest` is the newest plausible date (now + slack); `own`,
    the user's addresses, are kept with their role when a big audience is not (ingest.audience)."""
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
    authors = parse_address_list(h.get("from")) or parse_address_list(h.get("sender"))
    if not authors:
        reason = (
            "missing From header"
            if not h.get("from") and not h.get("sender")
            else f"unreadable From header: {h.get('from', '')[:100]!r}"
        )
        return Quarantined(ref, reason, _excerpt(h), resource)
    audience = bound_audience(_participants(authors, h), own)
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


def _participants(authors: list[tuple[str | None, str]], h: dict[str, str]) -> Iterator[Participant]:
    for name, address in authors:
        yield Participant(address, "from", name)
    for role in ("to", "cc", "bcc"):
        for name, address in iter_address_list(h.get(role)):
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


class MboxConnector(FileConnector):
    """An mbox file as one resource; see the module docstring for the cursor.

    `own_addresses` are the ones learned from Sent mail (`own`, given, is not reported back)."""

    provider = "mbox"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        resource: str = "mbox",
        page_size: int = 500,
        now: datetime | None = None,
        chunk_size: int = CHUNK,
        own: Collection[str] = (),
    ):
        super().__init__(path, resource=resource, page_size=max(1, int(page_size)))
        self.now = now
        self.chunk_size = chunk_size
        # The user's addresses (given, and learned from Sent mail): kept with their role on
        # a message whose audience is too big to store whole.
        self._given = frozenset(own)
        self._own_forms = own_forms(self._given)

    def _read(self, cursor: str | None) -> Iterator[Page]:
        with self._open() as f:
            size = os.fstat(f.fileno()).st_size
            if not cursor:
                yield from self._pages(f, self._first_message(f, size), size, full=True)
                return
            full = not cursor.startswith("tail:")
            try:
                if full:
                    start = int(cursor)
                else:
                    _, offset, fingerprint = cursor.split(":")
                    start = int(offset)
            except ValueError:
                raise CursorExpired(f"not an mbox cursor: {cursor[:40]!r}") from None
            f.seek(start)
            if (
                start > size
                or (start < size and f.read(5) != b"From ")
                or (not full and _fingerprint(f, start) != fingerprint)
            ):
                raise CursorExpired(f"{self.name} changed: no message at offset {start}")
            yield from self._pages(f, start, size, full=full)

    def _first_message(self, f: BinaryIO, size: int) -> int:
        """Offset of the first From_ line; the first non-blank line must be one."""
        offset = 0
        while True:
            chunk = f.read(65536)
            if not chunk:
                return size  # empty or blank: nothing to import
            if offset == 0 and chunk.startswith(codecs.BOM_UTF8):
                chunk, offset = chunk[3:], 3
            body = chunk.lstrip(b" \t\r\n")
            if body:
                start = offset + len(chunk) - len(body)
                f.seek(start)
                if f.read(5) != b"From ":
                    raise InputError(f"{self.name} is not an mbox file: it does not start with a 'From ' line")
                return start
            offset += len(chunk)

    def _pages(self, f: BinaryIO, start: int, size: int, full: bool) -> Iterator[Page]:
        now = self.now or datetime.now(timezone.utc)
        latest = max(now, datetime.fromtimestamp(os.fstat(f.fileno()).st_mtime, timezone.utc))
        latest += FUTURE_SLACK
        label_cache: dict[str, tuple[str, ...]] = {}
        seen_labels: dict[str, tuple[str, ...]] = {}  # Message-ID -> labels emitted so far
        items: list[Item] = []
        in_page: dict[str, int] = {}  # Message-ID -> index in `items`
        count, cursor = 0, start
        for raw in split_messages(f, start, self.chunk_size):
            item: Item | None
            try:
                item = message_item(raw, self.resource, latest, label_cache, self._own_forms)
            except Exception as exc:
                item = Quarantined(str(raw.offset), f"unreadable message: {type(exc).__name__}", "", self.resource)
            if isinstance(item, Interaction):
                if item.is_sent:
                    self._learn_own(item)
                item = self._dedupe(item, items, in_page, seen_labels)
            if item is not None:
                items.append(item)
            count += 1
            cursor = raw.end
            if count >= self.page_size:
                yield self._page(f, items, cursor, size, full)
                if cursor >= size:
                    return
                items, in_page, count = [], {}, 0
        yield self._page(f, items, max(cursor, size), size, full)

    def _learn_own(self, item: Interaction) -> None:
        authors = {p.address for p in item.participants if p.role == "from"}
        if not authors <= set(self._own):
            self._own = sorted(authors.union(self._own))
            self._own_forms = own_forms(self._given | set(self._own))

    def _page(self, f: BinaryIO, items: list[Item], offset: int, size: int, full: bool) -> Page:
        complete = offset >= size
        # A full import in progress resumes from a plain offset; once complete (and in
        # incremental rounds) the cursor also pins the bytes before it, so that a file
        # rewritten rather than appended to expires it instead of being misread.
        cursor = str(offset) if full and not complete else f"tail:{offset}:{_fingerprint(f, offset)}"
        return Page(
            tuple(items),
            cursor=cursor,
            complete=complete,
            full_sync=full,
            own_addresses=tuple(self._own),
            progress=(min(offset, size), size),
        )

    @staticmethod
    def _dedupe(
        item: Interaction, items: list[Item], in_page: dict[str, int], seen: dict[str, tuple[str, ...]]
    ) -> Interaction | None:
        """None when an earlier copy already says everything; else the record to emit."""
        key = item.message_id
        if key is None:
            return item
        before = seen.get(key)
        if before is None:
            seen[key] = item.labels
            in_page[key] = len(items)
            return item
        merged = tuple(dict.fromkeys(before + item.labels))
        if merged == before:
            return None
        seen[key] = merged
        index = in_page.get(key)
        first = cast(Interaction, items[index]) if index is not None else item  # in_page indexes Interactions
        updated = _with_labels(first, merged)
        if index is not None:
            items[index] = updated
            return None
        in_page[key] = len(items)
        return updated


def _fingerprint(f: BinaryIO, offset: int) -> str:
    """CRC of samples of the file before `offset`: its first 4 KB, 16 evenly spaced 256-byte
    windows and the 256 bytes just before it (cheap on a 50 GB file). Restores the position."""
    here = f.tell()
    crc = 0
    spots = [(0, min(offset, 4096)), (max(0, offset - 256), min(offset, 256))]
    spots += [(offset * k // 17, min(256, offset - offset * k // 17)) for k in range(1, 17)]
    for at, length in spots:
        f.seek(at)
        crc = zlib.crc32(f.read(length), crc)
    f.seek(here)
    return format(crc, "08x")


def _with_labels(item: Interaction, labels: tuple[str, ...]) -> Interaction:
    is_sent = ("Sent" in labels) if item.is_sent is not None or labels else None
    return replace(
        item, labels=labels, is_sent=is_sent, is_draft=item.is_draft or "Drafts" in labels or "Draft" in labels
    )
