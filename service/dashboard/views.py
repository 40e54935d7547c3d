"""The dashboard: server-rendered pages over the same queries as the API.

Signing in posts an API token once and opens a session (sessions.py): the HttpOnly,
SameSite=Strict cookie holds the session's own id, never the token. Every form that changes
something carries the session's CSRF token and must come from this site's origin. Pages are
plain HTML with inline SVG charts and no inline script or style (the app's Content-Security-
Policy forbids both); static/app.js only adds hover and filtering.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from .. import coverage, providers
from ..ties import detail as td, pages
from ..ties.snapshots import strongest
from ..account_health import account_health
from ..providers.web_flow import ConnectUnavailable, authorize_url, bind as oauth_bind
from ..jobs import QueueUnavailable
from . import charts, sessions

HERE = Path(__file__).parent
COOKIE = "kith_session"
MAX_FORM_BYTES = 4096
MAX_POINTS = 5000  # beyond this the chart shows the strongest ties (and says so)

env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
router = APIRouter(include_in_schema=False)


def _page(name: str, status: int = 200, request: Request | None = None, **context) -> HTMLResponse:
    html = env.get_template(name).render(**context).encode()
    # A chart of thousands of ties is a large page that compresses ~10x; API responses are
    # left alone (their clients choose), pages are compressed here when the browser agrees.
    if request is not None and len(html) > 32_000 and "gzip" in request.headers.get("accept-encoding", ""):
        return HTMLResponse(
            gzip.compress(html, compresslevel=5),
            status_code=status,
            headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"},
        )
    return HTMLResponse(html, status_code=status)


def _session(request: Request) -> sessions.Session | None:
    session_id = request.cookies.get(COOKIE)
    if not session_id:
        return None
    with request.app.state.db.tx() as conn:
        return sessions.find_session(conn, session_id)


def _signed_in(request: Request) -> int | None:
    session = _session(request)
    return session.user_id if session else None


async def _form_fields(request: Request) -> dict[str, str]:
    """The posted form's fields (first value of each), read up to MAX_FORM_BYTES."""
    body = await request.body()
    return {key: values[0] for key, values in parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", "replace")).items()}


Form = Depends(_form_fields)


def _refused() -> HTMLResponse:
    return _page(
        "problem.html.j2",
        status=403,
        title="Refused",
        text="That form did not come from this Kith page. Open Kith and try again.",
    )


def _to_signin() -> RedirectResponse:
    return RedirectResponse("/", status_code=303)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> Response:
    session = _session(request)
    if session is None:
        return _page("signin.html.j2", error=None)
    user = session.user_id
    with request.app.state.db.tx() as conn:
        me = conn.execute("SELECT email, name FROM users WHERE id = %s", (user,)).fetchone()
        ties, snap, total = strongest(conn, user, MAX_POINTS)
        if snap is None:
            deepen, _ = pages.computed_page(ties, None, pages.Query(sort="deepen", limit=10, ranked_only=True), None)
        else:
            texts, _, _ = pages.snapshot_page(
                conn, user, snap, pages.Query(sort="deepen", limit=10, ranked_only=True), None
            )
            deepen = [json.loads(t) for t in texts]
        accounts = account_health(conn, user)
        coverage_note = (coverage.of_snapshot(conn, user, snap) if snap else coverage.live(conn, user)).note()
    points = [
        {
            "person_id": t["person_id"],
            "label": t.get("name") or t.get("contact") or "",
            "strength": float(t["strength"]),
            "reciprocity": int(t["reciprocity"]),
            "tier": t["tier"],
        }
        for t in ties[:MAX_POINTS]
    ]
    return _page(
        "home.html.j2",
        request=request,
        csrf=session.csrf,
        me={"email": me[0], "name": me[1]},
        deepen=deepen,
        accounts=accounts,
        chart=charts.scatter(points),
        n_ties=total,
        n_points=len(points),
        as_of=snap,
        tiers=list(charts.TIER_COLOURS),
        coverage_note=coverage_note,
    )


def _secure(request: Request) -> bool:
    return request.app.state.settings.base_url.startswith("https://")


@router.post("/signin")
def signin(request: Request, fields: dict = Form) -> Response:
    # No session yet, so no CSRF token: the Origin keeps other sites from signing a
    # browser in to an account of theirs.
    if not sessions.same_origin(request.headers):
        return _page("signin.html.j2", status=403, error="Sign in from Kith's own page.")
    with request.app.state.db.tx() as conn:
        session = sessions.open_session(conn, fields.get("token", "").strip())
    if session is None:
        return _page("signin.html.j2", status=401, error="That token is unknown or revoked.")
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        COOKIE,
        session.id,
        max_age=sessions.LIFETIME_DAYS * 24 * 3600,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )
    return response


