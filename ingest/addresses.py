"""Parsing of address headers and encoded words, as mail in the wild writes them.

`parse_address_list("Ana <Ana@Example.org>, bob@x.org (Bob)")` returns
`[("Ana", "ana@example.org"), ("Bob", "bob@x.org")]`. It accepts what RFC 5322 allows and
the forms real archives contain besides: comments as names (`ana@x (Ana)`), quoted names
with commas (`"Ruiz, Ana" <ana@x>`), groups (`team: a@x, b@y;`, `undisclosed-recipients:;`),
names without angle brackets (`Ana Ruiz ana@x`), trailing dots, `mailto:`, stray quotes
and upper case. RFC 2047 encoded words in names are decoded (any charset Python knows,
undecodable bytes replaced). Garbage yields no entry rather than an exception.

This module only *parses*: deciding that two addresses are one person is identity's job.
It is regex-driven because an importer calls it for every recipient of every message and
must stay close to the speed of the stdlib header parser; `email.utils.getaddresses` is
several times slower and drops some of the odd forms above.
"""

from __future__ import annotations

import base64
import binascii
import re
from functools import lru_cache
from collections.abc import Iterator

from .clean import clean_name

__all__ = ["parse_address_list", "iter_address_list", "normalize_address", "decode_words", "is_valid_address"]

# A top-level list element: runs of quoted strings, comments, angle addresses or anything
# that is not a separator. Commas inside quotes, comments or <> do not split.
# Unrolled loops with possessive quantifiers throughout: `(?:[^"\\]|\\.)*` keeps a
# backtracking frame per character (1 MB for an 8 KB unterminated quote).
_ELEMENT = re.compile(r'(?:"[^"\\]*+(?:\\.[^"\\]*+)*+"?|\([^()\\]*+(?:\\.[^()\\]*+)*+\)?|<[^>]*+>?|[^,;"(<]++)++')
# Elements of a header without quotes, comments or groups (`;` separates as `,` does;
# empty elements are skipped, as they would yield nothing).
_PLAIN_ELEMENT = re.compile(r"[^,;]+")
# Quoted strings, comments, and the rest: comments are only comments outside quotes.
_PHRASE_TOKEN = re.compile(r'"[^"\\]*+(?:\\.[^"\\]*+)*+"?|\([^()\\]*+(?:\\.[^()\\]*+)*+\)?|[^"(]+')
# "display-name:" opening a group; no '@', '<' or quote before the colon.
_GROUP_OPEN = re.compile(r'^\s*[^:"<>@(),]*:')
# A quoted string (unescaped on the way out) or a stray quote (dropped).
_QUOTED = re.compile(r'"([^"\\]*+(?:\\.[^"\\]*+)*+)"|"')
_ESCAPE = re.compile(r"\\(.)")
_SPACES = re.compile(r"\s+")
_ENCODED_WORD = re.compile(r"=\?([^?\s]+)\?([qQbB])\?([^?\s]*)\?=")
_BETWEEN_WORDS = re.compile(r"(\?=)\s+(=\?)")
# Lenient on the local part (archives hold odd but deliverable ones), strict on the domain.
_VALID = re.compile(
    r"[^\s@<>(),;:\"\[\]\\]+@(?:[^\W_](?:[\w-]*[^\W_])?\.)+[^\W\d_](?:[\w-]*[^\W_])?|"
    r"[^\s@<>(),;:\"\[\]\\]+@\[[0-9a-f.:]+\]"
)
_EXCHANGE_DN = re.compile(r"/o=[^\s<>@]+")
# The fast path: `Name <addr>` or a bare `addr`, the address plain ASCII that _VALID accepts.
_PLAIN_ADDRESS = (
    r"[A-Za-z0-9_%+=-](?:[A-Za-z0-9._%+'=-]*)"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
)
_NAME_ADDR = re.compile(
    r"\s*(?:([^<>\s](?:[^<>]*[^<>\s])?)\s*<(" + _PLAIN_ADDRESS + r")>|<?(" + _PLAIN_ADDRESS + r")>?)\s*"
)


def parse_address_list(value: str | None) -> list[tuple[str | None, str]]:
    """Every (name, address) in an address header value, addresses normalised and valid."""
    return list(iter_address_list(value))


def iter_address_list(value: str | None) -> Iterator[tuple[str | None, str]]:
    """`parse_address_list`, one entry at a time: a caller that keeps only some of a huge
    header (ingest.audience) never holds the whole list."""
    if not value:
        return
    if '"' in value or "(" in value or ":" in value:
        out: list[tuple[str | None, str]] = []
        for found in _ELEMENT.finditer(value):
            _parse_element(found.group(), False, out)
            yield from out
            out.clear()
        return
    # Most headers hold only `Name <a@b>` and bare addresses: one regex per element.
    for element in _plain_elements(value):
        match = _NAME_ADDR.fullmatch(element)
        if match is None:
            out = []
            _parse_element(element, True, out)
            yield from out
            continue
        name, address, bare = match.groups()
        if bare is not None:
            yield None, bare.lower()
            continue
        address = address.lower()
        if "=?" in name or "  " in name or "\t" in name or "'" in name or "@" in name:
            name = _clean_name(name)
            if name is not None and "@" in name and normalize_address(name) == address:
                name = None
        yield name, address


