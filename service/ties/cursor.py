"""The opaque cursor of a keyset-paged list: the sort it belongs to, the last row's key, and
the moment it pins (for ties: the snapshot paging started on).

Clients get it as URL-safe base64 of a small JSON object and hand it back unchanged; one
that was not given out (bad base64, bad JSON, a value of the wrong kind, another sort) is
refused with BadCursor, which routes answer with a 400. Paging code (service/ties/pages.py,
and any other list paged "like ties") checks the value against its own key type before
putting it into SQL.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from ingest.errors import InputError


class BadCursor(InputError, ValueError):
    pass


NOT_OURS = "The cursor is not one this API gave out."


@dataclass(frozen=True)
class Cursor:
    sort: str
    value: str | float | int
    person_id: int
    as_of: str | None

    def encode(self) -> str:
        raw = json.dumps(
            {"s": self.sort, "v": self.value, "p": self.person_id, "a": self.as_of}, separators=(",", ":")
        ).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    @classmethod
    def decode(cls, text: str, sort: str) -> Cursor:
        try:
            data = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
            cursor = cls(str(data["s"]), data["v"], int(data["p"]), data.get("a"))
        except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
            raise BadCursor(NOT_OURS) from exc
        if cursor.sort != sort:
            raise BadCursor(f"The cursor belongs to sort={cursor.sort!r}; keep the same sort while paging.")
        if not isinstance(cursor.value, (str, int, float)) or isinstance(cursor.value, bool):
            raise BadCursor(NOT_OURS)
        return cursor
