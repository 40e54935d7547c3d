"""The HTTP edge to Microsoft Graph: one GET, throttled, with Graph's errors translated.

    200                                   -> the JSON document
    401                                   -> one token refresh, then AuthRevoked
    403 (consent missing, mailbox gone)   -> AuthRevoked
    410, or error code syncStateNotFound  -> CursorExpired
    429 / 503 (+ Retry-After)             -> wait and retry while the wait is short, else RateLimited
    other 5xx, timeouts, resets           -> a few jittered retries, then TransientError

Retries and waits are `ingest.retry`'s: a Retry-After is waited exactly (Graph asks per
mailbox, and the throttle already keeps requests apart).

The session ignores the environment (`trust_env=False`): requests would otherwise let
REQUESTS_CA_BUNDLE or a proxy variable override `verify`, and KITH_CA_BUNDLE (the
emulator's CA, or a corporate one) must be the CA that is used.
"""

from __future__ import annotations

import time
from typing import Any, Protocol
from collections.abc import Callable

import requests

from ..errors import AuthRevoked, CursorExpired, RateLimited, TransientError
from ..retry import RetryPolicy, retry_after_of, retrying
from .throttle import LocalThrottle, Throttle

EXPIRED_CODES = {"syncstatenotfound", "syncstateinvalid", "resyncrequired", "errorinvalidsyncstatedata"}
REVOKED_CODES = {
    "erroraccessdenied",
    "accessdenied",
    "invalidauthenticationtoken",
    "authorization_requestdenied",
    "errorinvaliduser",
    "mailboxnotenabledforrestapi",
}


class TokenSource(Protocol):
    def __call__(self, force_refresh: bool = False) -> str: ...


def make_session(ca_bundle: str | None) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.verify = ca_bundle or True
    return session


def _error_code(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("code") or "")
    return str(error or "")


class GraphClient:
    def __init__(
        self,
        graph_base: str,
        token: TokenSource,
        *,
        throttle: Throttle | None = None,
        session: requests.Session | None = None,
        ca_bundle: str | None = None,
        max_retries: int = 4,
        max_wait: float = 10.0,
        timeout: float = 30.0,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.base = graph_base.rstrip("/")
        self.token = token
        self.throttle = throttle or LocalThrottle()
        self.session = session or make_session(ca_bundle)
        self.max_retries = max_retries
        self.max_wait = max_wait
        self.timeout = timeout
        self.sleep = sleep
        self.requests = 0  # requests sent, for benchmarks and tests

    def owns(self, url: str) -> bool:
        """A link may only be followed if it points back at this Graph root (it carries our token)."""
        return url == self.base or url.startswith(self.base + "/")

    def get(
        self, path_or_url: str, *, params: dict[str, Any] | None = None, prefer: str | None = None
    ) -> dict[str, Any]:
        url = (
            path_or_url
            if path_or_url.startswith("https://") or path_or_url.startswith("http://")
            else f"{self.base}/{path_or_url.lstrip('/')}"
        )
        if not self.owns(url):
            raise CursorExpired("a Graph link that does not point at the configured Graph root")
        refreshed = False

        def once() -> dict[str, Any]:
            nonlocal refreshed
            while True:
                response = self._send(url, params, prefer, refreshed)
                if response.status_code == 401 and not refreshed:
                    refreshed = True  # one forced refresh, not counted as a retry
                    continue
                return _document(response)

        policy = RetryPolicy(
            attempts=self.max_retries + 1, max_rate_wait=self.max_wait, backoff_base=0.4, backoff_cap=self.max_wait
        )
        try:
            return retrying(once, what="Graph GET", policy=policy, translate=_unreachable, sleep=self.sleep)
        except _Refused as refused:
            raise refused.error from None

    def _send(self, url: str, params: dict[str, Any] | None, prefer: str | None, refreshed: bool) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token(force_refresh=refreshed)}", "Accept": "application/json"}
        if prefer:
            headers["Prefer"] = prefer
        try:
            with self.throttle.slot():
                self.requests += 1
                return self.session.get(url, params=params, headers=headers, timeout=self.timeout)
        except RateLimited as exc:  # only the throttle raises it here
            raise _Refused(exc) from None

    def close(self) -> None:
        self.session.close()


class _Refused(Exception):
    """The throttle's own RateLimited: it already waited for a slot, so it goes up unretried."""

    def __init__(self, error: RateLimited):
        super().__init__(str(error))
        self.error = error


def _unreachable(exc: BaseException) -> BaseException:
    if isinstance(exc, (requests.ConnectionError, requests.Timeout)):
        return TransientError(f"Graph unreachable: {type(exc).__name__}")
    return exc


def _document(response: requests.Response) -> dict[str, Any]:
    """The JSON document of a 200, or the Kith error for anything else (see the table above)."""
    status = response.status_code
    if status == 200:
        body: dict[str, Any] = response.json()
        return body
    code = _error_code(response).lower()
    if status == 410 or code in EXPIRED_CODES:
        raise CursorExpired(f"Graph says the delta state is gone ({status} {code or 'gone'})")
    if status in (401, 403) or code in REVOKED_CODES:
        raise AuthRevoked(f"Graph refused the token ({status} {code or 'unauthorized'})")
    if status in (429, 503):
        wait = retry_after_of(response.headers, 1.0 if status == 429 else 2.0)
        raise RateLimited(wait, f"Graph throttled the mailbox ({status})")
    if status >= 500:
        raise TransientError(f"Graph answered {status} {code}".strip())
    if status == 404:
        raise TransientError(f"Graph resource not found ({code or 404}): {response.url.split('?')[0]}")
    raise TransientError(f"Graph answered {status} {code}".strip())
