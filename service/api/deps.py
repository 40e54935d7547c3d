"""Request dependencies: the database, the settings and the user behind a bearer token.

`current_user` is the only way a route learns who is asking; every query a route makes
is then scoped by that user id, so another user's ids simply find nothing (404).

Two pools: `db` (service.db.Database, sync, for the routes that run in worker threads)
and `apool` (async, autocommit) for the token check and the hot read of a page of ties.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Annotated, Iterator

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


async def current_user(request: Request,
                       credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> int:
    # Async, on the app's async pool: checking a token costs no hand-off to a worker thread.
    if credentials is None:
        raise HTTPException(401, "Missing bearer token: send `Authorization: Bearer <token>`.",
                            headers=UNAUTHORIZED)
    async with request.app.state.apool.connection() as conn:
        user_id = await auth.user_for_token_async(conn, credentials.credentials)
    if user_id is None:
        raise HTTPException(401, "The token is unknown or revoked.", headers=UNAUTHORIZED)
    request.state.user_id = user_id
    return user_id


User = Annotated[int, Depends(current_user)]
Db = Annotated[Database, Depends(get_db)]
Config = Annotated[Settings, Depends(get_settings)]
