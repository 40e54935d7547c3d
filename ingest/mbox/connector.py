"""MboxConnector: an mbox file as one resource, read in pages from a byte-offset cursor.

    MboxConnector(path).pages("mbox", cursor) -> Page(items, cursor=<byte offset>)

Cursors: during an import the cursor is the byte offset of the next unread message ("5242"),
so an interrupted import resumes exactly where its last committed page ended; those pages are
`full_sync` (the file is the whole truth). The last page's cursor, "tail:<end>:<crc>", marks
the end of the file and a CRC of samples of the bytes before it: the next round reads only messages
appended since (not a full sync), and a file rewritten in any other way expires the cursor,
so the engine re-imports it in full and drops what is gone.

One Message-ID is one message. Gmail keeps a message once but Takeout may write it once per
label set (a note to self is in Sent and Inbox). Copies within one page are merged here
(labels are the union, the record is emitted once); a copy in a later page is emitted again
and the store merges it into the row the first copy wrote (labels the union within one
import generation; see service.store.write_interactions). So the importer remembers no
Message-IDs across pages: memory stays flat however many messages the file holds, and a
run resumed from its cursor ends as a run in one go does.
"""

from __future__ import annotations

import codecs
import os
import zlib
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import BinaryIO, cast
from collections.abc import Collection, Iterator

from ..audience import own_forms
from ..errors import CursorExpired, InputError
from ..files import FileConnector
from ..records import Interaction, Item, Page, Participant, Quarantined
from .headers import message_item
from .split import CHUNK, split_messages

__all__ = ["MboxConnector"]

FUTURE_SLACK = timedelta(days=2)


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
        address_cache: dict[tuple[str, str], tuple[Participant, ...]] = {}
        items: list[Item] = []
        in_page: dict[str, int] = {}  # Message-ID -> index in `items` (this page only)
        count, cursor = 0, start
        for raw in split_messages(f, start, self.chunk_size):
            item: Item | None
            try:
                item = message_item(raw, self.resource, latest, label_cache, self._own_forms, address_cache)
            except Exception as exc:
                item = Quarantined(str(raw.offset), f"unreadable message: {type(exc).__name__}", "", self.resource)
            if isinstance(item, Interaction):
                if item.is_sent:
                    self._learn_own(item)
                item = _merge_copy(item, items, in_page)
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


def _merge_copy(item: Interaction, items: list[Item], in_page: dict[str, int]) -> Interaction | None:
    """The record to emit, or None when it is a copy of a message earlier in this page (whose
    labels then take this copy's in). A copy in an earlier page is the store's to merge."""
    key = item.message_id
    if key is None:
        return item
    index = in_page.get(key)
    if index is None:
        in_page[key] = len(items)
        return item
    first = cast(Interaction, items[index])  # in_page indexes Interactions only
    merged = tuple(dict.fromkeys(first.labels + item.labels))
    if merged != first.labels:
        items[index] = _with_labels(first, merged)
    return None


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
