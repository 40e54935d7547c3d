"""The Redis semaphore behind per-account in-flight caps: a dead holder's slot comes back."""
import time

import redis

from ingest.semaphore import RedisSemaphore


def test_limit_holds_and_a_dead_holders_slot_expires(redis_url):
    client = redis.Redis.from_url(redis_url)
    sem = RedisSemaphore(client, "kith:test:sem", limit=2, ttl_s=0.5)
    # Given two holders, a third is refused
    first, second = sem.try_acquire(), sem.try_acquire()
    assert first and second and first != second
    assert sem.try_acquire() is None and sem.held() == 2
    # When one releases, a slot is free again
    sem.release(first)
    third = sem.try_acquire()
    assert third is not None
    # And when holders die without releasing (second, third), their slots free themselves
    assert sem.try_acquire() is None
    time.sleep(0.6)
    assert sem.held() == 0
    assert sem.try_acquire() is not None
    # A separate client (another process) sees the same slots
    other = RedisSemaphore(redis.Redis.from_url(redis_url), "kith:test:sem", limit=2, ttl_s=0.5)
    assert other.held() == 1
