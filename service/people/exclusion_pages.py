"""Pages of exclusions (what was left out of the ties, and why), cursor-paged like the ties.

    page = exclusion_page(conn, user_id, limit=50, cursor=None)
    page.items        # [{"address", "person_id", "reason", "count", "tie_kept"}], biggest first
    page.next_cursor  # opaque text for the following page, None on the last one

The order is count (descending), then address, reason and person id: total, so a cursor
(the key of the last row sent) names one place in it, and rows that appear or go between
two requests shift no other row into or out of a page twice. Exclusions are derived, not
stored: each page is worked out from the user's data as `exchanges.exclusions` does (as a
computed page of ties is), and only the page's rows are picked (`heapq.nsmallest`, no full
sort) and sent, so a response, and the CLI's table, stay small whatever the mailbox holds.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import json
from dataclasses import dataclass
from datetime import datetime

from ingest.errors import InputError

from .exchanges import exclusion_rows

__all__ = ["BadCursor", "ExclusionPage", "exclusion_page", "MAX_LIMIT"]

MAX_LIMIT = 200
_MAX_FIELD = 1000  # an address or a reason longer than this was never given out in a cursor


class BadCursor(InputError, ValueError):
    pass


@dataclass(frozen=True)
class ExclusionPage:
    items: list[dict]
    next_cursor: str | None


def _key(row: dict) -> tuple:
    return (-row["count"], row["address"], row["reason"], row["person_id"])


def encode(key: tuple) -> str:
    count, address, reason, person_id = key
    raw = json.dumps([-count, address, reason, person_id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode(text: str) -> tuple:
    try:
        count, address, reason, person_id = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadCursor("The cursor is not one this API gave out.") from exc
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (count, person_id)) or not all(
        isinstance(v, str) and len(v) <= _MAX_FIELD for v in (address, reason)
    ):
        raise BadCursor("The cursor is not one this API gave out.")
    return (-count, address, reason, person_id)


def exclusion_page(
    conn, user_id: int, *, limit: int = 50, cursor: str | None = None, as_of: datetime | None = None
) -> ExclusionPage:
    """One page of the user's exclusions after `cursor` (BadCursor when it is not ours)."""
    limit = max(1, int(limit))  # the API holds it to MAX_LIMIT; the CLI to its --limit
    after = decode(cursor) if cursor else None
    rows = exclusion_rows(conn, user_id, as_of)
    candidates = (r for r in rows if after is None or _key(r) > after)
    page = heapq.nsmallest(limit + 1, candidates, key=_key)
    more = len(page) > limit
    page = page[:limit]
    return ExclusionPage([dict(r) for r in page], encode(_key(page[-1])) if more else None)
