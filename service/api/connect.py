"""Connecting a mailbox from the web: one set of routes for every provider in the registry.

    GET  /v1/connect/{provider}            (bearer) -> 302 to the provider's sign-in, setting
                                           the flow's browser-binding cookie
    GET  /v1/connect/{provider}/callback   (no bearer: the state row and the cookie say whose
                                           flow it is) -> the confirmation page
    POST /v1/connect/{provider}/confirm    (the page's form) -> connected, first sync queued

    start      the flow is started for the signed-in Kith user; the response that sends
               the browser to the provider also sets the flow's cookie holding its nonce
               (service.providers.web_flow, shared with the accounts API and the dashboard)
    callback   the provider's redirect: refused (403) unless this browser holds the nonce, so
               a sign-in link sent to someone else cannot attach their mailbox; else the code
               is exchanged and the tokens wait, encrypted, for the confirmation. The page
               names the mailbox and the Kith user it would belong to, and asks once more
               when another Kith user has that mailbox connected
    confirm    the page's POST: needs the same cookie and the page's one-time token (so no
               other site can post it); only this attaches the account and queues its sync

The provider comes from service.providers.REGISTRY (an unknown name is a 404), and every
provider answers the same way: the callback hands the provider's whole query (each value
cut at MAX_QUERY_VALUE) to its `exchange`, which checks it against the flow it started.
Pages are plain HTML without inline script or style. A client that asks for JSON only
(`Accept: application/json`) gets the API's error shape and, on success, the account.
Status: 400 for a sign-in to retry (unknown, replayed, refused), 403 for another browser's
flow, 409 for a shared mailbox not confirmed, 503 when the provider is not reachable.
"""

from __future__ import annotations

import html
import logging
from urllib.parse import parse_qs

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from ingest.errors import ConfigError, InputError, TransientError

from ..config import Settings
from ..db import Database
from ..providers import REGISTRY, Provider, oauth_accounts, oauth_states, web_flow
from ..providers.web_flow import COOKIE_PATH, bind, cookie_name
from .deps import Config, Db, User
from .errors import error_body

log = logging.getLogger(__name__)

router = APIRouter(prefix="/v1/connect", tags=["accounts"])
MAX_QUERY_VALUE = 8192
MAX_FORM_BYTES = 4096
NO_STORE = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


def known_provider(
    provider: Annotated[str, Path(max_length=64, description="a provider's name: " + " or ".join(REGISTRY))],
) -> Provider:
    if provider not in REGISTRY:
        raise HTTPException(404, f"No provider {provider[:64]!r}: use {' or '.join(REGISTRY)}.")
    return REGISTRY[provider]


Known = Annotated[Provider, Depends(known_provider)]


def start(
    request: Request, settings: Settings, db: Database, provider: Provider, user_id: int, login_hint: str | None
) -> Response:
    try:
        started = web_flow.start(settings, db, user_id, provider, login_hint)
    except web_flow.ConnectUnavailable as exc:
        return _answer(request, 503, f"{provider.label} is not available", str(exc))
    return bind(RedirectResponse(started.url, status_code=302), settings, started)


@router.get(
    "/{provider}",
    status_code=302,
    summary="Start connecting an account of a provider",
    response_class=RedirectResponse,
    responses={
        302: {"description": "Redirect to the provider's sign-in, with the flow's cookie."},
        404: {"description": "No such provider."},
        503: {"description": "The provider is not configured or not reachable."},
    },
)
def start_route(
    request: Request,
    user: User,
    provider: Known,
    settings: Config,
    db: Db,
    login_hint: Annotated[str | None, Query(max_length=320)] = None,
) -> Response:
    # The token is checked before the provider name, so a stranger learns nothing of either.
    return start(request, settings, db, provider, user, login_hint)


@router.get(
    "/{provider}/callback",
    summary="OAuth redirect target of a provider",
    response_class=HTMLResponse,
    responses={
        400: {"description": "Missing, unknown, replayed or refused sign-in."},
        403: {"description": "The sign-in was started in another browser."},
        404: {"description": "No such provider."},
    },
)
def callback_route(request: Request, provider: Known, settings: Config, db: Db) -> Response:
    # Providers add parameters of their own (Google: scope, authuser, hd...; Microsoft:
    # client_info, session_state): the provider's exchange checks the answer against its flow.
    answer = {k: v[:MAX_QUERY_VALUE] for k, v in request.query_params.items()}
    return callback(request, settings, db, provider, answer)


@router.post(
    "/{provider}/confirm",
    summary="Confirm connecting the mailbox of a finished sign-in",
    response_class=HTMLResponse,
    responses={
        400: {"description": "Unknown, expired or already used confirmation."},
        403: {"description": "Not the browser that started the sign-in."},
        404: {"description": "No such provider."},
        409: {"description": "The mailbox is connected to another Kith user: confirm that too."},
    },
)
async def confirm_route(request: Request, provider: Known, settings: Config, db: Db) -> Response:
    return await confirm(request, settings, db, provider)


