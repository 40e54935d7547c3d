"""Splitting an mbox into messages: byte offsets and header blocks, bodies skipped.

    split_messages(f, start) -> RawMessage(offset, end, header, truncated) ...

The file is read in binary chunks and split on `From_` lines; only each message's header
block is kept, body bytes are skipped as they stream past (bodies are never stored, and
memory stays flat whatever the file size). A body line starting with "From " only splits
messages when it looks like a separator: preceded by a blank line (or at file start) and
followed by something date-like ("From sender Wed Nov 25 10:00:00 2026"). Takeout's own
form, `From 1683...@xxx <date>`, is a separator wherever it stands at a line start, since
Takeout does not always leave a blank line before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import BinaryIO
from collections.abc import Iterator

__all__ = ["CHUNK", "MAX_HEADER", "RawMessage", "split_messages"]

CHUNK = 1 << 20
MAX_HEADER = 4 << 20  # a header block larger than this is cut (no real one comes close)

# A separator line after a blank line: "From " + sender + a tail with a time and a year.
_SEPARATOR = re.compile(rb"From [^ \t\r\n]*[ \t]+[^\r\n]*?\b\d{1,2}:\d\d\b[^\r\n]*?\b(?:19|20)\d\d\b")
_TAKEOUT_SEPARATOR = re.compile(rb"From \d+@xxx [^\r\n]*\d\d:\d\d")


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
