"""Google's failures, translated into Kith's error hierarchy at the boundary.

    HTTP 429, 403 rateLimitExceeded/userRateLimitExceeded   -> RateLimited(retry_after)
    HTTP 5xx, timeouts, connection resets                   -> TransientError
    HTTP 404 from history.list (stale or foreign historyId) -> CursorExpired
    HTTP 410 from events.list (stale syncToken)             -> CursorExpired
    HTTP 400 for a cursor (page/sync token, history id)     -> CursorExpired
    invalid_grant at the token endpoint, 401 after refresh  -> AuthRevoked
    anything else 4xx                                       -> TransientError with the reason

The connector runs each call through `ingest.retry.retrying` with `translator(...)` and
GOOGLE_RETRY: in-process retries first (jittered exponential backoff for 5xx, Retry-After
plus a little jitter for rate limits, so threads of one account do not return together),
then the error goes up to the sync engine.
"""

from __future__ import annotations

import json
import socket
from functools import partial
from collections.abc import Callable, Mapping

import httplib2
from google.auth import exceptions as auth_exceptions
from googleapiclient.errors import HttpError

from ingest.errors import AuthRevoked, CursorExpired, RateLimited, SourceError, TransientError
from ingest.retry import RetryPolicy, retry_after_of

GOOGLE_RETRY = RetryPolicy(attempts=5, max_rate_wait=60.0, backoff_base=0.5, backoff_cap=30.0, rate_jitter=0.05)
RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded", "quotaExceeded", "usageLimits"}


def reason_of(content: bytes | str | None) -> str:
    try:
        body = json.loads(content or b"{}")
        errors = body.get("error", {}).get("errors") or [{}]
        return str(errors[0].get("reason") or body.get("error", {}).get("status", ""))
    except (ValueError, AttributeError):
        return ""


def translate_status(
    status: int,
    reason: str,
    headers: Mapping[str, str] | None = None,
    *,
    cursor_call: bool = False,
    what: str = "google",
) -> SourceError | None:
    """The Kith error for an HTTP failure, or None for a plain 404 of an item."""
    if status == 429 or (status == 403 and reason in RATE_REASONS):
        return RateLimited(retry_after_of(headers, 1.0), f"{what}: {reason or 'rate limited'}")
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
        found = translate_status(exc.resp.status, reason_of(exc.content), exc.resp, cursor_call=cursor_call, what=what)
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


def translator(*, cursor_call: bool = False, what: str = "google") -> Callable[[BaseException], BaseException]:
    """`translate` with its context bound, for `ingest.retry.retrying`."""
    return partial(translate, cursor_call=cursor_call, what=what)
