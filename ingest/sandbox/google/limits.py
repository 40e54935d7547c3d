"""The emulator's per-user quota and its fault switches.

Gmail: 250 quota units per user per second as a moving average that allows short bursts
(modelled as a token bucket refilling at 250/s that holds `burst_s` seconds of units),
charged per method with Google's documented costs. Calendar has no units: 600 requests
per user per minute, sliding. `quota_scale` speeds the clock of both (x20: 5,000 units/s)
so benchmarks finish; the shape of the limit does not change.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

# https://developers.google.com/gmail/api/reference/quota (per-method quota usage)
GMAIL_COSTS = {
    "users.getProfile": 1,
    "users.labels.list": 1,
    "users.settings.sendAs.list": 1,
    "users.messages.list": 5,
    "users.messages.get": 5,
    "users.threads.get": 10,
    "users.threads.list": 10,
    "users.history.list": 2,
}
GMAIL_UNITS_PER_SECOND = 250.0
CALENDAR_REQUESTS_PER_SECOND = 600.0 / 60.0


class Bucket:
    """A token bucket; `take` either charges `cost` now or says how long to wait."""

    def __init__(self, rate: float, capacity: float, clock=time.monotonic):
        self.rate, self.capacity, self.clock = rate, capacity, clock
        self.tokens = capacity
        self.stamp = clock()
        self.lock = threading.Lock()

    def take(self, cost: float) -> float:
        with self.lock:
            now = self.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if self.tokens >= cost:
                self.tokens -= cost
                return 0.0
            return (cost - self.tokens) / self.rate


@dataclass
class Usage:
    """What one user spent: units and requests by method, refusals, first/last charge."""

    units: int = 0
    requests: Counter = field(default_factory=Counter)
    refused: int = 0
    first: float | None = None
    last: float | None = None

    def charge(self, method: str, units: int) -> None:
        now = time.monotonic()
        self.first = now if self.first is None else self.first
        self.last = now
        self.units += units
        self.requests[method] += 1


@dataclass
class Faults:
    """Switches a test flips. Counters count down per request (batch parts included)."""

    rate_limit_storm: int = 0  # the next N requests get a rate-limit error
    rate_limit_status: int = 429  # 429, or 403 with reason userRateLimitExceeded
    storm_methods: tuple[str, ...] = ()  # only these methods (e.g. "users.messages.get"); () = all
    retry_after_s: float | None = 1.0  # Retry-After on storm refusals (None: no header)
    server_errors: int = 0  # the next N requests get a 5xx
    server_error_status: int = 503
    latency_s: float = 0.0
    stale_cursors: bool = False  # while set: every history id 404s, every sync token 410s
    revoked: bool = False  # while set: refresh grants get invalid_grant, API calls 401
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def take_storm(self, method: str = "") -> bool:
        with self.lock:
            if self.storm_methods and method not in self.storm_methods:
                return False
            if self.rate_limit_storm > 0:
                self.rate_limit_storm -= 1
                return True
            return False

    def take_server_error(self) -> bool:
        with self.lock:
            if self.server_errors > 0:
                self.server_errors -= 1
                return True
            return False


class QuotaBook:
    """Buckets and usage per user."""

    def __init__(self, quota_scale: float = 1.0, burst_s: float = 1.0, enforce: bool = True):
        self.scale = quota_scale
        self.burst_s = burst_s
        self.enforce = enforce
        self.lock = threading.Lock()
        self.gmail: dict[str, Bucket] = {}
        self.calendar: dict[str, Bucket] = {}
        self.usage: dict[str, Usage] = {}

    def _bucket(self, table: dict, user: str, rate: float, window_s: float) -> Bucket:
        with self.lock:
            if user not in table:
                table[user] = Bucket(rate * self.scale, rate * self.scale * window_s)
            return table[user]

    def charge(self, user: str, api: str, method: str) -> float:
        """Charge one request; returns 0 when allowed, else seconds until it would be."""
        if api == "gmail":
            units = GMAIL_COSTS.get(method, 5)
            bucket = self._bucket(self.gmail, user, GMAIL_UNITS_PER_SECOND, self.burst_s)
        else:
            units = 1
            # Calendar counts requests per minute in a sliding window: a minute of burst.
            bucket = self._bucket(self.calendar, user, CALENDAR_REQUESTS_PER_SECOND, 60.0)
        wait = bucket.take(units) if self.enforce else 0.0
        with self.lock:
            usage = self.usage.setdefault(f"{api}:{user}", Usage())
            if wait > 0:
                usage.refused += 1
            else:
                usage.charge(method, units)
        return wait

    def used(self, user: str, api: str = "gmail") -> Usage:
        with self.lock:
            return self.usage.setdefault(f"{api}:{user}", Usage())

    def reset_usage(self) -> None:
        with self.lock:
            self.usage.clear()
