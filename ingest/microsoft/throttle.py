"""Keeping within Graph's limits for one mailbox, across every process that syncs it.

Exchange Online allows 4 concurrent requests per mailbox and app, and 10,000 requests
per 10 minutes; beyond either it answers 429 with Retry-After. Both limits are kept in
Redis, keyed by mailbox, so two workers (or a worker and `kith sync`) share them:

- concurrency: a semaphore whose holders each have their own expiry (a sorted set of
  holder -> deadline). dramatiq's ConcurrentRateLimiter keeps one counter instead, and a
  SIGKILLed holder's increment would then never be given back while others keep the key
  alive; here a dead holder's slot frees itself after `slot_ttl` seconds.
- budget: dramatiq's WindowRateLimiter (a sliding window of one-second buckets).

`LocalThrottle` is the same contract inside one process, for tools and tests without Redis.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from contextlib import contextmanager
from typing import Any
from collections.abc import Iterator

import redis

from ..errors import RateLimited
from ..semaphore import RedisSemaphore

CONCURRENCY = 4
BUDGET = 10_000
WINDOW_S = 600


class Throttle:
    """`with throttle.slot(): <one HTTP request>`; raises RateLimited when it cannot be had."""

    @contextmanager
    def slot(self) -> Iterator[None]:  # pragma: no cover - interface
        yield


class RedisThrottle(Throttle):
    def __init__(
        self,
        client: redis.Redis,
        mailbox: str,
        *,
        concurrency: int = CONCURRENCY,
        budget: int = BUDGET,
        window_s: int = WINDOW_S,
        slot_ttl: float = 60.0,
        wait_s: float = 30.0,
    ):
        from dramatiq.rate_limits import WindowRateLimiter
        from dramatiq.rate_limits.backends import RedisBackend

        self.client = client
        self.mailbox = mailbox.lower()
        self.concurrency = concurrency
        self.slot_ttl = slot_ttl
        self.wait_s = wait_s
        self.key = f"kith:graph:inflight:{self.mailbox}"
        self.slots = RedisSemaphore(client, self.key, concurrency, slot_ttl)
        self.budget = WindowRateLimiter(
            RedisBackend(client=client), f"kith:graph:budget:{self.mailbox}", limit=budget, window=window_s
        )
        self.window_s = window_s

    @classmethod
    def from_url(cls, url: str, mailbox: str, **kwargs: Any) -> RedisThrottle:
        return cls(redis.Redis.from_url(url), mailbox, **kwargs)

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self.budget.acquire(raise_on_failure=False) as allowed:
            if not allowed:
                # The window slides by one-second buckets; a minute frees a useful share.
                raise RateLimited(60.0, "10,000 Graph requests in 10 minutes used up for this mailbox")
        holder = self.slots.acquire(timeout_s=self.wait_s)
        if holder is None:
            raise RateLimited(5.0, "4 Graph requests already in flight for this mailbox")
        try:
            yield
        finally:
            self.slots.release(holder)

    def in_flight(self) -> int:
        return self.slots.held()


class LocalThrottle(Throttle):
    """The same limits for threads of one process (no Redis)."""

    def __init__(self, *, concurrency: int = CONCURRENCY, budget: int = BUDGET, window_s: int = WINDOW_S):
        self._slots = threading.BoundedSemaphore(concurrency)
        self._lock = threading.Lock()
        self._times: deque[float] = deque()
        self.budget = budget
        self.window_s = window_s

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._lock:
            now = time.monotonic()
            while self._times and self._times[0] <= now - self.window_s:
                self._times.popleft()
            if len(self._times) >= self.budget:
                raise RateLimited(self._times[0] + self.window_s - now, "Graph request budget for this mailbox used up")
            self._times.append(now)
        with self._slots:
            yield
