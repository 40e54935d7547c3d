"""Signed links in the digest: one-click unsubscribe and snooze-this-tie.

A link carries its own proof: an HMAC-SHA256 of what it does (purpose, user, person,
date) under a key derived from `settings.secret()`, so the API can act on it without a
login and nobody can forge a link for another user or another tie. Nothing secret is in
the URL: ids and a date, plus a truncated MAC (128 bits is plenty against forgery).

Unsubscribe links never expire (mail clients call them long after the mail arrived, and
RFC 8058 expects the URL in `List-Unsubscribe` to keep working). Snooze links carry the
date until which the tie is snoozed; they stay valid until that date.

Acting on a link is a POST (RFC 8058 one-click for unsubscribe, a confirm form for
snooze), never a GET: mail scanners fetch every URL in a message.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import date
from urllib.parse import urlencode

UNSUBSCRIBE_PATH = "/digest/unsubscribe"
SNOOZE_PATH = "/digest/snooze"


def _key(secret: bytes) -> bytes:
    # A key of its own, so a MAC made here is never valid anywhere else the secret is used.
    return hmac.new(secret, b"kith/digest-links/v1", hashlib.sha256).digest()


def _mac(secret: bytes, *parts: object) -> str:
    message = "\x1f".join(str(p) for p in parts).encode()
    digest = hmac.new(_key(secret), message, hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def unsubscribe_token(secret: bytes, user_id: int) -> str:
    return _mac(secret, "unsubscribe", int(user_id))


def snooze_token(secret: bytes, user_id: int, person_id: int, until: date) -> str:
    return _mac(secret, "snooze", int(user_id), int(person_id), until.isoformat())


def _same(expected: str, given: str | None) -> bool:
    # compare_digest refuses non-ASCII str: compare bytes, so a mangled link is just invalid.
    return hmac.compare_digest(expected.encode(), (given or "").encode("utf-8", "surrogatepass"))


def verify_unsubscribe(secret: bytes, user_id: int, token: str) -> bool:
    return _same(unsubscribe_token(secret, user_id), token)


def verify_snooze(
    secret: bytes, user_id: int, person_id: int, until: date, token: str, *, today: date | None = None
) -> bool:
    if today is not None and until < today:
        return False
    return _same(snooze_token(secret, user_id, person_id, until), token)


def unsubscribe_url(base_url: str, secret: bytes, user_id: int) -> str:
    query = urlencode({"u": int(user_id), "t": unsubscribe_token(secret, user_id)})
    return f"{base_url.rstrip('/')}{UNSUBSCRIBE_PATH}?{query}"


def snooze_url(base_url: str, secret: bytes, user_id: int, person_id: int, until: date) -> str:
    query = urlencode(
        {
            "u": int(user_id),
            "p": int(person_id),
            "until": until.isoformat(),
            "t": snooze_token(secret, user_id, person_id, until),
        }
    )
    return f"{base_url.rstrip('/')}{SNOOZE_PATH}?{query}"


def list_unsubscribe_headers(base_url: str, secret: bytes, user_id: int) -> dict[str, str]:
    """The RFC 2369 / RFC 8058 headers: the URL, and that a bare POST to it unsubscribes."""
    return {
        "List-Unsubscribe": f"<{unsubscribe_url(base_url, secret, user_id)}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
