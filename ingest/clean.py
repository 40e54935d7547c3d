"""Cleaning of untrusted text at the parsing boundary: what mail says becomes safe to keep.

Everything a message or event carries (names, addresses, ids, labels, header values) is
written by strangers. Before it becomes a record it loses what no reader needs and what
breaks the store or a terminal:

- C0 controls (NUL..US, DEL) and C1 controls (U+0080..U+009F): PostgreSQL text cannot hold
  NUL at all, and the rest only serve to forge terminal or log output. Tabs, line breaks
  and the other whitespace controls become one space, so `"Ana\\tRuiz"` stays two words.
- Lone surrogates (U+D800..U+DFFF alone in a str, as `surrogateescape` or JSON `\\ud800`
  make them): they cannot be encoded as UTF-8, so neither PostgreSQL nor JSON output
  would take them. They become U+FFFD.
- Bidirectional embeddings, overrides and isolates (U+202A..U+202E, U+2066..U+2069): they
  make a name read backwards in a terminal or a page ("Gus\u202egro.live@"), and no name
  needs them to be stored.
- Unbounded length: a field is cut to a limit. Identifiers are not merely cut, since two
  long ids sharing a prefix would then collide and one message overwrite another: a long
  id keeps a prefix and gains a hash of the whole.

`clean_text` is the one function; the others are its uses with the limits Kith keeps.
Records apply them on construction (see `ingest.records`), so a connector cannot forget.
"""

from __future__ import annotations

import hashlib
import re
from typing import overload

__all__ = [
    "clean_text",
    "clean_name",
    "clean_id",
    "clean_address",
    "clean_label",
    "clean_header",
    "clean_excerpt",
    "NAME_LIMIT",
    "ADDRESS_LIMIT",
    "ID_LIMIT",
    "LABEL_LIMIT",
    "HEADER_LIMIT",
    "EXCERPT_LIMIT",
]

NAME_LIMIT = 256
# Ids and addresses live in btree indexes (at most ~2,700 bytes a row): 500 characters of
# up to 4 UTF-8 bytes each stay below that.
ID_LIMIT = 500
ADDRESS_LIMIT = 320  # RFC 5321: 64 + 1 + 255
LABEL_LIMIT = 200
HEADER_LIMIT = 1000
EXCERPT_LIMIT = 2000

# Whitespace controls (TAB, LF, VT, FF, CR, NEL) read as a space; every other control goes.
_SPACE_CONTROLS = re.compile(r"[\t\n\x0b\x0c\r\x85]+")
_UNWANTED = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f\u202a-\u202e\u2066-\u2069]+")
_SURROGATE = re.compile(r"[\ud800-\udfff]")
# One scan says whether anything needs doing; nearly every value is clean already.
_ANY = re.compile(r"[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


@overload
def clean_text(value: str, limit: int, *, keep_lines: bool = False) -> str: ...
@overload
def clean_text(value: None, limit: int, *, keep_lines: bool = False) -> None: ...
@overload
def clean_text(value: str | None, limit: int, *, keep_lines: bool = False) -> str | None: ...
def clean_text(value: str | None, limit: int, *, keep_lines: bool = False) -> str | None:
    """`value` without control characters or lone surrogates, at most `limit` characters.

    With `keep_lines`, line feeds survive (excerpts are several header lines). Outer
    whitespace is trimmed; an empty result is returned as "" (callers decide about None).
    """
    if value is None:
        return None
    if not isinstance(value, str):
        value = str(value)
    # Work in proportion to what is kept: a 60,000-character label is read only as far as
    # its first 4 x `limit` characters (cleaning removes, never adds).
    value = value[: 4 * limit + 16]
    if _ANY.search(value) is not None:
        if keep_lines:
            value = value.replace("\r\n", "\n").replace("\r", "\n")
            value = "\n".join(_SPACE_CONTROLS.sub(" ", line) for line in value.split("\n"))
        else:
            value = _SPACE_CONTROLS.sub(" ", value)
        value = _SURROGATE.sub("\ufffd", _UNWANTED.sub("", value))
        value = value.strip()
    if len(value) > limit:
        value = value[:limit].rstrip()
    return value


def clean_name(value: str | None) -> str | None:
    """A display name or title: clean, bounded, runs of spaces as one; None when empty."""
    if value is None:
        return None
    value = clean_text(value, NAME_LIMIT)
    if "  " in value:
        value = " ".join(value.split())
    return value or None


@overload
def clean_id(value: str) -> str: ...
@overload
def clean_id(value: None) -> None: ...
@overload
def clean_id(value: str | None) -> str | None: ...
def clean_id(value: str | None) -> str | None:
    """An identifier (provider id, Message-ID, thread id, address): clean and bounded
    without collisions. Returns None for None and keeps "" as ""."""
    if value is None:
        return None
    if not isinstance(value, str):
        value = str(value)
    if _ANY.search(value) is not None:
        value = _SURROGATE.sub("\ufffd", _UNWANTED.sub("", _SPACE_CONTROLS.sub(" ", value))).strip()
    if len(value) > ID_LIMIT:
        digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]
        value = f"{value[: ID_LIMIT - 34]}~{digest}"
    return value


def clean_address(value: str | None) -> str | None:
    """An address as a calendar gives it: kept only if it needed no cleaning and fits. An
    address with a control character is dropped rather than repaired: a repaired one would
    be somebody else's."""
    if value is None or len(value) > ADDRESS_LIMIT or _ANY.search(value) is not None:
        return None
    return value


def clean_label(value: str | None) -> str | None:
    return None if value is None else (clean_text(value, LABEL_LIMIT) or None)


@overload
def clean_header(value: str) -> str: ...
@overload
def clean_header(value: None) -> None: ...
@overload
def clean_header(value: str | None) -> str | None: ...
def clean_header(value: str | None) -> str | None:
    return None if value is None else clean_text(value, HEADER_LIMIT)


def clean_excerpt(value: str | None) -> str:
    return clean_text(value or "", EXCERPT_LIMIT, keep_lines=True)
