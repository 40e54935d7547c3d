"""ingest.retry: the one Retry-After parser and retry loop of the Google and Graph edges."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.errors import AuthRevoked, RateLimited, TransientError
from ingest.retry import MAX_RETRY_AFTER, RetryPolicy, parse_retry_after, retry_after_of, retrying

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def test_retry_after_reads_seconds_and_http_dates():
    # Given the two forms RFC 9110 allows, Then both give the seconds to wait
    assert parse_retry_after("120", 1.0, NOW) == 120.0
    assert parse_retry_after(" 1.5 ", 1.0, NOW) == 1.5
    assert parse_retry_after(format_datetime(NOW + timedelta(seconds=90), usegmt=True), 1.0, NOW) == 90.0
    # And a date in the past means now; a missing header means the caller's default
    assert parse_retry_after(format_datetime(NOW - timedelta(hours=1), usegmt=True), 1.0, NOW) == 0.0
    assert retry_after_of({"retry-after": "7"}, 1.0) == 7.0 and retry_after_of({}, 2.0) == 2.0


def test_retry_after_refuses_what_would_stall_a_worker():
    # Given values a broken or hostile server might send, Then none yields an endless wait
    assert parse_retry_after("inf", 3.0, NOW) == 3.0
    assert parse_retry_after("nan", 3.0, NOW) == 3.0
    assert parse_retry_after("1e300", 3.0, NOW) == MAX_RETRY_AFTER
    assert parse_retry_after("-5", 3.0, NOW) == 0.0
    assert parse_retry_after("soon", 3.0, NOW) == 3.0


@given(st.one_of(st.text(max_size=80), st.binary(max_size=80), st.none()))
def test_retry_after_is_always_a_bounded_wait(value):
    # Given any header value, Then the wait is a finite number of seconds within a day
    wait = parse_retry_after(value, 1.0, NOW)
    assert 0.0 <= wait <= MAX_RETRY_AFTER


def test_retrying_waits_out_short_limits_and_hands_up_long_ones():
    slept: list[float] = []
    answers = iter([RateLimited(2.0), TransientError("reset"), {"ok": 1}])

    def call():
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    # When a call is rate limited, then fails once, then answers
    assert retrying(call, what="t", sleep=slept.append) == {"ok": 1}
    # Then the Retry-After was waited exactly (no jitter by default) and the reset backed off
    assert slept[0] == 2.0 and len(slept) == 2 and 0.0 <= slept[1] <= 1.0  # second try: up to 0.5 * 2
    # And a wait longer than the policy allows goes up at once, as do errors that are not retryable
    with pytest.raises(RateLimited):
        retrying(
            lambda: (_ for _ in ()).throw(RateLimited(120.0)),
            what="t",
            policy=RetryPolicy(max_rate_wait=10.0),
            sleep=slept.append,
        )
    with pytest.raises(AuthRevoked):
        retrying(lambda: (_ for _ in ()).throw(AuthRevoked("no")), what="t", sleep=slept.append)
    assert len(slept) == 2