def callback(request: Request, settings: Settings, db: Database, provider: Provider, answer: dict) -> Response:
    """The provider's redirect: check the browser, exchange the code, ask for confirmation."""
    label = provider.label
    state = answer.get("state") or ""
    try:
        user_id, flow = oauth_states.answer(
            settings, db, provider.name, state, request.cookies.get(cookie_name(state)), again=provider.again()
        )
    except InputError as exc:
        return _refused(request, exc, label, state)
    try:
        done = provider.exchange(settings, flow, answer)
        kith_user = oauth_accounts.kith_email(db, user_id)
    except (InputError, ConfigError, TransientError) as exc:
        oauth_states.burn(db, state)
        return _refused(request, exc, label, state)
    token = oauth_states.hold(settings, db, state, done)
    elsewhere = oauth_accounts.connected_elsewhere(db, user_id, provider.name, done["address"])
    return _confirmation(provider.name, label, state, token, done["address"], kith_user, elsewhere, 200)


async def confirm(request: Request, settings: Settings, db: Database, provider: Provider) -> Response:
    """The confirmation form's POST (read here, handled off the event loop)."""
    body = await request.body()
    form = {k: v[0] for k, v in parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", "replace")).items()}
    return await run_in_threadpool(_confirm, request, settings, db, provider, form)


def _confirm(request: Request, settings: Settings, db: Database, provider: Provider, form: dict) -> Response:
    label, again, name = provider.label, provider.again(), provider.name
    state, token = form.get("state", ""), form.get("confirm", "")
    nonce = request.cookies.get(cookie_name(state))
    try:
        pending = oauth_states.waiting(settings, db, name, state, nonce, token, again=again)
        address = pending.exchanged["address"]
        if form.get("decision") == "cancel":
            oauth_states.burn(db, state)
            return _forget(
                _answer(
                    request,
                    200,
                    f"{label} mailbox not connected",
                    f"Nothing was connected: {address} stays out of Kith.",
                ),
                state,
            )
        elsewhere = oauth_accounts.connected_elsewhere(db, pending.user_id, name, address)
        if elsewhere and form.get("also") != "yes":
            return _confirmation(
                name, label, state, token, address, oauth_accounts.kith_email(db, pending.user_id), True, 409
            )
        taken = oauth_states.take(settings, db, name, state, nonce, token, again=again)
    except InputError as exc:
        # A confirmation without this browser's nonce or the page's token leaves the flow
        # (and the cookie of whoever holds it) alone: the starter may still confirm.
        return _refused(request, exc, label, state if not isinstance(exc, oauth_states.NotThisBrowser) else "")
    account_id = oauth_accounts.attach(settings, db, taken.user_id, taken.exchanged)
    queued = request.app.state.jobs.queue_first_sync(account_id)
    if _wants_json(request):
        response: Response = JSONResponse(
            {"provider": name, "account_id": account_id, "address": address, "sync_queued": queued}, headers=NO_STORE
        )
    else:
        note = "Its first sync has started." if queued else "Run `kith sync` to sync it."
        response = _page(200, f"{label} mailbox connected", f"Kith is now connected to {address}. {note}")
    return _forget(response, state)


def _confirmation(
    provider: str, label: str, state: str, token: str, address: str, kith_user: str, elsewhere: bool, status: int
) -> HTMLResponse:
    e = html.escape
    shared = ""
    if elsewhere:
        shared = (
            "<p class='error'>This mailbox is already connected to another Kith account. Connecting it "
            f"here as well lets {e(kith_user)} see its metadata too.</p>"
            "<p><label><input type='checkbox' name='also' value='yes' required> "
            f"Yes, connect {e(address)} to {e(kith_user)} as well</label></p>"
        )
    body = (
        f"<p>Connect the {e(label)} mailbox <strong>{e(address)}</strong> to the Kith account of "
        f"<strong>{e(kith_user)}</strong>?</p>"
        "<p>If you did not start this from your own Kith account, cancel: someone may be trying to "
        "read your mail's metadata.</p>"
        f"<form method='post' action='/v1/connect/{e(provider)}/confirm'>"
        f"<input type='hidden' name='state' value='{e(state)}'>"
        f"<input type='hidden' name='confirm' value='{e(token)}'>{shared}"
        "<button type='submit' name='decision' value='connect'>Connect</button> "
        "<button type='submit' name='decision' value='cancel' formnovalidate>Cancel</button></form>"
    )
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
    body = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)} · Kith"
        "</title><link rel='stylesheet' href='/static/app.css'></head><body><main><section class='card'>"
        f"<h1>{html.escape(title)}</h1>{main}</section></main></body></html>"
    )
    return HTMLResponse(body, status_code=status, headers=NO_STORE)


__all__ = ["router", "known_provider", "start", "callback", "confirm"]
