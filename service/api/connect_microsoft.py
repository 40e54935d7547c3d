"""Connecting Microsoft 365 from the web (the flow itself is api.oauth_callback's, for both
providers; the routes answer exactly as Google's do).

    GET  /v1/connect/microsoft            (bearer) -> 302 to the Microsoft sign-in page,
                                          setting the flow's browser-binding cookie
    GET  /v1/connect/microsoft/callback   (no bearer) -> the confirmation page, or a 403 page
                                          for another browser's flow
    POST /v1/connect/microsoft/confirm    (the page's form) -> connected, first sync queued
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from . import oauth_callback
from .deps import Config, Db, User

router = APIRouter(prefix="/v1/connect/microsoft", tags=["accounts"])
MAX_QUERY_VALUE = 8192


def callback_url(base_url: str) -> str:
    return oauth_callback.callback_url(base_url, "microsoft")


@router.get("", status_code=302, summary="Start connecting a Microsoft 365 account",
            response_class=RedirectResponse,
            responses={302: {"description": "Redirect to the Microsoft sign-in page."},
                       503: {"description": "Microsoft is not configured or not reachable."}})
def start(request: Request, user: User, settings: Config, db: Db,
          login_hint: Annotated[str | None, Query(max_length=320)] = None) -> Response:
    return oauth_callback.start(request, settings, db, "microsoft", user, login_hint)


@router.get("/callback", summary="OAuth redirect target for Microsoft 365", response_class=HTMLResponse,
            responses={400: {"description": "Unknown, expired or refused sign-in."},
                       403: {"description": "The sign-in was started in another browser."}})
def callback(request: Request, settings: Config, db: Db) -> Response:
    # msal checks the whole answer (code, state, client_info, session_state...) against its flow.
    answer = {k: v[:MAX_QUERY_VALUE] for k, v in request.query_params.items()}
    return oauth_callback.callback(request, settings, db, "microsoft", answer)


@router.post("/confirm", summary="Confirm connecting the Microsoft 365 mailbox of a finished sign-in",
             response_class=HTMLResponse,
             responses={400: {"description": "Unknown, expired or already used confirmation."},
                        403: {"description": "Not the browser that started the sign-in."},
                        409: {"description": "The mailbox is connected to another Kith user: confirm that too."}})
async def confirm(request: Request, settings: Config, db: Db) -> Response:
    return await oauth_callback.confirm(request, settings, db, "microsoft")