@router.post("/signout")
def signout(request: Request, fields: dict = Form) -> Response:
    session = _session(request)
    if session is not None:
        if not sessions.form_allowed(request.headers, session, fields):
            return _refused()
        with request.app.state.db.tx() as conn:
            sessions.revoke_session(conn, session.id)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, httponly=True, samesite="strict", secure=_secure(request))
    return response


@router.get("/ties/{person_id}", response_class=HTMLResponse)
def tie_page(request: Request, person_id: int, weeks: int = 52) -> Response:
    user = _signed_in(request)
    if user is None:
        return _to_signin()
    weeks = max(4, min(260, weeks))
    with request.app.state.db.tx() as conn:
        detail = td.tie_detail(conn, user, person_id, None, weeks) if td.person_exists(conn, user, person_id) else None
    if detail is None:
        return _page("missing.html.j2", status=404, what=f"tie {person_id}")
    return _page(
        "tie.html.j2",
        tie=detail["tie"],
        weeks=weeks,
        history=detail["history"],
        timeline=charts.timeline(detail["timeline"]),
        spark=charts.sparkline(detail["history"]),
        totals={key: sum(w[key] for w in detail["timeline"]) for key, _, _ in charts.SERIES},
        series=charts.SERIES,
    )


def _connected_account(request: Request, account_id: int, fields: dict):
    """(user, account, None) for a signed-in action, posted from this site with the
    session's CSRF token, on one of the user's connected accounts; else (.., .., the
    response that refuses it)."""
    session = _session(request)
    if session is None:
        return None, None, _to_signin()
    if not sessions.form_allowed(request.headers, session, fields):
        return session.user_id, None, _refused()
    user = session.user_id
    with request.app.state.db.tx() as conn:
        found = account_health(conn, user, account_id)
    account = found[0] if found else None
    if account is None or not providers.synced(account["provider"]):
        return user, account, _page("missing.html.j2", status=404, what=f"account {account_id}")
    return user, account, None


@router.post("/accounts/{account_id}/reconnect")
def reconnect(request: Request, account_id: int, fields: dict = Form) -> Response:
    user, account, refused = _connected_account(request, account_id, fields)
    if refused is not None:
        return refused
    try:
        started = authorize_url(
            request.app.state.settings, request.app.state.db, user, account["provider"], login_hint=account["address"]
        )
    except ConnectUnavailable as exc:
        return _page("problem.html.j2", status=503, title="Cannot reconnect now", text=str(exc))
    # This browser starts the flow, so it gets the flow's nonce: only it can finish it.
    return oauth_bind(RedirectResponse(started.url, status_code=303), request.app.state.settings, started)


@router.post("/accounts/{account_id}/sync")
def sync(request: Request, account_id: int, fields: dict = Form) -> Response:
    _user, _account, refused = _connected_account(request, account_id, fields)
    if refused is not None:
        return refused
    try:
        request.app.state.jobs.sync_now(account_id)
    except QueueUnavailable:
        pass  # the account table shows the last sync; a retry is one click away
    return RedirectResponse("/#accounts", status_code=303)


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
