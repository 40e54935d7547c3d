"""The dashboard's actions: feedback on a tie, connecting and syncing accounts, uploads.

Every route here changes something, so each needs a live session, this site's Origin and
the session's CSRF token (a form field; the upload script sends it as X-CSRF-Token), and
acts only on the signed-in user's own people and accounts: another user's id is a 404.

    POST /ties/{id}/feedback           kind=matters|not_relationship|snooze (days=14|30|90)
    POST /accounts/connect/{provider}  -> 303 to the provider's sign-in (OAuth, this browser)
    POST /accounts/{id}/reconnect      -> 303 to the provider's sign-in for that address
    POST /accounts/{id}/sync           -> 303 back to the accounts
    POST /uploads?kind=&name=          the raw file as the body -> 202 {id, status_url}
    GET  /uploads/{id}                 -> the import's status (uploads.Statuses)
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.background import BackgroundTask

from .. import providers, uploads
from ..account_health import account_health
from ..jobs import QueueUnavailable
from ..providers.web_flow import ConnectUnavailable, authorize_url, bind as oauth_bind
from ..ties import detail as td, feedback
from . import sessions
from .pages import Form, page, refused, session_of, to_signin

router = APIRouter(include_in_schema=False)
KINDS = ("matters", "not_relationship", "snooze")
SNOOZE_DAYS = (14, 30, 90)


def latest_words(conn, user_id: int, person_ids: list[int]) -> dict[int, dict]:
    """The user's latest word on each of these people (kind, until)."""
    if not person_ids:
        return {}
    rows = conn.execute(
        "SELECT DISTINCT ON (person_id) person_id, kind, until FROM feedback"
        " WHERE user_id = %s AND person_id = ANY(%s) ORDER BY person_id, created_at DESC, id DESC",
        (user_id, list(person_ids)),
    ).fetchall()
    return {pid: {"kind": kind, "until": until} for pid, kind, until in rows}


def user_today(conn, user_id: int) -> date:
    """Today in the user's own time zone (a snooze runs from there, as the API's does)."""
    row = conn.execute("SELECT timezone FROM users WHERE id = %s", (user_id,)).fetchone()
    try:
        zone = ZoneInfo(row[0] if row and row[0] else "UTC")
    except (KeyError, ValueError, OSError):
        zone = ZoneInfo("UTC")
    return datetime.now(zone).date()


def _back(fields: dict, default: str) -> str:
    """Where to go after a form: a path on this site only (never //host or a scheme)."""
    target = str(fields.get("next") or "")
    if target.startswith("/") and not target.startswith("//") and "\\" not in target and len(target) < 300:
        return target
    return default


def _allowed(request: Request, fields: dict):
    """(session, None) for a form this site posted with its token; else (.., the refusal)."""
    session = session_of(request)
    if session is None:
        return None, to_signin()
    if not sessions.form_allowed(request.headers, session, fields):
        return session, refused()
    return session, None


@router.post("/ties/{person_id:int}/feedback")
def give_feedback(request: Request, person_id: int, fields: dict = Form) -> Response:
    session, refusal = _allowed(request, fields)
    if refusal is not None:
        return refusal
    kind = fields.get("kind")
    if kind not in KINDS:
        return page("problem.html.j2", 422, title="Not saved", text="Choose matters, not a relationship or snooze.")
    until = None
    with request.app.state.db.tx() as conn:
        if not td.person_exists(conn, session.user_id, person_id):
            return page("missing.html.j2", 404, what=f"tie {person_id}")
        if kind == "snooze":
            days = int(fields["days"]) if str(fields.get("days", "")).isdigit() else 30
            if days not in SNOOZE_DAYS:
                return page("problem.html.j2", 422, title="Not saved", text="Snooze for 14, 30 or 90 days.")
            until = user_today(conn, session.user_id) + timedelta(days=days)
        feedback.give(conn, session.user_id, person_id, kind, until)
    request.app.state.jobs.rescore(session.user_id)  # best effort: the weekly scoring reads it anyway
    return RedirectResponse(_back(fields, f"/ties/{person_id}") + f"#tie-{person_id}", status_code=303)


