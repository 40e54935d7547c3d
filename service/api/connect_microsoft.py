"""Connecting Microsoft 365 from the web (the flow itself is api.oauth_callback's, for both
providers; the routes answer exactly as Google's do).

    GET  /v1/connect/microsoft            (bearer) -> 302 to the Microsoft sign-in page,
                                          setting the flow's browser-binding cookie
    GET  /v1/connect/microsoft/callback   (no bearer) -> the confirmation page, or a 403 page
                                          for another browser's flow
    POST /v1/connect/microsoft/confirm    (the page's form) -> connected, first sync queued
"""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from . import oauth_callback
from .deps import Config, Db

router = APIRouter(prefix="/v1/connect/microsoft", tags=["accounts"])
MAX_QUERY_VALUE = 8192


def callback_url(base_url: str) -> str:
    return oauth_callback.callback_url(base_url, "microsoft")


oauth_callback.add_routes(router, "microsoft")


@router.get("/callback", summary="OAuth redirect target for Microsoft 365", response_class=HTMLResponse,
            responses={400: {"description": "Unknown, expired or refused sign-in."},
                       403: {"description": "The sign-in was started in another browser."}})
def callback(request: Request, settings: Config, db: Db) -> Response:
    # msal checks the whole answer (code, state, client_info, session_state...) against its flow.
    answer = {k: v[:MAX_QUERY_VALUE] for k, v in request.query_params.items()}
    return oauth_callback.callback(request, settings, db, "microsoft", answer)