def _plain_elements(value: str) -> Iterator[str]:
    # Splits lazily: str.split would copy a 4 MB header into a list of 100,000 strings at once.
    for match in _PLAIN_ELEMENT.finditer(value):
        yield match.group()


def _parse_element(element: str, plain: bool, out: list[tuple[str | None, str]]) -> None:
    if not plain:
        group = _GROUP_OPEN.match(element)
        if group:
            element = element[group.end() :]
    comment = None
    lt = element.rfind("<")
    if lt >= 0:
        gt = element.find(">", lt)
        raw = element[lt + 1 : gt] if gt >= 0 else element[lt + 1 :]
        # Obsolete source routes: <@relay1,@relay2:user@host>.
        if raw.startswith("@") and ":" in raw:
            raw = raw.rsplit(":", 1)[1]
        name_part = element[:lt]
        if not plain and "(" in element:
            name_part, comment = _split_comments(name_part + " " + (element[gt + 1 :] if gt >= 0 else ""))
        raws = [raw]
    else:
        if not plain and "(" in element:
            element, comment = _split_comments(element)
        words = element.split()
        raws = [w for w in words if "@" in w or w[:3].lower() == "/o="]
        if not raws:
            return
        # `Ana Ruiz ana@x` (no brackets): the other words are the name.
        name_part = " ".join(w for w in words if w not in raws) if len(raws) == 1 else ""
    for raw in raws:
        address = normalize_address(raw)
        if address is None:
            continue
        name = _clean_name(name_part)
        if name is None and comment:
            name = _clean_name(comment[1:-1] if comment.endswith(")") else comment[1:])
        if name is not None and "@" in name and normalize_address(name) == address:
            name = None
        out.append((name, address))


def _split_comments(text: str) -> tuple[str, str | None]:
    """The text without its (comments), and the first comment (which may serve as a name)."""
    kept, comment = [], None
    for token in _PHRASE_TOKEN.findall(text):
        if token.startswith("("):
            if comment is None:
                comment = token
            kept.append(" ")
        else:
            kept.append(token)
    return "".join(kept), comment


@lru_cache(maxsize=1 << 16)  # correspondents repeat: decode each written name once
def _clean_name(text: str) -> str | None:
    text = text.strip()
    if not text:
        return None
    if '"' in text:
        text = _QUOTED.sub(_unquote, text)
    if "=?" in text:
        text = decode_words(text)
    # Encoded words can decode to anything, NUL and escape sequences included.
    return clean_name(_SPACES.sub(" ", text).strip(" '"))


def _unquote(match: re.Match[str]) -> str:
    inner = match.group(1)
    return "" if inner is None else _ESCAPE.sub(r"\1", inner)


def normalize_address(raw: str) -> str | None:
    """Lower-cased, trimmed addr-spec (or Exchange DN), or None when it is not an address."""
    address = raw.strip().lower()
    if _VALID.fullmatch(address):
        return address
    address = address.strip("\"'<>").strip()
    if address[:7] == "mailto:":
        address = address[7:]
    address = address.rstrip(".").lower()
    if "=?" in address:
        return None
    if _VALID.fullmatch(address) or _EXCHANGE_DN.fullmatch(address):
        return address
    return None


def is_valid_address(raw: str) -> bool:
    return normalize_address(raw) is not None


def decode_words(text: str) -> str:
    """Decode RFC 2047 encoded words; whitespace between adjacent encoded words goes."""
    if "=?" not in text:
        return text
    text = _BETWEEN_WORDS.sub(r"\1\2", text)
    return _ENCODED_WORD.sub(_decode_word, text)


def _decode_word(match: re.Match[str]) -> str:
    charset, encoding, payload = match.group(1), match.group(2), match.group(3)
    charset = charset.split("*", 1)[0].lower()  # RFC 2231 language suffix
    try:
        if encoding in "qQ":
            data = binascii.a2b_qp(payload.replace("_", " ").encode("ascii", "replace"))
        else:
            data = base64.b64decode(payload + "=" * (-len(payload) % 4), validate=False)
    except (binascii.Error, ValueError):
        return match.group(0)
    try:
        return data.decode(charset, "replace")
    except LookupError:  # unknown charset: UTF-8 is by far the likeliest truth
        return data.decode("utf-8", "replace")
