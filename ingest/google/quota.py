"""Google's per-user quota, enforced before a request leaves (so Google never has to refuse).

Gmail charges quota units per method (https://developers.google.com/gmail/api/reference/quota):

    users.getProfile 1    users.labels.list 1    users.settings.sendAs.list 1
    users.history.list 2  users.messages.list 5  users.messages.get 5
    users.threads.get 10  users.threads.list 10

with a per-user ceiling of 250 units per second (moving average; 15,000 per minute).
Calendar has no units: 600 requests per user per minute, so each Calendar call is one
unit of a separate 10/s budget.

The budget is a token bucket kept in Redis and shared by every process that syncs the
same Google account: a Lua script (atomic, on Redis' clock) refills the bucket and grants
a request only in the present, and in turn: when the bucket is not in debt and the asker
is first in line it takes the request's cost (which may leave a debt of at most that one
request) and the caller sends at once; otherwise it takes nothing and says how long until
the debt is paid, and the caller asks again then, keeping its place. Nobody books a moment
in the future: a worker starved of the CPU that wakes late asks again instead of sending,
so late wake-ups cannot land at Google together (booked moments did: after a stall of the
process, every request it had booked during the stall left at once). An asker that does
not come back within a grace period loses its place, so a killed worker holds up no one.
A concurrency cap (ingest.semaphore, holders with their own expiry, same Redis) bounds the
requests in flight per account. Without Redis (unit tests, one process) an in-process
bucket grants in the present the same way (the threads of one process need no line).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

from ..semaphore import RedisSemaphore

if TYPE_CHECKING:
    import redis

GMAIL_COSTS = {
    "users.getProfile": 1,
    "users.labels.list": 1,
    "users.settings.sendAs.list": 1,
    "users.history.list": 2,
    "users.messages.list": 5,
    "users.messages.get": 5,
    "users.threads.get": 10,
    "users.threads.list": 10,
}
GMAIL_UNITS_PER_SECOND = 250.0
CALENDAR_REQUESTS_PER_SECOND = 10.0
SLOT_TTL_MS = 30_000

# KEYS: the bucket (tokens, stamp, seq), the line (ticket -> place), the askers' deadlines.
# ARGV: rate, capacity, cost, force ('1': a penalty, taken whatever the debt), ticket ('' on
# a first ask), grace (how late an asker may come back before it loses its place), poll.
# Returns {seconds to wait ('0': granted, send now), ticket}.
_TAKE = """
local now_parts = redis.call('TIME')
local now = tonumber(now_parts[1]) + tonumber(now_parts[2]) / 1000000
local rate, capacity, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local ticket, grace, poll = ARGV[5], tonumber(ARGV[6]), tonumber(ARGV[7])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'stamp')
local tokens = tonumber(state[1]) or capacity
local stamp = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - stamp) * rate)
local wait = 0
if ARGV[4] == '1' then
  tokens = tokens - cost
else
  if ticket == '' or not redis.call('ZSCORE', KEYS[2], ticket) then
    local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
    if ticket == '' then ticket = 't' .. seq end
    redis.call('ZADD', KEYS[2], seq, ticket)
  end
  -- askers at the head of the line that stopped asking (killed, or starved past their
  -- grace) give up their place; they take a new one at the back if they come back
  local head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  while head ~= ticket and (tonumber(redis.call('HGET', KEYS[3], head) or '0') < now) do
    redis.call('ZREM', KEYS[2], head)
    redis.call('HDEL', KEYS[3], head)
    head = redis.call('ZRANGE', KEYS[2], 0, 0)[1]
  end
  if head == ticket and tokens >= 0 then
    tokens = tokens - cost
    redis.call('ZREM', KEYS[2], ticket)
    redis.call('HDEL', KEYS[3], ticket)
  else
    if tokens < 0 then wait = -tokens / rate else wait = poll end
    redis.call('HSET', KEYS[3], ticket, tostring(now + wait + grace))
  end
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'stamp', tostring(now))
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], 3600) end
return {tostring(wait), ticket}
"""


class Bucket(Protocol):
    """What Quota needs of a bucket, local or shared through Redis."""

    rate: float

    def take(self, cost: float, force: bool = False) -> float: ...


class LocalBucket:
    """The same present-only bucket in one process."""

    def __init__(self, rate: float, capacity: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.capacity, self.clock = rate, capacity, clock
        self.tokens, self.stamp = capacity, clock()
        self.lock = threading.Lock()

    def take(self, cost: float, force: bool = False) -> float:
        """Take `cost` now and return 0, or take nothing and return the seconds to wait;
        `force` takes it whatever the debt (a penalty)."""
        with self.lock:
            now = self.clock()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            if force or self.tokens >= 0:
                self.tokens -= cost
                return 0.0
            return -self.tokens / self.rate


class RedisBucket:
    """The bucket of every process that syncs one account, with a line: a request is granted
    when the bucket is not in debt and its asker is first in line, so a process that asks a
    little later every time (busier, or with fewer threads) still gets its turn."""

    def __init__(
        self, client: redis.Redis, key: str, rate: float, capacity: float, grace_s: float = 1.0, poll_s: float = 0.01
    ) -> None:
        self.client, self.key, self.rate, self.capacity = client, key, rate, capacity
        self.grace_s, self.poll_s = grace_s, poll_s
        self.keys = [key, f"{key}:line", f"{key}:deadlines"]
        self.script = client.register_script(_TAKE)
        self._local = threading.local()

    def ask(self, cost: float, ticket: str = "", force: bool = False) -> tuple[float, str]:
        wait, ticket = self.script(
            keys=self.keys,
            args=[self.rate, self.capacity, cost, "1" if force else "0", ticket, self.grace_s, self.poll_s],
        )
        return float(wait), ticket.decode() if isinstance(ticket, bytes) else ticket

    def take(self, cost: float, force: bool = False) -> float:
        """Like LocalBucket.take; the caller's place in line is kept per thread until granted."""
        wait, ticket = self.ask(cost, getattr(self._local, "ticket", ""), force)
        if not force:
            self._local.ticket = ticket if wait > 0 else ""
        return wait


