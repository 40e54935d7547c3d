"""The web half of connecting a mailbox, the same for Google and Microsoft.

    start      the flow is started for the signed-in Kith user; the response that sends
               the browser to the provider also sets `kith_oauth_<hash of state>`, an
               HttpOnly, SameSite=Lax cookie (Secure on https, Path=/v1/connect, lives as long
               as the flow) holding the flow's nonce
    callback   the provider's redirect: refused (403) unless this browser holds the nonce, so
               a sign-in link sent to someone else cannot attach their mailbox; else the code
               is exchanged and the tokens wait, encrypted, for the confirmation. The page
               names the mailbox and the Kith user it would belong to, and asks once more
               when another Kith user has that mailbox connected
    confirm    the page's POST: needs the same cookie and the page's one-time token (so no
               other site can post it); only this attaches the account and queues its sync

Pages are plain HTML without inline script or style. A client that asks for JSON only
(`Accept: application/json`) gets the API's error shape and, on success, the account.
Status: 400 for a sign-in to retry (unknown, replayed, refused), 403 for another browser's
flow, 409 for a shared mailbox not confirmed, 503 when the provider is not reachable.
"""
from __future__ import annotations

import hashlib
import html
import logging
from urllib.parse import parse_qs

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ingest.errors import ConfigError, InputError, TransientError

from .. import google, microsoft, oauth_accounts, oauth_states
from ..config import Settings
from ..db import Database
from .deps import Config, Db, User
from .errors import error_body

log = logging.getLogger(__name__)

PROVIDERS = {"google": (google, "Google"), "microsoft": (microsoft, "Microsoft 365")}
COOKIE_PREFIX = "kith_oauth_"
COOKIE_PATH = "/v1/connect"
MAX_FORM_BYTES = 4096
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def callback_url(base_url: str, provider: str) -> str:
    return f"{base_url.rstrip('/')}/v1/connect/{provider}/callback"


def cookie_name(state: str) -> str:
    # A hash, not the state itself: the callback's state comes from the query, and only
    # token characters are allowed in a cookie name.
    return COOKIE_PREFIX + hashlib.sha256(state.encode()).hexdigest()[:16]


def bind(response: Response, settings: Settings, started: oauth_states.Started) -> Response:
    """Give the browser that receives `response` the nonce of the flow it starts."""
    response.set_cookie(cookie_name(started.state), started.nonce, max_age=oauth_states.FLOW_TTL_SECONDS,
                        path=COOKIE_PATH, httponly=True, samesite="lax",
                        secure=settings.base_url.startswith("https://"))
    return response


def start(request: Request, settings: Settings, db: Database, provider: str, user_id: int,
          login_hint: str | None) -> Response:
    module, label = PROVIDERS[provider]
    try:
        started = module.start_flow(settings, db, user_id, callback_url(settings.base_url, provider),
                                    login_hint=login_hint)
    except (ConfigError, TransientError) as exc:
        return _answer(request, 503, f"{label} is not available", str(exc))
    return bind(RedirectResponse(started.url, status_code=302), settings, started)


def add_routes(router: APIRouter, provider: str) -> None:
    """The start and confirm routes of `provider` (its callback reads its own query)."""
    _, label = PROVIDERS[provider]

    @router.get("", status_code=302, summary=f"Start connecting a {label} account",
                response_class=RedirectResponse,
                responses={302: {"description": f"Redirect to {label}'s sign-in, with the flow's cookie."},
                           503: {"description": f"{label} is not configured or not reachable."}})
    def start_route(request: Request, user: User, settings: Config, db: Db,
                    login_hint: Annotated[str | None, Query(max_length=320)] = None) -> Response:
        return start(request, settings, db, provider, user, login_hint)

    @router.post("/confirm", summary=f"Confirm connecting the {label} mailbox of a finished sign-in",
                 response_class=HTMLResponse,
                 responses={400: {"description": "Unknown, expired or already used confirmation."},
                            403: {"description": "Not the browser that started the sign-in."},
                            409: {"description": "The mailbox is connected to another Kith user: confirm that too."}})
    async def confirm_route(request: Request, settings: Config, db: Db) -> Response:
        return await confirm(request, settings, db, provider)


def callback(request: Request, settings: Settings, db: Database, provider: str, answer: dict) -> Response:
    """The provider's redirect: check the browser, exchange the code, ask for confirmation."""
    module, label = PROVIDERS[provider]
    again = f"start connecting {label} again"
    state = answer.get("state") or ""
    try:
        user_id, flow = oauth_states.answer(settings, db, provider, state, request.cookies.get(cookie_name(state)),
                                            again=again)
    except InputError as exc:
        return _refused(request, exc, label, state)
    try:
        done = module.exchange(settings, flow, answer)
        kith_user = oauth_accounts.kith_email(db, user_id)
    except (InputError, ConfigError, TransientError) as exc:
        oauth_states.burn(db, state)
        return _refused(request, exc, label, state)
    token = oauth_states.hold(settings, db, state, done)
    elsewhere = oauth_accounts.connected_elsewhere(db, user_id, provider, done["address"])
    return _confirmation(provider, label, state, token, done["address"], kith_user, elsewhere, 200)


