"""The Gmail budget grants requests only in the present: nobody books a moment in the future,
so workers that wake late (a starved CPU) cannot land at Google together."""

from __future__ import annotations

import time
import uuid

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.google.quota import LocalBucket, Quota, RedisBucket


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 2.0), st.integers(1, 125)), min_size=1, max_size=120))
def test_granted_units_never_outrun_the_rate_by_more_than_burst_and_one_request(steps):
    """Whatever the gaps between asks (a stall included): units granted in any interval
    [a, b] are at most the bucket's capacity + rate * (b - a) + the largest single cost."""
    clock = Clock()
    rate, capacity = 250.0, 50.0
    bucket = LocalBucket(rate, capacity, clock=clock)
    granted: list[tuple[float, int]] = []
    for gap, cost in steps:
        clock.now += gap
        if bucket.take(cost) == 0:
            granted.append((clock.now, cost))
    biggest = max(cost for _, cost in steps)
    for i, (start, _) in enumerate(granted):
        total = 0
        for when, cost in granted[i:]:
            total += cost
            assert total <= capacity + rate * (when - start) + biggest + 1e-6


def test_a_refused_ask_takes_nothing_and_says_when_to_ask_again():
    clock = Clock()
    bucket = LocalBucket(100.0, 20.0, clock=clock)
    assert bucket.take(50) == 0  # 20 -> -30: granted, in debt by less than one request
    waits = [bucket.take(50) for _ in range(5)]
    assert waits == [0.3] * 5  # asking again does not deepen the debt
    clock.now += 0.31
    assert bucket.take(50) == 0


def test_after_a_stall_only_burst_and_one_request_leave_at_once(quota_redis):
    """Three workers were waiting for the budget when their process stalled for half a
    second; when they run again, one is granted and the others wait (the old design had
    each booked a moment, and all three then sent together)."""
    import redis

    client = redis.Redis.from_url(quota_redis)
    bucket = RedisBucket(client, f"kith:quota:google:test-{uuid.uuid4().hex}:gmail", 1000.0, 100.0)
    assert bucket.take(100) == 0 and bucket.take(100) == 0  # burst spent, one request of debt
    assert all(bucket.take(100) > 0 for _ in range(3))
    time.sleep(0.5)
    answers = [bucket.take(100) for _ in range(3)]
    assert answers[0] == 0 and answers[1] == 0  # 100 refilled (capacity), then one request's debt
    assert answers[2] > 0


def test_a_penalty_is_taken_even_in_debt():
    quota = Quota(units_per_second=100.0, burst_s=0.2, sleep=lambda s: None)
    quota.gmail.take(40)  # 20 -> -20
    before = quota.gmail.tokens
    quota.penalise("gmail", 1.0)
    assert quota.gmail.tokens <= before - 100 + 1  # a second's worth more debt (+ refill meanwhile)


def _bucket(quota_redis, **kwargs):
    import redis

    client = redis.Redis.from_url(quota_redis)
    return RedisBucket(client, f"kith:quota:google:test-{uuid.uuid4().hex}:gmail", 1000.0, 100.0, **kwargs)


def test_askers_of_one_account_are_served_in_turn(quota_redis):
    """Workers in several processes wait for one shared mailbox: the one that asked first is
    served first, even when another asks again sooner (a less busy process)."""
    bucket = _bucket(quota_redis)
    assert bucket.ask(200)[0] == 0  # 100 -> -100
    wait_first, first = bucket.ask(100)
    wait_second, second = bucket.ask(100)
    assert wait_first > 0 and wait_second > 0 and first != second
    time.sleep(0.12)  # the debt is paid
    assert bucket.ask(100, second)[0] > 0  # the second asker is quicker, but not first in line
    assert bucket.ask(100, first)[0] == 0
    time.sleep(0.12)
    assert bucket.ask(100, second)[0] == 0


def test_an_asker_that_never_comes_back_loses_its_place(quota_redis):
    """A worker killed while waiting in line holds up the others for its grace period only."""
    bucket = _bucket(quota_redis, grace_s=0.2)
    assert bucket.ask(200)[0] == 0
    _, gone = bucket.ask(100)  # and never asks again
    _, waiting = bucket.ask(100)
    time.sleep(0.12)
    assert bucket.ask(100, waiting)[0] > 0  # the gone asker is still within its grace
    time.sleep(0.25)
    assert bucket.ask(200, waiting)[0] == 0  # 100 -> -100
    _, third = bucket.ask(100)
    wait, again = bucket.ask(100, gone)  # back at last: at the end of the line
    assert wait > 0 and again == gone
    time.sleep(0.12)
    assert bucket.ask(100, gone)[0] > 0
    assert bucket.ask(100, third)[0] == 0
