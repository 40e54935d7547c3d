"""A counting semaphore in Redis whose holders each have their own expiry.

Per-account limits on requests in flight (Graph: 4 per mailbox; Gmail: a small cap per
account) must hold across every process that syncs the account. dramatiq's
ConcurrentRateLimiter keeps one counter: a SIGKILLed holder's increment is never given
back while others keep renewing the key, so a crash can take a slot away for minutes.
Here the holders are members of a sorted set scored by their deadline; a dead holder's
slot frees itself `ttl_s` after it was taken.
"""
from __future__ import annotations

import time
import uuid

# KEYS[1] semaphore key; ARGV: now, deadline, holder, limit, key ttl (ms)
_ACQUIRE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[4]) then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[5])
  return 1
end
return 0
"""


class RedisSemaphore:
    def __init__(self, client, key: str, limit: int, ttl_s: float):
        self.client = client
        self.key = key
        self.limit = limit
        self.ttl_s = ttl_s
        self._acquire = client.register_script(_ACQUIRE)

    def try_acquire(self) -> str | None:
        """A holder id when a slot was free, else None (never blocks)."""
        holder = uuid.uuid4().hex
        now = time.time()
        taken = self._acquire(keys=[self.key], args=[now, now + self.ttl_s, holder, self.limit,
                                                     int(self.ttl_s * 1000) + 1000])
        return holder if taken else None

    def release(self, holder: str) -> None:
        self.client.zrem(self.key, holder)

    def held(self) -> int:
        self.client.zremrangebyscore(self.key, "-inf", time.time())
        return int(self.client.zcard(self.key))
