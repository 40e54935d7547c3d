"""Google's per-user quota, enforced before a request leaves (so Google never has to refuse).

Gmail charges quota units per method (https://developers.google.com/gmail/api/reference/quota):

    users.getProfile 1    users.labels.list 1    users.settings.sendAs.list 1
    users.history.list 2  users.messages.list 5  users.messages.get 5
    users.threads.get 10  users.threads.list 10

with a per-user ceiling of 250 units per second (moving average; 15,000 per minute).
Calendar has no units: 600 requests per user per minute, so each Calendar call is one
unit of a separate 10/s budget.

The budget is a token bucket kept in Redis and shared by every process that syncs the
same Google account: a Lua script (atomic, on Redis' clock) refills the bucket, takes the
cost and, when that leaves a debt, returns how long the caller must wait before sending.
Debts queue callers fairly, so several workers together stay at the ceiling and never
above it. A concurrency cap (ingest.semaphore, holders with their own expiry, same Redis) bounds
the requests in flight per account. Without Redis (unit tests, one process) an in-process
bucket does the same.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager

from ..semaphore import RedisSemaphore

GMAIL_COSTS = {
    "users.getProfile": 1, "users.labels.list": 1, "users.settings.sendAs.list": 1,
    "users.history.list": 2, "users.messages.list": 5, "users.messages.get": 5,
    "users.threads.get": 10, "users.threads.list": 10,
}
GMAIL_UNITS_PER_SECOND = 250.0
CALENDAR_REQUESTS_PER_SECOND = 10.0
SLOT_TTL_MS = 30_000

_TAKE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1]) or capacity
local stamp = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - stamp) * rate) - cost
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
redis.call('EXPIRE', KEYS[1], 3600)
if tokens >= 0 then return '0' end
return tostring(-tokens / rate)
"""


class LocalBucket:
    """The same debt-queueing bucket in one process."""

    def __init__(self, rate: float, capacity: float):
        self.rate, self.capacity = rate, capacity
        self.tokens, self.stamp = capacity, time.monotonic()
        self.lock = threading.Lock()

    def take(self, cost: float) -> float:
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate) - cost
            self.stamp = now
            return 0.0 if self.tokens >= 0 else -self.tokens / self.rate


class RedisBucket:
    def __init__(self, client, key: str, rate: float, capacity: float):
        self.client, self.key, self.rate, self.capacity = client, key, rate, capacity
        self.script = client.register_script(_TAKE)

    def take(self, cost: float) -> float:
        return float(self.script(keys=[self.key], args=[self.rate, self.capacity, cost]))


class Quota:
    """Budget and concurrency cap of one Google account.

    `units_per_second` is Google's ceiling (times a scale factor when an emulator runs a
    faster clock); the bucket holds `burst_s` seconds of it. The burst is kept small:
    Google's own allowance for bursts must also absorb a whole batch sent at once and the
    jitter between reserving units here and the request arriving there.
    """

    def __init__(self, *, redis_url: str | None = None, account: str = "default",
                 units_per_second: float = GMAIL_UNITS_PER_SECOND,
                 calendar_per_second: float = CALENDAR_REQUESTS_PER_SECOND,
                 burst_s: float = 0.2, max_concurrent: int = 4, sleep=time.sleep):
        self.units_per_second = units_per_second
        self.max_concurrent = max_concurrent
        self.sleep = sleep
        self.waited_s = 0.0
        self.units = 0
        self._lock = threading.Lock()
        self._local_slots = threading.BoundedSemaphore(max_concurrent)
        self._limiter = None
        if redis_url:
            import redis

            client = redis.Redis.from_url(redis_url)
            prefix = f"kith:quota:google:{account}"
            self.gmail = RedisBucket(client, f"{prefix}:gmail", units_per_second,
                                     units_per_second * burst_s)
            self.calendar = RedisBucket(client, f"{prefix}:calendar", calendar_per_second,
                                        max(1.0, calendar_per_second * burst_s))
            # Each holder has its own expiry: a worker killed while holding a slot gives it
            # back SLOT_TTL_MS later, whatever the other workers do meanwhile.
            self._limiter = RedisSemaphore(client, f"{prefix}:inflight", max_concurrent,
                                           SLOT_TTL_MS / 1000)
        else:
            self.gmail = LocalBucket(units_per_second, units_per_second * burst_s)
            self.calendar = LocalBucket(calendar_per_second, max(1.0, calendar_per_second * burst_s))

    def cost(self, methods: list[str]) -> int:
        return sum(GMAIL_COSTS.get(m, 5) for m in methods)

    def reserve(self, api: str, units: int) -> float:
        """Take `units` from the budget, sleeping until they may be spent."""
        wait = (self.gmail if api == "gmail" else self.calendar).take(units)
        with self._lock:
            self.units += units
            self.waited_s += wait
        if wait > 0:
            self.sleep(wait)
        return wait

    def penalise(self, api: str, seconds: float) -> None:
        """Google refused anyway (another client, a storm): push everyone back."""
        bucket = self.gmail if api == "gmail" else self.calendar
        bucket.take(seconds * bucket.rate)

    @contextmanager
    def slot(self, api: str, units: int):
        """Hold one of the account's in-flight slots and the units for one request/batch."""
        with self._local_slots:
            if self._limiter is None:
                self.reserve(api, units)
                yield
                return
            delay = 0.005
            while (holder := self._limiter.try_acquire()) is None:
                self.sleep(delay)
                delay = min(0.2, delay * 2)
            try:
                self.reserve(api, units)
                yield
            finally:
                self._limiter.release(holder)
