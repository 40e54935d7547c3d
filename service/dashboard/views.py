"""The dashboard: server-rendered pages over the same queries as the API.

Signing in posts an API token once and opens a session (sessions.py): the HttpOnly,
SameSite=Strict cookie holds the session's own id, never the token. Every form that changes
something carries the session's CSRF token and must come from this site's origin
(actions.py). Pages are plain HTML with no inline script or style (the app's Content-
Security-Policy forbids both): the table sorts, searches and pages through links and a GET
form, so it works by keyboard and without script; static/charts.js draws the charts with the
vendored Chart.js from data the page carries, and static/app.js writes dates in the
browser's time zone and runs the upload's progress bar.

    GET /            ties to deepen, all ties (table: ?q=&sort=&cursor=), the chart, accounts
    GET /ties/{id}   one tie: its words, whole history since the first contact, its ledger
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from .. import coverage, providers
from ..account_health import account_health
from ..ties import detail as td, evidence as tie_evidence, pages as tie_pages
from ..ties.cursor import BadCursor, Cursor
from ..ties.snapshots import strongest
from . import actions, charts, history, sessions, words
from .pages import COOKIE, HERE, Form, page, refused, secure, session_of, to_signin
from .mail_panel import mail_panel

MAX_POINTS = 5000  # beyond this the chart shows the strongest ties (and says so)
PAGE_SIZE = 50
SORTABLE = ("name", "strength", "reciprocity", "last_interaction")

router = APIRouter(include_in_schema=False)


def _sort(value: str | None) -> str:
    key = (value or "").lstrip("-")
    return value if key in SORTABLE and value else "-strength"


def row(tie: dict, counts: list[int], given: dict | None, now: datetime) -> dict:
    """A tie as the table, the list to deepen and the tie page show it: words, not keys."""
    last = tie.get("last_interaction")
    word = None
    if given:
        if given["kind"] == "snooze" and given["until"] is not None:
            word = f"Snoozed until {given['until'].day} {given['until'].strftime('%B %Y')}"
        else:
            word = words.FEEDBACK_TEXT.get(given["kind"])
    return {
        "id": int(tie["person_id"]),
        "name": words.name(tie),
        "address": words.address(tie),
        "strength": int(round(float(tie.get("strength") or 0))),
        "tier": tie.get("tier") or "weak",
        "balance": words.balance(tie.get("reciprocity"), words.first_name(tie), tie.get("ledger")),
        "flags": words.flags(tie.get("flags")),
        "last_iso": words.iso_utc(last),
        "last_relative": words.relative(last, now),
        "last_day": words.day(last),
        "spark": charts.sparkline(counts),
        "trend": charts.trend_words(counts),
        "given": word,
        "suggestion": tie.get("suggestion"),
        # Why it is on the list: a tie to deepen gives the reason it was picked first
        "reason": next((str(e) for e in tie.get("explanation") or () if e), None) if tie.get("deepen_rank") else None,
    }


def _table(conn, user: int, snap, computed: list[dict] | None, query: tie_pages.Query, cursor: str | None):
    """One page of the table: tie dicts, the next cursor, and a note when the cursor was bad."""
    try:
        pinned = Cursor.decode(cursor, query.sort) if cursor else None
        if snap is not None:
            texts, nxt, _ = tie_pages.snapshot_page(conn, user, snap, query, pinned)
            return [json.loads(t) for t in texts], nxt, None
        ties, nxt = tie_pages.computed_page(computed or [], None, query, pinned)
        return ties, nxt, None
    except (BadCursor, ValueError):
        ties, nxt, _ = _table(conn, user, snap, computed, query, None)
        return ties, nxt, "That page link had expired, so the list starts again from the top."


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    session = session_of(request)
    if session is None:
        return page("signin.html.j2", error=None)
    user, params = session.user_id, request.query_params
    text = (params.get("q") or "").replace("\x00", "").strip()[:100]
    query = tie_pages.Query(sort=_sort(params.get("sort")), text=text or None, limit=PAGE_SIZE)
    now = datetime.now(timezone.utc)
    with request.app.state.db.tx() as conn:
        me = conn.execute("SELECT email, name FROM users WHERE id = %s", (user,)).fetchone()
        points, snap, total = strongest(conn, user, MAX_POINTS)
        computed = points if snap is None else None
        deepen_query = tie_pages.Query(sort="deepen", limit=10, ranked_only=True)
        if snap is None:
            deepen, _ = tie_pages.computed_page(points, None, deepen_query, None)
        else:
            texts, _, _ = tie_pages.snapshot_page(conn, user, snap, deepen_query, None)
            deepen = [json.loads(t) for t in texts]
        table, next_cursor, note = _table(conn, user, snap, computed, query, params.get("cursor", "")[:600] or None)
        ids = sorted({int(t["person_id"]) for t in table + deepen})
        counts = history.activity(conn, user, ids, snap or now)
        given = actions.latest_words(conn, user, ids)
        accounts = account_health(conn, user)
        evidence = tie_evidence.panel(conn, user, snap)
        mail = mail_panel(conn, user, request.query_params.get("as_of"))
        coverage_note = (coverage.of_snapshot(conn, user, snap) if snap else coverage.live(conn, user)).note()
    plotted = [
        {
            "person_id": t["person_id"],
            "label": words.name(t),
            "strength": float(t["strength"]),
            "reciprocity": int(t["reciprocity"]),
            "tier": t["tier"],
        }
        for t in points[:MAX_POINTS]
    ]
    for account in accounts:
        account["words"], account["tone"] = words.account_health(account, now)
        account["label"] = words.SOURCE_TEXT.get(account["provider"]) or providers.label(account["provider"])
    return page(
        "home.html.j2",
        request=request,
        csrf=session.csrf,
        me={"email": me[0], "name": me[1]},
        deepen=[row(t, counts.get(int(t["person_id"]), []), given.get(int(t["person_id"])), now) for t in deepen],
        rows=[row(t, counts.get(int(t["person_id"]), []), given.get(int(t["person_id"])), now) for t in table],
        query=query,
        q=text,
        next_cursor=next_cursor,
        first_page=not params.get("cursor"),
        table_note=note,
        accounts=accounts,
        evidence=evidence,
        connectable=[(name, p.label) for name, p in providers.REGISTRY.items()],
        chart=charts.scatter(plotted, {int(t["person_id"]) for t in deepen}),
        n_ties=total,
        n_points=len(plotted),
        as_of=snap,
        tiers=list(charts.TIER_COLOURS),
        mail=mail,
        snooze_days=actions.SNOOZE_DAYS,
        coverage_note=coverage_note,
    )


@router.post("/signin")
def signin(request: Request, fields: dict = Form) -> Response:
    # No session yet, so no CSRF token: the Origin keeps other sites from signing a
    # browser in to an account of theirs.
    if not sessions.same_origin(request.headers):
        return page("signin.html.j2", 403, error="Sign in from Kith's own page.")
    with request.app.state.db.tx() as conn:
        session = sessions.open_session(conn, fields.get("token", "").strip())
    if session is None:
        return page("signin.html.j2", 401, error="That token is unknown or revoked.")
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        COOKIE,
        session.id,
        max_age=sessions.LIFETIME_DAYS * 24 * 3600,
        httponly=True,
        samesite="strict",
        secure=secure(request),
    )
    return response


@router.post("/signout")
def signout(request: Request, fields: dict = Form) -> Response:
    session = session_of(request)
    if session is not None:
        if not sessions.form_allowed(request.headers, session, fields):
            return refused()
        with request.app.state.db.tx() as conn:
            sessions.revoke_session(conn, session.id)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, httponly=True, samesite="strict", secure=secure(request))
    return response


@router.get("/ties/{person_id}", response_class=HTMLResponse)
def tie_page(request: Request, person_id: int) -> Response:
    session = session_of(request)
    if session is None:
        return to_signin()
    user, now = session.user_id, datetime.now(timezone.utc)
    with request.app.state.db.tx() as conn:
        detail = td.tie_detail(conn, user, person_id, None, 4) if td.person_exists(conn, user, person_id) else None
        if detail is None:
            return page("missing.html.j2", 404, what=f"tie {person_id}")
        snap = conn.execute("SELECT max(as_of) FROM score_snapshots WHERE user_id = %s", (user,)).fetchone()[0]
        whole = history.whole_history(conn, user, person_id, snap or now)
        counts = history.activity(conn, user, [person_id], snap or now)[person_id]
        given = actions.latest_words(conn, user, [person_id]).get(person_id)
    tie = detail["tie"]
    return page(
        "tie.html.j2",
        request=request,
        csrf=session.csrf,
        tie=row(tie, counts, given, now),
        addresses=[a for a in tie.get("addresses") or () if not words.is_exchange_dn(a)],
        explanation=tie.get("explanation") or [],
        ledger=words.ledger(tie),
        whole=whole,
        history_chart=charts.history(whole["buckets"], whole["unit"]),
        totals=charts.totals_words(charts.totals(whole["buckets"])),
        # A line needs scorings on at least two days; two runs on one day are one point.
        strength_chart=charts.strength_line(detail["history"])
        if len({str(h["as_of"])[:10] for h in detail["history"]}) > 1
        else None,
        scorings=len(detail["history"]),
        snooze_days=actions.SNOOZE_DAYS,
    )


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.include_router(actions.router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
