"""Routes for ties: the paged list, ties to deepen, one tie in depth, and feedback on a tie.

Routes only: HTTP in (query models, the token check of the hot path, the page cache) and
HTTP out. What a tie is and how it is read lives in service/ties/.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query as Q, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel, ConfigDict, Field

from .. import auth
from ..ties import as_of as moments, detail as td, feedback, horizon, pages
from ..ties.cursor import BadCursor, Cursor
from ..ties.snapshots import latest_as_of
from . import coverage as coverage_api, query_model, snooze
from .errors import documented
from .deps import UNAUTHORIZED, Db, User, bearer, reading, refuse_unknown
from .page_cache import PageCache
from .schemas import FeedbackIn, FeedbackOut, Flag, SortKey, Tie, TieDetail, TiePage, Tier

router = APIRouter(prefix="/v1/ties", tags=["ties"])
# GET /v1/ties alone: app.py includes it without the `known_query_only` dependency, which the
# route applies itself from its model's field names (a dependency costs the hot path more
# than the check does).
list_router = APIRouter(prefix="/v1/ties", tags=["ties"])

MAX_PAGE = 200
NOT_FOUND = documented(404)
AS_OF_PATTERN = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$"
AsOf = Annotated[
    str | None,
    Q(
        max_length=40,
        pattern=AS_OF_PATTERN,
        description="ISO 8601 date or date-time (UTC unless an offset is given): the ties as they were then, "
        "from data before that moment.",
        examples=["2026-10-01", "2026-10-01T12:00:00Z"],
    ),
]


class TieListQuery(BaseModel):
    """The list's query parameters, validated as one model (cheaper per request than nine)."""

    model_config = ConfigDict(extra="forbid")
    tier: list[Tier] | None = Field(None, max_length=4, description="Only these tiers.")
    flag: list[Flag] | None = Field(None, max_length=4, description="Only ties with any of these flags.")
    q: str | None = Field(
        None,
        max_length=100,
        pattern=r"^[^\x00]*$",
        description="Case-insensitive match on name, contact or any address.",
    )
    sort: SortKey = Field("-strength", description="Key to sort by; a leading `-` sorts descending.")
    limit: int = Field(50, ge=1, le=MAX_PAGE, description="Page size.")
    cursor: str | None = Field(None, max_length=600, description="`next_cursor` of the previous page.")
    as_of: str | None = Field(
        None,
        max_length=40,
        pattern=AS_OF_PATTERN,
        description="ISO 8601 date or date-time (UTC unless an offset is given): the ties as they were "
        "then, from data before that moment.",
        examples=["2026-10-01", "2026-10-01T12:00:00Z"],
    )


LIST_PARAMETERS = frozenset(TieListQuery.model_fields)


def parse_as_of(text: str | None) -> datetime | None:
    try:
        return moments.to_utc(text)
    except moments.BadMoment as exc:
        raise HTTPException(422, f"as_of: {exc}") from None


def _json(items: str, next_cursor: str | None, as_of: datetime | None, source: str, notice: str | None) -> bytes:
    # The snapshot page arrives as JSON texts from Postgres; wrap them without re-parsing.
    head = '{"items":[' + items + "],"
    tail = json.dumps({"next_cursor": next_cursor, "as_of": moments.iso(as_of), "source": source, "notice": notice})[1:]
    return (head + tail).encode()


