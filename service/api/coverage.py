"""How complete the mail behind a user's scores is: `GET /v1/coverage`, and the `coverage`
field of `GET /v1/ties` (service.coverage says what it means)."""

from __future__ import annotations

import json
from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel, Field

from .. import coverage
from .deps import Db, User, reading

router = APIRouter(prefix="/v1/coverage", tags=["accounts"])


class CoverageOut(BaseModel):
    provisional: bool = Field(description="True while a first sync is still reading older mail.")
    since: datetime | None = Field(None, description="The mail behind the scores is complete from this moment on.")
    minutes_left: int | None = Field(None, description="About how long the older mail will take; null if unknown.")
    note: str | None = Field(None, description="The sentence to show a person; null when the scores are final.")


FINAL_JSON = json.dumps(coverage.FINAL.as_json())


class CoverageState(BaseModel):
    scores: CoverageOut = Field(description="The newest scores: provisional or final, and on what mail.")
    mail: CoverageOut = Field(description="The mail stored right now, while a first sync runs.")


@router.get("", response_model=CoverageState, summary="How complete the mail behind the scores is")
def get_coverage(user: User, db: Db) -> dict:
    with reading(db) as conn:
        return {"scores": coverage.latest(conn, user).as_json(), "mail": coverage.live(conn, user).as_json()}


async def of_page(request, user_id: int, snap: datetime | None) -> str:
    """The `coverage` of a GET /v1/ties page from the snapshot at `snap`, as JSON text: one
    primary-key lookup for a final snapshot, the live estimate only for a provisional one."""
    if snap is None:
        return FINAL_JSON
    async with request.app.state.apool.connection() as conn:
        row = await (
            await conn.execute("SELECT 1 FROM score_coverage WHERE user_id = %s AND as_of = %s", (user_id, snap))
        ).fetchone()
    if row is None:
        return FINAL_JSON
    from fastapi.concurrency import run_in_threadpool

    def read() -> str:
        with reading(request.app.state.db) as sync_conn:
            return json.dumps(coverage.of_snapshot(sync_conn, user_id, snap).as_json())

    return await run_in_threadpool(read)


def computed(db, user_id: int) -> CoverageOut:
    """Ties computed from the data now stand on the mail stored now."""
    with reading(db) as conn:
        return CoverageOut(**coverage.live(conn, user_id).as_json())
