"""HTTP plumbing of the Google connector: one authorized httplib2 client and one pair of
discovery-built services per thread (httplib2 is not thread-safe), and batches whose URL,
like every other call, is under the configured API base (KITH_GOOGLE_API_BASE).

google-api-python-client builds a batch URL from the discovery document's own rootUrl,
not from `client_options.api_endpoint`, so the batch is made here with an explicit URI.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import Any

import google_auth_httplib2
import httplib2
from googleapiclient.discovery import build
from googleapiclient.http import BatchHttpRequest

from ingest.errors import SourceError
from ingest.retry import retrying

from .errors import GOOGLE_RETRY, reason_of, translate_status, translator

# A batch part's outcome: (body, None), (None, the Kith error), or (None, "gone") for a 404.
BatchResult = tuple[dict[str, Any] | None, SourceError | str | None]


class Transport:
    def __init__(self, credentials: Any, api_base: str, timeout: float = 30.0):
        self.credentials = credentials
        self.api_base = api_base.rstrip("/")
        self.timeout = timeout
        self._local = threading.local()
        self._refresh_lock = threading.Lock()

    def _http(self) -> Any:
        local = self._local
        if getattr(local, "http", None) is None:
            local.http = google_auth_httplib2.AuthorizedHttp(self.credentials, http=httplib2.Http(timeout=self.timeout))
        return local.http

    def gmail(self) -> Any:
        local = self._local
        if getattr(local, "gmail", None) is None:
            local.gmail = build(
                "gmail",
                "v1",
                http=self._http(),
                static_discovery=True,
                cache_discovery=False,
                client_options={"api_endpoint": f"{self.api_base}/"},
            )
        return local.gmail

    def calendar(self) -> Any:
        local = self._local
        if getattr(local, "calendar", None) is None:
            local.calendar = build(
                "calendar",
                "v3",
                http=self._http(),
                static_discovery=True,
                cache_discovery=False,
                client_options={"api_endpoint": f"{self.api_base}/calendar/v3/"},
            )
        return local.calendar

    def gmail_users(self, name: str) -> Any:
        """A cached users().<name>() resource: building one runs google-api-python-client's
        method factory for every method of the resource, far dearer than a request."""
        local = self._local
        cache = getattr(local, "resources", None)
        if cache is None:
            cache = local.resources = {}
        if name not in cache:
            users = self.gmail().users()
            cache[name] = (
                users
                if name == "users"
                else (users.settings().sendAs() if name == "sendAs" else getattr(users, name)())
            )
        return cache[name]

    def events(self) -> Any:
        local = self._local
        if getattr(local, "events", None) is None:
            local.events = self.calendar().events()
        return local.events

    def execute(self, request: Any) -> dict[str, Any]:
        result: dict[str, Any] = request.execute(http=self._http(), num_retries=0)
        return result

    def batch_uri(self, api: str) -> str:
        return f"{self.api_base}/batch/gmail/v1" if api == "gmail" else f"{self.api_base}/batch/calendar/v3"

    def run_batch(self, api: str, requests: dict[str, object]) -> dict[str, BatchResult]:
        """Send requests (id -> HttpRequest) as one batch; returns id -> (body, None) on
        success, (None, KithError) for a failure Kith knows, (None, "gone") for a 404."""
        results: dict[str, BatchResult] = {}

        def collect(request_id: str, response: Any, exception: BaseException | None) -> None:
            if exception is None:
                results[request_id] = (response, None)
                return
            status = getattr(getattr(exception, "resp", None), "status", 0)
            error = translate_status(
                status,
                reason_of(getattr(exception, "content", b"")),
                getattr(exception, "resp", None),
                what=f"{api} batch part",
            )
            results[request_id] = (None, error if error is not None else "gone")

        batch = BatchHttpRequest(callback=collect, batch_uri=self.batch_uri(api))
        for request_id, request in requests.items():
            batch.add(request, request_id=request_id)
        batch.execute(http=self._http())
        return results

    def ensure_token(self) -> None:
        """Refresh once, up front, rather than from several threads at the same time."""
        from google.auth.transport.requests import Request

        with self._refresh_lock:
            if not self.credentials.valid:
                what = "google token refresh"
                retrying(
                    lambda: self.credentials.refresh(Request()),
                    what=what,
                    policy=replace(GOOGLE_RETRY, attempts=3),
                    translate=translator(what=what),
                )