def _start(request: Request, user: int, provider: str, login_hint: str | None) -> Response:
    try:
        started = authorize_url(request.app.state.settings, request.app.state.db, user, provider, login_hint=login_hint)
    except ConnectUnavailable as exc:
        title = f"Cannot connect {providers.label(provider)} now"
        return page("problem.html.j2", 503, title=title, text=str(exc))
    # This browser starts the flow, so it gets the flow's nonce: only it can finish it.
    return oauth_bind(RedirectResponse(started.url, status_code=303), request.app.state.settings, started)


@router.post("/accounts/connect/{provider}")
def connect(request: Request, provider: str, fields: dict = Form) -> Response:
    session, refusal = _allowed(request, fields)
    if refusal is not None:
        return refusal
    if provider not in providers.REGISTRY:
        return page("missing.html.j2", 404, what=f"provider {provider[:40]}")
    return _start(request, session.user_id, provider, None)


def _connected_account(request: Request, account_id: int, fields: dict):
    """(user, account, None) for one of the user's synced accounts; else (.., .., refusal)."""
    session, refusal = _allowed(request, fields)
    if refusal is not None:
        return None, None, refusal
    with request.app.state.db.tx() as conn:
        found = account_health(conn, session.user_id, account_id)
    account = found[0] if found else None
    if account is None or not providers.synced(account["provider"]):
        return session.user_id, account, page("missing.html.j2", 404, what=f"account {account_id}")
    return session.user_id, account, None


@router.post("/accounts/{account_id:int}/reconnect")
def reconnect(request: Request, account_id: int, fields: dict = Form) -> Response:
    user, account, refusal = _connected_account(request, account_id, fields)
    if refusal is not None:
        return refusal
    return _start(request, user, account["provider"], account["address"])


@router.post("/accounts/{account_id:int}/sync")
def sync(request: Request, account_id: int, fields: dict = Form) -> Response:
    _user, _account, refusal = _connected_account(request, account_id, fields)
    if refusal is not None:
        return refusal
    try:
        request.app.state.jobs.sync_now(account_id)
    except QueueUnavailable:
        pass  # the account table shows the last sync; a retry is one click away
    return RedirectResponse("/#accounts", status_code=303)


def _json_error(status: int, text: str) -> JSONResponse:
    return JSONResponse({"error": status, "message": text}, status_code=status)


@router.post("/uploads")
async def upload(request: Request) -> Response:
    session, refusal = _allowed(request, {sessions.CSRF_FIELD: request.headers.get("x-csrf-token", "")})
    if refusal is not None:
        return _json_error(401 if session is None else 403, "Sign in again: this upload was not sent from Kith.")
    params = request.query_params
    try:
        kind = uploads.kind_of(params.get("kind") or None, params.get("name"))
        upload = await uploads.receive(
            request.app.state.settings, session.user_id, kind, params.get("name", "")[:200], request.stream()
        )
    except uploads.TooLarge as exc:
        return _json_error(413, str(exc))
    except uploads.UploadRefused as exc:
        return _json_error(422, str(exc))
    statuses = uploads.Statuses(request.app.state.redis)
    statuses.put(upload, "received", "Received; the import starts in a moment.", written=0, quarantined=0)
    body = uploads.describe(upload) | {"status_url": f"/uploads/{upload.id}"}
    return JSONResponse(
        body, status_code=202, background=BackgroundTask(uploads.run, request.app.state.db, statuses, upload)
    )


@router.get("/uploads/{upload_id}")
def upload_status(request: Request, upload_id: str) -> Response:
    session = session_of(request)
    if session is None:
        return _json_error(401, "Sign in to see your uploads.")
    try:
        found = uploads.Statuses(request.app.state.redis).get(session.user_id, upload_id[:64])
    except Exception:
        return _json_error(503, "Upload progress is not available right now.")
    if found is None:
        return _json_error(404, "No such upload.")
    return JSONResponse(found, headers={"Cache-Control": "no-store"})
