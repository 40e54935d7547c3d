"""The FastAPI app: JSON API under /v1, the dashboard at /, /healthz and /metrics.

create_app(settings)
  lifespan: Database pool (sync) + async pool + Redis client + a broker with the actors bound to it
            (app.state.jobs, service.jobs.Jobs; routes get it as api.jobs.Queue); closed on shutdown
            (uvicorn runs the shutdown half on SIGTERM after draining requests)
  middleware: metrics + access log + body size limit (observability.Middleware); it also drops a
              user's cached pages of ties (page_cache) after any request of theirs that may write;
              security headers on every response, errors included (headers.SecurityHeaders)
  errors: JSON bodies for every 4xx/5xx (errors.install)
  routers: ties, people, accounts, digest, me (tokens, export, delete), insight, dashboard
"""

from __future__ import annotations

from contextlib import asynccontextmanager

import redis
from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from psycopg_pool import AsyncConnectionPool

from ..config import Settings
from ..dashboard import views as dashboard
from ..db import Database
from ..digest import web as digest_links
from ..jobs import Jobs, make_broker
from . import accounts, connect, coverage, digest, docs, errors, insight, me, people, team, ties, uploads
from .deps import known_query_only
from .headers import SecurityHeaders, security_headers
from .observability import Metrics, Middleware, StateCollector
from .page_cache import PageCache

DESCRIPTION = """Kith's JSON API: the health of your relationships, from email and calendar metadata.

Every route except `/healthz`, `/metrics` and the OAuth callbacks needs `Authorization: Bearer <token>`
(`kith user add` prints your first token; `POST /v1/tokens` makes more). Errors are JSON:
`{"error": code, "message": what was wrong, "details": [...]}`.
"""


def create_app(settings: Settings, *, pool_size: int = 8) -> FastAPI:
    if not settings.database_url or not settings.redis_url:
        raise ValueError(
            "create_app needs resolved settings (database_url and redis_url); see service.embedded.resolve"
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Each run of the lifespan closes what it opened, even when a second one (two test
        # clients on one app) has since put its own in app.state.
        db = Database(settings.db_url(), min_size=1, max_size=pool_size)
        apool = AsyncConnectionPool(
            settings.db_url(), min_size=1, max_size=pool_size, open=False, kwargs={"autocommit": True}, name="kith-api"
        )
        await apool.open()
        cache = redis.Redis.from_url(settings.broker_url(), socket_timeout=1.0, socket_connect_timeout=1.0)
        jobs = Jobs(make_broker(settings.broker_url()))
        app.state.db, app.state.apool, app.state.redis, app.state.jobs = db, apool, cache, jobs
        try:
            yield
        finally:
            jobs.broker.client.close()
            cache.close()
            await apool.close()
            db.close()

    app = FastAPI(
        title="Kith",
        version="1.0.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        openapi_url="/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.ties_pages = PageCache()  # rendered pages of GET /v1/ties, for a few seconds
    metrics = Metrics()
    metrics.registry.register(StateCollector(app))
    app.state.metrics = metrics
    errors.install(app)
    app.add_middleware(Middleware, metrics=metrics, larger=uploads.BODY_LIMITS)
    # Added last, so outermost: its headers reach every answer, the body-size 413 included.
    app.add_middleware(SecurityHeaders, headers=security_headers(settings))

    @app.get(
        "/healthz",
        tags=["operations"],
        summary="Liveness and database reachability",
        responses={503: {"description": "The database does not answer."}},
    )
    def healthz() -> JSONResponse:
        try:
            with app.state.db.tx() as conn:
                conn.execute("SELECT 1")
        except Exception:
            return JSONResponse({"status": "degraded", "database": False}, status_code=503)
        return JSONResponse({"status": "ok", "database": True})

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="Readiness: the database answers",
        responses={503: {"description": "The database does not answer."}},
    )
    def readyz() -> JSONResponse:
        return healthz()

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {"text/plain": {"example": "kith_http_requests_total{...} 1.0"}}}},
    )
    def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # GET /v1/ties refuses unknown query parameters itself (ties.list_router).
    app.include_router(ties.list_router, responses=errors.documented(400, 401, 413, 422))
    for module in (ties, people, accounts, digest, me, insight, uploads, coverage):
        app.include_router(
            module.router, responses=errors.documented(400, 401, 413, 422), dependencies=[Depends(known_query_only)]
        )
    # OAuth starts and callbacks: providers add query parameters of their own, so this
    # router accepts what it does not know.
    app.include_router(connect.router, responses=errors.documented(400, 401, 413, 422))
    # The digest's one-click unsubscribe and snooze links: signed, so no token.
    app.include_router(digest_links.router, responses=errors.documented(400, 403, 404, 413, 422))
    app.include_router(docs.router)  # FastAPI's own /docs page has an inline script
    team.install(app)  # /v1/team/... and the dashboard's /team page
    dashboard.install(app)
    return app