@list_router.get(
    "",
    response_model=TiePage,
    summary="List ties",
    responses=documented(400),
    openapi_extra={"parameters": query_model.openapi_parameters(TieListQuery)},
    description="Ties of the user, strongest first by default. Filters combine with AND; "
    "within `tier` or `flag`, any listed value matches. Without `as_of` the latest "
    "scoring is read; with it, ties are computed from data before that moment.",
)
async def list_ties(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Response | TiePage:
    # The busiest route. One cheap statement checks the token (the same check as
    # `current_user`'s, in SQL: auth.TOKEN_CTE) and finds the snapshot the page comes from;
    # a page rendered from that snapshot moments ago is then sent as it is (page_cache says
    # why that is safe), otherwise a second statement reads it, already joined into JSON text
    # by Postgres. Query parameters are validated as one model (see query_model).
    refuse_unknown(request, LIST_PARAMETERS)  # first, as the other routes' dependency does
    if credentials is None:
        raise HTTPException(401, "Missing bearer token: send `Authorization: Bearer <token>`.", headers=UNAUTHORIZED)
    params = query_model.parse(request, TieListQuery)
    token = auth.token_params(credentials.credentials)
    query = pages.Query(
        sort=params.sort,
        tiers=tuple(params.tier or ()),
        flags=tuple(params.flag or ()),
        text=params.q or None,
        limit=params.limit,
    )
    cache: PageCache = request.app.state.ties_pages
    key = (query, params.cursor)
    try:
        pinned = Cursor.decode(params.cursor, params.sort) if params.cursor else None
        wanted = moments.to_utc(pinned.as_of) if pinned and pinned.as_of else parse_as_of(params.as_of)
        if token is None:  # malformed: cannot be one of ours (after the cursor check, as before)
            raise HTTPException(401, "The token is unknown or revoked.", headers=UNAUTHORIZED)
        sql, sql_params = pages.authorized_snapshot_sql(token, wanted)
        async with request.app.state.apool.connection() as conn:
            row = await (await conn.execute(sql, sql_params)).fetchone()
            if row is None:
                raise HTTPException(401, "The token is unknown or revoked.", headers=UNAUTHORIZED)
            token_id, user, stale, snap = row
            request.state.user_id = user
            if stale:
                await auth.touch_async(conn, token_id)
            if snap is None:
                body = None
            elif (body := cache.get(user, snap, key)) is None:
                sql, sql_params = pages.page_sql(user, snap, query, pinned)
                rows = await (await conn.execute(sql, sql_params)).fetchall()
                items, nxt, _ = pages.page_result(rows, query, snap)
                now = datetime.now(timezone.utc)
                latest = await (await conn.execute(horizon.LATEST_SQL, (user, now))).fetchone()
                notice = horizon.Horizon(latest[0] if latest else None, now).notice()
                body = _json(",".join(items), nxt, snap, "snapshot", notice)
                cache.put(user, snap, key, body)
    except (BadCursor, ValueError) as exc:
        raise HTTPException(400, str(exc) if isinstance(exc, BadCursor) else "The cursor is not valid.") from None
    if body is not None:
        # Outside the page cache: the time left of a provisional snapshot moves.
        extra = ',"coverage":' + await coverage_api.of_page(request, user, snap) + "}"
        return Response(body[:-1] + extra.encode(), media_type="application/json")
    return await run_in_threadpool(_computed_page, request.app.state.db, user, query, pinned, wanted)


def _computed_page(db, user: int, query: pages.Query, pinned: Cursor | None, wanted: datetime | None) -> TiePage:
    """Ties computed from the data (an `as_of` without a snapshot, or a user never scored)."""
    with reading(db) as conn:
        seen = horizon.horizon(conn, user)
        computed_at = wanted or seen.as_of
        ties = compute_ties(conn, user, computed_at)
    try:
        page, nxt = pages.computed_page(ties, computed_at, query, pinned)
    except BadCursor as exc:
        raise HTTPException(400, str(exc)) from None
    return TiePage(
        items=[Tie(**t) for t in page],
        next_cursor=nxt,
        as_of=computed_at,
        source="computed",
        notice=seen.notice(),
        coverage=coverage_api.computed(db, user),
    )


@router.get(
    "/deepen",
    response_model=list[Tie],
    summary="Ties to deepen",
    description="The ties Kith suggests working on, best first, each with its suggestion.",
)
def ties_to_deepen(user: User, db: Db, limit: Annotated[int, Q(ge=1, le=50)] = 10) -> Response | list[Tie]:
    query = pages.Query(sort="deepen", limit=limit, ranked_only=True)
    with reading(db) as conn:
        items, _, snap = pages.snapshot_page(conn, user, None, query, None)
        if snap is None and latest_as_of(conn, user) is None:
            page, _ = pages.computed_page(compute_ties(conn, user), None, query, None)
            return [Tie(**t) for t in page]
    return Response("[" + ",".join(items) + "]", media_type="application/json")


@router.get(
    "/{person_id:int}",
    response_model=TieDetail,
    responses=NOT_FOUND,
    summary="One tie in depth",
    description="The tie, its weekly timeline (interactions by kind and direction), and its "
    "score history across snapshots.",
)
def tie_detail(
    person_id: int, user: User, db: Db, weeks: Annotated[int, Q(ge=1, le=260)] = 52, as_of: AsOf = None
) -> TieDetail:
    with reading(db) as conn:
        if not td.person_exists(conn, user, person_id):
            raise HTTPException(404, f"No person {person_id}.")
        detail = td.tie_detail(conn, user, person_id, parse_as_of(as_of), weeks)
    if detail is None:
        raise HTTPException(404, f"Person {person_id} has no scored tie (excluded, or no interactions).")
    return TieDetail(**detail)


@router.post(
    "/{person_id:int}/feedback",
    response_model=FeedbackOut,
    status_code=201,
    responses=NOT_FOUND,
    summary="Say what a tie is to you",
    description="`not_relationship` hides it, `matters` keeps it in view, `snooze` hides it "
    "until `until`. The latest word counts at the next scoring.",
)
def give_feedback(person_id: int, body: FeedbackIn, user: User, db: Db) -> dict:
    until = body.until
    if body.kind == "snooze" and until is None:
        raise HTTPException(422, "`until` is required when kind is `snooze`.")
    with db.tx() as conn:
        if not td.person_exists(conn, user, person_id):
            raise HTTPException(404, f"No person {person_id}.")
        if body.kind == "snooze" and until is not None:  # None was refused above
            snooze.check_until(conn, user, "until", until)
        return feedback.give(conn, user, person_id, body.kind, until)


@router.get(
    "/{person_id:int}/feedback",
    response_model=list[FeedbackOut],
    responses=NOT_FOUND,
    summary="Feedback given on a tie",
)
def list_feedback(person_id: int, user: User, db: Db) -> list[dict]:
    with db.tx() as conn:
        if not td.person_exists(conn, user, person_id):
            raise HTTPException(404, f"No person {person_id}.")
        return feedback.given(conn, user, person_id)


def compute_ties(conn, user: int, as_of: datetime | None = None) -> list[dict]:
    # The model (scikit-learn, SciPy) is imported on the first computed answer, never to
    # serve a snapshot.
    from ..ties.scoring import compute_ties as compute

    return compute(conn, user, as_of)
