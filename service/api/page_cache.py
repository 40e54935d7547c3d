"""Rendered pages of GET /v1/ties, kept in the process for a few seconds.

What a hit still costs, and why it is safe:

* Every request, hit or miss, checks its token in Postgres (auth.TOKEN_CTE) in the same
  statement that finds the snapshot it would read, so a revoked token or a deleted user is
  refused at once: nothing about tokens is cached.
* The key starts with the user id that statement returned, then the snapshot's time, then
  the page's query parameters. A user can only ever reach entries filed under their own
  id, and a new scoring run (a new snapshot time) is served on the very next request.
* What the key cannot see is a change *inside* an existing snapshot: re-scoring at the
  same instant, or people merged or deleted in another process (their snapshot rows go
  with them). Such a change shows up at most `TTL` seconds late. Changes made through
  this process's API are seen at once: any non-GET request of a user drops that user's
  pages once it has been answered (observability.Middleware calls `forget_user`).

Bounded in bytes (least recently used pages go first), so a burst of distinct queries
cannot grow the process.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import datetime
from collections.abc import Hashable

TTL = 3.0
MAX_BYTES = 16 * 1024 * 1024


class PageCache:
    def __init__(self, ttl: float = TTL, max_bytes: int = MAX_BYTES, clock=time.monotonic):
        self.ttl = ttl
        self.max_bytes = max_bytes
        self.clock = clock
        self._pages: OrderedDict[tuple, tuple[float, bytes]] = OrderedDict()
        self._bytes = 0

    def get(self, user_id: int, as_of: datetime, params: Hashable) -> bytes | None:
        key = (user_id, as_of, params)
        found = self._pages.get(key)
        if found is None:
            return None
        expires, body = found
        if self.clock() >= expires:
            self._drop(key)
            return None
        self._pages.move_to_end(key)
        return body

    def put(self, user_id: int, as_of: datetime, params: Hashable, body: bytes) -> None:
        if len(body) > self.max_bytes:
            return
        key = (user_id, as_of, params)
        self._drop(key)
        self._pages[key] = (self.clock() + self.ttl, body)
        self._bytes += len(body)
        while self._bytes > self.max_bytes:
            self._drop(next(iter(self._pages)))

    def forget_user(self, user_id: int) -> None:
        for key in [k for k in self._pages if k[0] == user_id]:
            self._drop(key)

    def __len__(self) -> int:
        return len(self._pages)

    def _drop(self, key: tuple) -> None:
        found = self._pages.pop(key, None)
        if found is not None:
            self._bytes -= len(found[1])
