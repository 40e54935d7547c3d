"""Waiting and retrying at a provider's edge: one backoff, one Retry-After parser, one loop.

    retrying(call, what=..., policy=RetryPolicy(), translate=...) -> call()'s result

`call` is one request; `translate` maps whatever it raised into `ingest.errors` (the Google
and Graph edges each have their own table). A `RateLimited` is waited out in-process when
its Retry-After is short (`policy.max_rate_wait`), a `TransientError` after a full-jitter
exponential backoff; after `policy.attempts` tries, or for a longer wait, the error goes up
to the sync engine, whose actor retries the whole run from the last committed cursor.

Retry-After is untrusted input: delta-seconds or an HTTP-date (RFC 9110 10.2.3); anything
unreadable, negative or not finite gives the caller's default, and no wait exceeds a day.
"""

from __future__ import annotations

import logging
import math
import random
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TypeVar
from collections.abc import Callable, Mapping

from .errors import RateLimited, TransientError

__all__ = ["RetryPolicy", "backoff", "parse_retry_after", "retry_after_of", "retrying"]

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_RETRY_AFTER = 86_400.0  # a server asking for more is broken; a day still lets the actor retry


# Its own generator: the sync's threads draw jitter without moving the global `random`
# state that other code (and Hypothesis, in the tests) relies on.
_jitter = random.Random()


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5  # tries in all, the first included
    max_rate_wait: float = 60.0  # a longer Retry-After is handed up as RateLimited at once
    backoff_base: float = 0.5  # TransientError: full jitter over base * 2**attempt ...
    backoff_cap: float = 30.0  # ... never more than this
    rate_jitter: float = 0.0  # Retry-After plus up to base * 2**attempt (at most 1 s): spreads threads apart


def backoff(attempt: int, base: float = 0.5, cap: float = 30.0) -> float:
    """Full-jitter exponential backoff (AWS architecture blog): spread retries apart."""
    return _jitter.uniform(0, min(cap, base * (2 ** min(attempt, 32))))


def parse_retry_after(value: str | bytes | None, default: float, now: datetime | None = None) -> float:
    """Seconds to wait for a Retry-After value (delta-seconds or an HTTP-date)."""
    if value is None:
        return default
    text = (value.decode("latin-1") if isinstance(value, bytes) else str(value)).strip()[:64]
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return default
        if when.tzinfo is None:  # "-0000": the date is UTC but its zone unknown
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - (now or datetime.now(timezone.utc))).total_seconds()
    if not math.isfinite(seconds) or seconds < 0:
        return default if not math.isfinite(seconds) else 0.0
    return min(seconds, MAX_RETRY_AFTER)


def retry_after_of(headers: Mapping[str, str] | None, default: float) -> float:
    """The Retry-After of a response's headers (httplib2 lower-cases names, requests does not care)."""
    if headers is None:
        return default
    raw = headers.get("retry-after") or headers.get("Retry-After")
    return parse_retry_after(raw, default)


def _same(exc: BaseException) -> BaseException:
    return exc


def retrying(
    call: Callable[[], T],
    *,
    what: str,
    policy: RetryPolicy = RetryPolicy(),
    translate: Callable[[BaseException], BaseException] = _same,
    sleep: Callable[[float], object] = time.sleep,
    on_rate_limited: Callable[[float], object] | None = None,
) -> T:
    """Run `call`, retrying rate limits and transient failures in-process a few times."""
    for attempt in range(policy.attempts):
        try:
            return call()
        except Exception as exc:
            error = translate(exc)
            last = attempt == policy.attempts - 1
            if isinstance(error, RateLimited) and not last and error.retry_after <= policy.max_rate_wait:
                if on_rate_limited is not None:
                    on_rate_limited(error.retry_after)
                jitter = backoff(attempt, policy.rate_jitter, 1.0) if policy.rate_jitter else 0.0
                sleep(error.retry_after + jitter)
                continue
            if isinstance(error, TransientError) and not last:
                log.info("%s: %s; retrying", what, error)
                sleep(backoff(attempt, policy.backoff_base, policy.backoff_cap))
                continue
            if error is exc:
                raise
            raise error from None
    raise AssertionError("unreachable: the last attempt returns or raises")
