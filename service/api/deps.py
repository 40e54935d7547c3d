"""Request dependencies: the database, the settings and the user behind a bearer token.

`current_user` is how a route learns who is asking (GET /v1/ties makes the same check
inside its single statement, see auth.TOKEN_CTE); every query a route makes is then
scoped by that user id, so another user's ids simply find nothing (404).

Two pools: `db` (service.db.Database, sync, for the routes that run in worker threads)
and `apool` (async, autocommit) for the token check and the hot read of a page of ties.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Annotated
from collections.abc import Iterator

import psycopg

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .. import auth
from ..config import Settings
from ..db import Database

bearer = HTTPBearer(auto_error=False, description="An API token (`kith user add` prints the first).")
UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="kith"'}


# Async on purpose: FastAPI runs a sync dependency in a worker thread, which for a mere
# attribute read costs more than the read.
async def get_db(request: Request) -> Database:
    return request.app.state.db


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


@contextmanager
def reading(db: Database) -> Iterator[psycopg.Connection]:
    """A pooled connection in autocommit, for reads.

    Each statement is its own transaction, so a read costs its queries' round trips and no
    BEGIN/COMMIT; reads that must agree with each other use `db.tx()` instead.
    """
    with db.pool.connection() as conn:
        conn.autocommit = True
        try:
            yield conn
        finally:
            conn.autocommit = False


async def current_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> int:
    # Async, on the app's async pool: checking a token costs no hand-off to a worker thread.
    if credentials is None:
        raise HTTPException(401, "Missing bearer token: send `Authorization: Bearer <token>`.", headers=UNAUTHORIZED)
    async with request.app.state.apool.connection() as conn:
        user_id = await auth.user_for_token_async(conn, credentials.credentials)
    if user_id is None:
        raise HTTPException(401, "The token is unknown or revoked.", headers=UNAUTHORIZED)
    request.state.user_id = user_id
    return user_id


async def known_query_only(request: Request) -> None:
    """Refuse query parameters the route does not define: `?teir=strong` is a typo to report,
    not a filter to ignore silently."""
    names = _query_names(request)
    if names is not None:
        refuse_unknown(request, names)


def refuse_unknown(request: Request, names: set[str] | frozenset[str]) -> None:
    """`known_query_only` for a route that knows its parameter names itself."""
    unknown = sorted(set(request.query_params) - names)
    if unknown:
        raise HTTPException(
            422,
            {
                "error": "invalid_request",
                "message": f"Unknown query parameter{'s' if len(unknown) > 1 else ''}: "
                f"{', '.join(repr(u[:40]) for u in unknown[:5])}.",
                "details": [
                    {"loc": ["query", u[:40]], "message": "not a parameter of this route", "type": "unknown_parameter"}
                    for u in unknown[:5]
                ],
            },
        )


def _query_names(request: Request) -> set[str] | None:
    route = request.scope.get("route")
    template = getattr(route, "path", None)
    if template is None:
        return None
    table = getattr(request.app.state, "query_table", None)
    if table is None:
        table = {}
        for path, item in request.app.openapi()["paths"].items():
            for method, operation in item.items():
                table[(method.upper(), path)] = {
                    p["name"] for p in operation.get("parameters", ()) if p.get("in") == "query"
                }
        request.app.state.query_table = table
    return table.get((request.method, template.replace(":int}", "}")))


User = Annotated[int, Depends(current_user)]
Db = Annotated[Database, Depends(get_db)]
Config = Annotated[Settings, Depends(get_settings)]
