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


def test_a_freed_slot_goes_to_whoever_waited_longest(redis_url):
    """A holder that frees its slot and asks again at once goes behind those already waiting;
    a one-off try does not jump the line either; an asker that stops asking loses its place."""
    client = redis.Redis.from_url(redis_url)
    sem = RedisSemaphore(client, "kith:test:fair", limit=1, ttl_s=5.0, grace_s=0.3)
    busy = sem.try_acquire("busy", join=True)
    assert busy == "busy"
    assert sem.try_acquire("patient", join=True) is None  # waits in line
    sem.release(busy)
    assert sem.try_acquire("busy", join=True) is None  # asks again at once: behind "patient"
    assert sem.try_acquire() is None  # a one-off try, too
    assert sem.try_acquire("patient", join=True) == "patient"
    sem.release("patient")
    assert sem.try_acquire("busy", join=True) == "busy"
    sem.release("busy")
    # "gone" joins the line and never comes back; "late" is served once gone's grace is over
    sem.try_acquire("holder")
    assert sem.try_acquire("gone", join=True) is None
    assert sem.try_acquire("late", join=True) is None
    sem.release("holder")
    assert sem.try_acquire("late", join=True) is None
    time.sleep(0.35)
    assert sem.try_acquire("late", join=True) == "late"


def test_acquire_waits_its_turn_and_gives_up_after_its_timeout(redis_url):
    client = redis.Redis.from_url(redis_url)
    sem = RedisSemaphore(client, "kith:test:timeout", limit=1, ttl_s=5.0)
    holder = sem.acquire(timeout_s=1.0)
    started = time.monotonic()
    assert sem.acquire(timeout_s=0.2) is None
    assert 0.2 <= time.monotonic() - started < 1.0
    sem.release(holder)
    assert sem.acquire(timeout_s=0.2) is not None