async def confirm(request: Request, settings: Settings, db: Database, provider: str) -> Response:
    """The confirmation form's POST (read here, handled off the event loop)."""
    body = await request.body()
    form = {k: v[0] for k, v in parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", "replace")).items()}
    return await run_in_threadpool(_confirm, request, settings, db, provider, form)


def _confirm(request: Request, settings: Settings, db: Database, provider: str, form: dict) -> Response:
    _, label = PROVIDERS[provider]
    again = f"start connecting {label} again"
    state, token = form.get("state", ""), form.get("confirm", "")
    nonce = request.cookies.get(cookie_name(state))
    try:
        pending = oauth_states.waiting(settings, db, provider, state, nonce, token, again=again)
        address = pending.exchanged["address"]
        if form.get("decision") == "cancel":
            oauth_states.burn(db, state)
            return _forget(_answer(request, 200, f"{label} mailbox not connected",
                                   f"Nothing was connected: {address} stays out of Kith."), state)
        elsewhere = oauth_accounts.connected_elsewhere(db, pending.user_id, provider, address)
        if elsewhere and form.get("also") != "yes":
            return _confirmation(provider, label, state, token, address,
                                 oauth_accounts.kith_email(db, pending.user_id), True, 409)
        taken = oauth_states.take(settings, db, provider, state, nonce, token, again=again)
    except InputError as exc:
        # A confirmation without this browser's nonce or the page's token leaves the flow
        # (and the cookie of whoever holds it) alone: the starter may still confirm.
        return _refused(request, exc, label, state if not isinstance(exc, oauth_states.NotThisBrowser) else "")
    account_id = oauth_accounts.attach(settings, db, taken.user_id, taken.exchanged)
    queued = _queue_first_sync(account_id)
    if _wants_json(request):
        response: Response = JSONResponse({"provider": provider, "account_id": account_id, "address": address,
                                           "sync_queued": queued}, headers=NO_STORE)
    else:
        note = "Its first sync has started." if queued else "Run `kith sync` to sync it."
        response = _page(200, f"{label} mailbox connected", f"Kith is now connected to {address}. {note}")
    return _forget(response, state)


def _confirmation(provider: str, label: str, state: str, token: str, address: str, kith_user: str,
                  elsewhere: bool, status: int) -> HTMLResponse:
    e = html.escape
    shared = ""
    if elsewhere:
        shared = ("<p class='error'>This mailbox is already connected to another Kith account. Connecting it "
                  f"here as well lets {e(kith_user)} see its metadata too.</p>"
                  "<p><label><input type='checkbox' name='also' value='yes' required> "
                  f"Yes, connect {e(address)} to {e(kith_user)} as well</label></p>")
    body = (f"<p>Connect the {e(label)} mailbox <strong>{e(address)}</strong> to the Kith account of "
            f"<strong>{e(kith_user)}</strong>?</p>"
            "<p>If you did not start this from your own Kith account, cancel: someone may be trying to "
            "read your mail's metadata.</p>"
            f"<form method='post' action='/v1/connect/{e(provider)}/confirm'>"
            f"<input type='hidden' name='state' value='{e(state)}'>"
            f"<input type='hidden' name='confirm' value='{e(token)}'>{shared}"
            "<button type='submit' name='decision' value='connect'>Connect</button> "
            "<button type='submit' name='decision' value='cancel' formnovalidate>Cancel</button></form>")
    return _page(status, f"Connect {label} mailbox?", body, raw=True)


def _refused(request: Request, exc: Exception, label: str, state: str) -> Response:
    """The error page; the cookie of `state` goes with it (the flow is over)."""
    if isinstance(exc, oauth_states.NotThisBrowser):
        status = 403
    elif isinstance(exc, InputError):
        status = 400
    else:
        status = 503
    return _forget(_answer(request, status, f"{label} mailbox not connected", str(exc)), state)


def _forget(response: Response, state: str) -> Response:
    if state:
        response.delete_cookie(cookie_name(state), path=COOKIE_PATH)
    return response


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _answer(request: Request, status: int, title: str, text: str) -> Response:
    if _wants_json(request):
        return JSONResponse(error_body(status, text), status_code=status, headers=NO_STORE)
    return _page(status, title, text)


def _page(status: int, title: str, text: str, raw: bool = False) -> HTMLResponse:
    main = text if raw else f"<p>{html.escape(text)}</p>"
    body = (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)} · Kith"
            "</title><link rel='stylesheet' href='/static/app.css'></head><body><main><section class='card'>"
            f"<h1>{html.escape(title)}</h1>{main}</section></main></body></html>")
    return HTMLResponse(body, status_code=status, headers=NO_STORE)


def _queue_first_sync(account_id: int) -> bool:
    try:
        # Imported at call time: importing it binds the actors to the broker the app's
        # lifespan sets up (see service.api.jobs).
        from ..workers import sync_account_now

        sync_account_now.send(account_id)
    except Exception as exc:  # the broker may be down; `kith sync` or the schedule picks it up later
        log.warning("could not queue the first sync of account %s: %s", account_id, type(exc).__name__)
        return False
    return True


__all__ = ["PROVIDERS", "COOKIE_PREFIX", "COOKIE_PATH", "callback_url", "cookie_name", "bind", "add_routes", "start",
           "callback", "confirm"]
