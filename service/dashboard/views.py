"""The dashboard: server-rendered pages over the same queries as the API.

Signing in posts an API token once; it is kept in an HttpOnly, SameSite=Strict cookie, so
page scripts never see it and other sites cannot post forms with it. Pages are plain HTML
with inline SVG charts; the small script in static/app.js only adds hover and filtering.
"""
from __future__ import annotations

import gzip
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from .. import auth, ties as tie_model
from ..api import jobs, tie_detail as td, tie_queries as tq
from ..api.accounts import ConnectUnavailable, account_health, authorize_url
from ..api.oauth_callback import bind as oauth_bind
from . import charts

HERE = Path(__file__).parent
COOKIE = "kith_session"
MAX_FORM_BYTES = 4096
MAX_POINTS = 5000  # beyond this the chart shows the strongest ties (and says so)

env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html", "j2"]),
                  trim_blocks=True, lstrip_blocks=True)
router = APIRouter(include_in_schema=False)


def _page(name: str, status: int = 200, request: Request | None = None, **context) -> HTMLResponse:
    html = env.get_template(name).render(**context).encode()
    # A chart of thousands of ties is a large page that compresses ~10x; API responses are
    # left alone (their clients choose), pages are compressed here when the browser agrees.
    if request is not None and len(html) > 32_000 and "gzip" in request.headers.get("accept-encoding", ""):
        return HTMLResponse(gzip.compress(html, compresslevel=5), status_code=status,
                            headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"})
    return HTMLResponse(html, status_code=status)


def _signed_in(request: Request) -> int | None:
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    with request.app.state.db.tx() as conn:
        return auth.user_for_token(conn, token)


def _same_origin(request: Request) -> bool:
    """Forms only count when posted from this site (SameSite cookies aside, old browsers exist)."""
    origin = request.headers.get("origin") or request.headers.get("referer")
    if not origin:
        return True
    return urlsplit(origin).netloc == request.headers.get("host", "")


def _to_signin() -> RedirectResponse:
    return RedirectResponse("/", status_code=303)


def _all_ties(conn, user: int) -> tuple[list[dict], object, int]:
    snap = tq.latest_as_of(conn, user)
    if snap is None:
        ties = tie_model.compute_ties(conn, user)
        return ties, None, len(ties)
    total = conn.execute("SELECT count(*) FROM score_snapshots WHERE user_id = %s AND as_of = %s",
                         (user, snap)).fetchone()[0]
    rows = conn.execute(
        "SELECT person_id, coalesce(payload->>'name', payload->>'contact', ''), strength, reciprocity, tier"
        " FROM score_snapshots WHERE user_id = %s AND as_of = %s ORDER BY strength DESC, person_id LIMIT %s",
        (user, snap, MAX_POINTS)).fetchall()
    return [{"person_id": r[0], "name": r[1], "strength": r[2], "reciprocity": r[3], "tier": r[4]}
            for r in rows], snap, total


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    user = _signed_in(request)
    if user is None:
        return _page("signin.html.j2", error=None)
    with request.app.state.db.tx() as conn:
        me = conn.execute("SELECT email, name FROM users WHERE id = %s", (user,)).fetchone()
        ties, snap, total = _all_ties(conn, user)
        if snap is None:
            deepen, _ = tq.computed_page(ties, None, tq.Query(sort="deepen", limit=10, ranked_only=True), None)
        else:
            texts, _, _ = tq.snapshot_page(conn, user, snap, tq.Query(sort="deepen", limit=10, ranked_only=True),
                                           None)
            deepen = [json.loads(t) for t in texts]
        accounts = account_health(conn, user)
    points = [{"person_id": t["person_id"], "label": t.get("name") or t.get("contact") or "",
               "strength": float(t["strength"]), "reciprocity": int(t["reciprocity"]), "tier": t["tier"]}
              for t in ties[:MAX_POINTS]]
    return _page("home.html.j2", request=request, me={"email": me[0], "name": me[1]}, deepen=deepen, accounts=accounts,
                 chart=charts.scatter(points), n_ties=total, n_points=len(points), as_of=snap,
                 tiers=list(charts.TIER_COLOURS.items()))


@router.post("/signin")
async def signin(request: Request) -> Response:
    body = await request.body()
    token = (parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", "replace")).get("token") or [""])[0].strip()
    if not _same_origin(request):
        return _page("signin.html.j2", status=403, error="Sign in from Kith's own page.")
    with request.app.state.db.tx() as conn:
        user = auth.user_for_token(conn, token)
    if user is None:
        return _page("signin.html.j2", status=401, error="That token is unknown or revoked.")
    response = RedirectResponse("/", status_code=303)
    secure = request.app.state.settings.base_url.startswith("https://")
    response.set_cookie(COOKIE, token, max_age=30 * 24 * 3600, httponly=True, samesite="strict", secure=secure)
    return response


@router.post("/signout")
def signout() -> Response:
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE)
    return response


@router.get("/ties/{person_id}", response_class=HTMLResponse)
def tie_page(request: Request, person_id: int, weeks: int = 52) -> Response:
    user = _signed_in(request)
    if user is None:
        return _to_signin()
    weeks = max(4, min(260, weeks))
    with request.app.state.db.tx() as conn:
        detail = td.tie_detail(conn, user, person_id, None, weeks) \
            if td.person_exists(conn, user, person_id) else None
    if detail is None:
        return _page("missing.html.j2", status=404, what=f"tie {person_id}")
    return _page("tie.html.j2", tie=detail["tie"], weeks=weeks, history=detail["history"],
                 timeline=charts.timeline(detail["timeline"]), spark=charts.sparkline(detail["history"]),
                 totals={key: sum(w[key] for w in detail["timeline"]) for key, _, _ in charts.SERIES},
                 series=charts.SERIES)


def _own_account(request: Request, account_id: int) -> tuple[int | None, dict | None]:
    user = _signed_in(request)
    if user is None:
        return None, None
    with request.app.state.db.tx() as conn:
        found = account_health(conn, user, account_id)
    return user, (found[0] if found else None)


def _connected_account(request: Request, account_id: int):
    """(user, account, None) for a signed-in, same-origin action on one of the user's
    connected accounts; else (.., .., the response that refuses it)."""
    user, account = _own_account(request, account_id)
    if user is None or not _same_origin(request):
        return user, account, _to_signin()
    if account is None or account["provider"] not in ("google", "microsoft"):
        return user, account, _page("missing.html.j2", status=404, what=f"account {account_id}")
    return user, account, None


@router.post("/accounts/{account_id}/reconnect")
def reconnect(request: Request, account_id: int) -> Response:
    user, account, refused = _connected_account(request, account_id)
    if refused is not None:
        return refused
    try:
        started = authorize_url(request.app.state.settings, request.app.state.db, user, account["provider"],
                                login_hint=account["address"])
    except ConnectUnavailable as exc:
        return _page("problem.html.j2", status=503, title="Cannot reconnect now", text=str(exc))
    # This browser starts the flow, so it gets the flow's nonce: only it can finish it.
    return oauth_bind(RedirectResponse(started.url, status_code=303), request.app.state.settings, started)


@router.post("/accounts/{account_id}/sync")
def sync(request: Request, account_id: int) -> Response:
    user, account, refused = _connected_account(request, account_id)
    if refused is not None:
        return refused
    try:
        jobs.sync_now(account_id)
    except jobs.QueueUnavailable:
        pass  # the account table shows the last sync; a retry is one click away
    return RedirectResponse("/#accounts", status_code=303)


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