class Quota:
    """Budget and concurrency cap of one Google account.

    `units_per_second` is Google's ceiling (times a scale factor when an emulator runs a
    faster clock); the bucket holds `burst_s` seconds of it. The burst is kept small (50 ms:
    enough that an asker a few milliseconds late loses no budget): Google's own allowance
    for bursts must also absorb a whole batch sent at once (granted on credit: the next
    asker waits for it) and the jitter between the grant here and the request arriving
    there. Over any ten seconds Google then sees at most the ceiling plus the burst and one
    batch (125 units): 264 units/s at most, before that jitter.
    """

    def __init__(
        self,
        *,
        redis_url: str | None = None,
        account: str = "default",
        units_per_second: float = GMAIL_UNITS_PER_SECOND,
        calendar_per_second: float = CALENDAR_REQUESTS_PER_SECOND,
        burst_s: float = 0.05,
        max_concurrent: int = 4,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.units_per_second = units_per_second
        self.max_concurrent = max_concurrent
        self.sleep = sleep
        self.waited_s = 0.0
        self.units = 0
        self._lock = threading.Lock()
        self._local_slots = threading.BoundedSemaphore(max_concurrent)
        self._limiter: RedisSemaphore | None = None
        self.gmail: Bucket
        self.calendar: Bucket
        if redis_url:
            import redis

            client = redis.Redis.from_url(redis_url)
            prefix = f"kith:quota:google:{account}"
            self.gmail = RedisBucket(client, f"{prefix}:gmail", units_per_second, units_per_second * burst_s)
            self.calendar = RedisBucket(
                client, f"{prefix}:calendar", calendar_per_second, max(1.0, calendar_per_second * burst_s)
            )
            # Each holder has its own expiry: a worker killed while holding a slot gives it
            # back SLOT_TTL_MS later, whatever the other workers do meanwhile.
            self._limiter = RedisSemaphore(client, f"{prefix}:inflight", max_concurrent, SLOT_TTL_MS / 1000)
        else:
            self.gmail = LocalBucket(units_per_second, units_per_second * burst_s)
            self.calendar = LocalBucket(calendar_per_second, max(1.0, calendar_per_second * burst_s))

    def cost(self, methods: list[str]) -> int:
        return sum(GMAIL_COSTS.get(m, 5) for m in methods)

    def reserve(self, api: str, units: int) -> float:
        """Take `units` from the budget as soon as it grants them; returns the time waited."""
        bucket = self.gmail if api == "gmail" else self.calendar
        waited = 0.0
        while (wait := bucket.take(units)) > 0:
            self.sleep(wait)
            waited += wait
        with self._lock:
            self.units += units
            self.waited_s += waited
        return waited

    def penalise(self, api: str, seconds: float) -> None:
        """Google refused anyway (another client, a storm): push everyone back."""
        bucket = self.gmail if api == "gmail" else self.calendar
        bucket.take(seconds * bucket.rate, force=True)

    @contextmanager
    def slot(self, api: str, units: int) -> Iterator[None]:
        """Hold one of the account's in-flight slots and the units for one request/batch."""
        with self._local_slots:
            if self._limiter is None:
                self.reserve(api, units)
                yield
                return
            holder = self._limiter.acquire(sleep=self.sleep)
            try:
                self.reserve(api, units)
                yield
            finally:
                self._limiter.release(holder)
