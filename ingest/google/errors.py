"""Google's failures, translated into Kith's error hierarchy at the boundary.

    HTTP 429, 403 rateLimitExceeded/userRateLimitExceeded   -> RateLimited(retry_after)
    HTTP 5xx, timeouts, connection resets                   -> TransientError
    HTTP 404 from history.list (stale or foreign historyId) -> CursorExpired
    HTTP 410 from events.list (stale syncToken)             -> CursorExpired
    HTTP 400 for a cursor (page/sync token, history id)     -> CursorExpired
    invalid_grant at the token endpoint, 401 after refresh  -> AuthRevoked
    anything else 4xx                                       -> TransientError with the reason

`retrying(call)` runs one call with in-process retries first (jittered exponential
backoff for 5xx, `Retry-After` for rate limits) and only then lets the error go up to the
sync engine, whose actor retries the whole run from the last committed cursor.
"""
from __future__ import annotations

import json
import logging
import random
import socket
import time
from typing import Callable, TypeVar

import httplib2
from google.auth import exceptions as auth_exceptions
from googleapiclient.errors import HttpError

from ingest.errors import AuthRevoked, CursorExpired, RateLimited, SourceError, TransientError

log = logging.getLogger(__name__)
T = TypeVar("T")
RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "usageLimits"}


def reason_of(content: bytes | str | None) -> str:
    try:
        body = json.loads(content or b"{}")
        errors = body.get("error", {}).get("errors") or [{}]
        return errors[0].get("reason") or body.get("error", {}).get("status", "")
    except (ValueError, AttributeError):
        return ""


def retry_after_of(headers, default: float = 1.0) -> float:
    raw = None
    if headers is not None:
        raw = headers.get("retry-after") or headers.get("Retry-After")
    try:
        return max(0.0, float(raw)) if raw is not None else default
    except (TypeError, ValueError):
        return default


def translate_status(status: int, reason: str, headers=None, *, cursor_call: bool = False,
                     what: str = "google") -> SourceError | None:
    """The Kith error for an HTTP failure, or None for a plain 404 of an item."""
    if status == 429 or (status == 403 and reason in RATE_REASONS):
        return RateLimited(retry_after_of(headers), f"{what}: {reason or 'rate limited'}")
    if status >= 500:
        return TransientError(f"{what}: HTTP {status} {reason}".strip())
    if status == 410 or (status in (400, 404) and cursor_call):
        return CursorExpired(f"{what}: cursor no longer valid (HTTP {status})")
    if status == 401:
        return AuthRevoked(f"{what}: credentials refused (HTTP 401)")
    if status == 404:
        return None
    return TransientError(f"{what}: HTTP {status} {reason}".strip())


def translate(exc: BaseException, *, cursor_call: bool = False, what: str = "google") -> BaseException:
    if isinstance(exc, SourceError):
        return exc
    if isinstance(exc, HttpError):
        found = translate_status(exc.resp.status, reason_of(exc.content), exc.resp,
                                 cursor_call=cursor_call, what=what)
        return found if found is not None else exc
    if isinstance(exc, auth_exceptions.RefreshError):
        text = str(exc)
        if "invalid_grant" in text or "invalid_client" in text or "unauthorized_client" in text:
            return AuthRevoked("Google refused the stored grant (invalid_grant): reconnect the account")
        return TransientError(f"{what}: token refresh failed")
    if isinstance(exc, auth_exceptions.TransportError):
        return TransientError(f"{what}: token endpoint unreachable")
    if isinstance(exc, (socket.timeout, TimeoutError, ConnectionError, httplib2.HttpLib2Error, OSError)):
        return TransientError(f"{what}: {type(exc).__name__}")
    return exc


def backoff(attempt: int, base: float = 0.5, cap: float = 30.0) -> float:
    """Full-jitter exponential backoff (AWS architecture blog): spread retries apart."""
    return random.uniform(0, min(cap, base * (2 ** attempt)))


def retrying(call: Callable[[], T], *, what: str, cursor_call: bool = False, attempts: int = 5,
             max_rate_wait: float = 60.0, sleep=time.sleep, on_rate_limited=None) -> T:
    """Run `call`, retrying rate limits and transient failures in-process a few times."""
    for attempt in range(attempts):
        try:
            return call()
        except Exception as exc:  # noqa: BLE001 - translated below, the rest re-raised
            error = translate(exc, cursor_call=cursor_call, what=what)
            last = attempt == attempts - 1
            if isinstance(error, RateLimited) and not last and error.retry_after <= max_rate_wait:
                if on_rate_limited is not None:
                    on_rate_limited(error.retry_after)
                sleep(error.retry_after + backoff(attempt, 0.05, 1.0))
                continue
            if isinstance(error, TransientError) and not last:
                log.info("%s: %s; retrying", what, error)
                sleep(backoff(attempt))
                continue
            if error is exc:
                raise
            raise error from None
    raise AssertionError("unreachable")
