"""Text from calendar entries made fit to store: no control bytes, no lone surrogates, bounded.

    clean_text(value, limit) -> str | None     names, reasons, excerpts
    bounded_id(value) -> str                   UIDs and provider event ids
    clean_address(value) -> str | None         None when the address held anything odd

PostgreSQL refuses NUL in text and psycopg cannot encode a lone surrogate, so one such
character in one attendee's name would fail the page and stop the sync; terminal escapes
and bidi overrides would reach the dashboard and the CLI. An id is part of a unique index
(at most ~2,700 bytes a row), so a longer one keeps a readable head and a digest of the
whole: the same UID still gives the same id. An address with a control character is
dropped rather than repaired, as a repaired one would be someone else's.

(A minimal local version for the calendar parsers; ingest/clean.py, written in parallel for
the mail parsers, is meant to take this over at merge.)
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

__all__ = ["clean_text", "bounded_id", "clean_address", "MAX_NAME", "MAX_ID", "MAX_ADDRESS"]

MAX_NAME = 200
MAX_ID = 200
MAX_ADDRESS = 320  # RFC 5321: 64 + 1 + 255
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")


def _strip(value: str) -> str:
    if value.isprintable():  # the common case, without a look at every character
        return value
    return "".join(ch for ch in value if unicodedata.category(ch) not in ("Cc", "Cs") or ch == " ")


def clean_text(value, limit: int = MAX_NAME) -> str | None:
    if value is None:
        return None
    text = _BIDI.sub("", _strip(str(value))).strip()
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text or None


def bounded_id(value) -> str:
    raw = str(value)
    text = _BIDI.sub("", _strip(raw))
    if len(text) <= MAX_ID and text == raw:
        return text
    digest = hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()[:16]
    return f"{text[:MAX_ID - 24]}#sha256:{digest}"


def clean_address(value: str | None) -> str | None:
    if value is None:
        return None
    if len(value) > MAX_ADDRESS or _strip(value) != value or _BIDI.search(value):
        return None
    return value
