"""A counting semaphore in Redis whose holders each have their own expiry.

Per-account limits on requests in flight (Graph: 4 per mailbox; Gmail: a small cap per
account) must hold across every process that syncs the account. dramatiq's
ConcurrentRateLimiter keeps one counter: a SIGKILLed holder's increment is never given
back while others keep renewing the key, so a crash can take a slot away for minutes.
Here the holders are members of a sorted set scored by their deadline; a dead holder's
slot frees itself `ttl_s` after it was taken. Askers wait in line: a slot goes to whoever
has waited longest, so a process that frees a slot and asks again at once (or simply polls
more often) cannot starve the others; an asker that stops asking loses its place after
`grace_s`.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, overload

if TYPE_CHECKING:
    import redis

# KEYS: the holders (holder -> expiry), the line (asker -> place), the askers' deadlines.
# ARGV: now, the holder's expiry, asker id, limit, key ttl (ms), join ('1': wait in line when
# refused), grace (how late an asker in line may come back before it loses its place).
_ACQUIRE = """
local now = tonumber(ARGV[1])
local me = ARGV[3]
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
for _, asker in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1)) do
  if asker ~= me and tonumber(redis.call('HGET', KEYS[3], asker) or '0') < now then
    redis.call('ZREM', KEYS[2], asker)
    redis.call('HDEL', KEYS[3], asker)
  end
end
local free = tonumber(ARGV[4]) - redis.call('ZCARD', KEYS[1])
local ahead = redis.call('ZRANK', KEYS[2], me) or redis.call('ZCARD', KEYS[2])
local granted = 0
if ahead < free then
  redis.call('ZREM', KEYS[2], me)
  redis.call('HDEL', KEYS[3], me)
  redis.call('ZADD', KEYS[1], ARGV[2], me)
  granted = 1
elseif ARGV[6] == '1' then
  if not redis.call('ZSCORE', KEYS[2], me) then
    redis.call('ZADD', KEYS[2], redis.call('HINCRBY', KEYS[3], '#seq', 1), me)
  end
  redis.call('HSET', KEYS[3], me, tostring(now + tonumber(ARGV[7])))
end
for i = 1, 3 do redis.call('PEXPIRE', KEYS[i], ARGV[5]) end
return granted
"""


class RedisSemaphore:
    def __init__(self, client: redis.Redis, key: str, limit: int, ttl_s: float, grace_s: float = 1.0) -> None:
        self.client = client
        self.key = key
        self.keys = [key, f"{key}:line", f"{key}:askers"]
        self.limit = limit
        self.ttl_s = ttl_s
        self.grace_s = grace_s
        self._acquire = client.register_script(_ACQUIRE)

    def try_acquire(self, asker: str | None = None, *, join: bool = False) -> str | None:
        """A holder id when a slot is free for this asker (nobody waiting in line ahead of it),
        else None (never blocks). With `join`, a refused asker keeps a place in line for
        `grace_s`: ask again with the same `asker` id before then."""
        holder = asker or uuid.uuid4().hex
        now = time.time()
        taken = self._acquire(
            keys=self.keys,
            args=[
                now,
                now + self.ttl_s,
                holder,
                self.limit,
                int(max(self.ttl_s, self.grace_s) * 1000) + 1000,
                "1" if join else "0",
                self.grace_s,
            ],
        )
        return holder if taken else None

    # Without a timeout it waits as long as it takes: a holder id, never None.
    @overload
    def acquire(self, timeout_s: None = None, sleep: Callable[[float], None] = ..., poll_s: float = ...) -> str: ...
    @overload
    def acquire(
        self, timeout_s: float | None, sleep: Callable[[float], None] = ..., poll_s: float = ...
    ) -> str | None: ...
    def acquire(
        self, timeout_s: float | None = None, sleep: Callable[[float], None] = time.sleep, poll_s: float = 0.02
    ) -> str | None:
        """Wait in line for a slot; the holder id, or None after `timeout_s`."""
        asker = uuid.uuid4().hex
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        delay = 0.002
        while (holder := self.try_acquire(asker, join=True)) is None:
            if deadline is not None and time.monotonic() > deadline:
                self.client.zrem(self.keys[1], asker)  # gives up its place at once
                return None
            sleep(delay)
            delay = min(poll_s, delay * 2)
        return holder

    def release(self, holder: str) -> None:
        self.client.zrem(self.key, holder)

    def held(self) -> int:
        self.client.zremrangebyscore(self.key, "-inf", time.time())
        return int(self.client.zcard(self.key))
