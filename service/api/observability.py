"""Operations: request metrics and access logs (one ASGI middleware), request size limits,
and `/metrics` in Prometheus text format.

Each app has its own registry, so several apps in one process (tests) never collide.
Sync states and queue depths are read when Prometheus scrapes, with one small grouped
query and a few LLENs, not on every request.
"""

from __future__ import annotations

import logging
import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily

from ..jobs import queue_depths
from .errors import error_body

log = logging.getLogger("kith.access")

MAX_BODY_BYTES = 64 * 1024
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "kith_http_requests", "HTTP requests answered", ("method", "route", "status"), registry=self.registry
        )
        self.latency = Histogram(
            "kith_http_request_duration_seconds",
            "Time to answer a request",
            ("method", "route"),
            buckets=BUCKETS,
            registry=self.registry,
        )


class StateCollector:
    """Sync states, account statuses and queue depths, gathered at scrape time."""

    def __init__(self, app):
        self.app = app

    def collect(self):
        sync = GaugeMetricFamily("kith_sync_resources", "Synced resources by sync state", labels=("state",))
        accounts = GaugeMetricFamily("kith_accounts", "Accounts by status", labels=("provider", "status"))
        depth = GaugeMetricFamily("kith_queue_depth", "Messages waiting per work queue", labels=("queue",))
        up = GaugeMetricFamily("kith_metrics_source_up", "Whether a metrics source answered", labels=("source",))
        db = getattr(self.app.state, "db", None)
        try:
            if db is None:  # scraped before the app's startup made the pool
                raise LookupError("no database pool yet")
            with db.tx() as conn:
                for state, n in conn.execute("SELECT state, count(*) FROM sync_state GROUP BY state"):
                    sync.add_metric([state], n)
                for provider, status, n in conn.execute(
                    "SELECT provider, status, count(*) FROM accounts GROUP BY provider, status"
                ):
                    accounts.add_metric([provider, status], n)
            up.add_metric(["postgres"], 1)
        except Exception:  # a scrape must answer even when the database does not
            up.add_metric(["postgres"], 0)
        try:
            for queue, n in queue_depths(self.app.state.redis).items():
                depth.add_metric([queue], n)
            up.add_metric(["redis"], 1)
        except Exception:
            up.add_metric(["redis"], 0)
        yield from (sync, accounts, depth, up)


class Middleware:
    """Pure ASGI: counts and times every request, logs it, and refuses oversized bodies."""

    def __init__(self, app, metrics: Metrics, max_body: int = MAX_BODY_BYTES, larger: dict[str, int] | None = None):
        self.app = app
        self.metrics = metrics
        self.max_body = max_body
        self.larger = larger or {}  # path -> its own limit (file uploads), exact paths only

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message):
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        limit = self.larger.get(scope.get("path", ""), self.max_body)
        length = next((v for k, v in scope.get("headers", ()) if k == b"content-length"), None)
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _too_large(send_wrapper, limit)
        else:
            try:
                await self.app(scope, _limited(receive, limit), send_wrapper)
            except _BodyTooLarge:
                await _too_large(send_wrapper, limit)
        elapsed = time.perf_counter() - start
        route = scope.get("route")
        template = getattr(route, "path", None) or "unmatched"
        method = scope.get("method", "")
        self.metrics.requests.labels(method, template, str(status["code"])).inc()
        self.metrics.latency.labels(method, template).observe(elapsed)
        state = scope.get("state") or {}
        if method not in ("GET", "HEAD") and state.get("user_id") is not None:
            # A request that may have changed the user's data (merge, exclusion, delete...):
            # their cached pages of ties go, now that it has been answered (page_cache).
            pages = getattr(getattr(scope.get("app"), "state", None), "ties_pages", None)
            if pages is not None:
                pages.forget_user(state["user_id"])
        if template not in ("/metrics", "/healthz", "/readyz"):
            # The route template, not the path: paths carry contacts' addresses (/v1/rules/...).
            log.info(
                "request",
                extra={
                    "method": method,
                    "route": template,
                    "status": status["code"],
                    "ms": round(elapsed * 1000, 2),
                    "user_id": state.get("user_id"),
                },
            )


class _BodyTooLarge(Exception):
    pass


def _limited(receive, limit: int):
    seen = 0

    async def wrapped():
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise _BodyTooLarge()
        return message

    return wrapped


async def _too_large(send, limit: int) -> None:
    import json

    body = json.dumps(error_body(413, f"The request body is larger than {limit} bytes.")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
