"""Connecting Google from the web (the flow itself is api.oauth_callback's, for both providers).

    GET  /v1/connect/google            (bearer) -> 302 to KITH_GOOGLE_AUTH_URI (state + PKCE),
                                       setting the flow's browser-binding cookie
    GET  /v1/connect/google/callback   (no bearer: the state row and the cookie say whose flow
                                       it is) -> a page asking to confirm which mailbox goes to
                                       which Kith user; another browser's flow gets a 403 page
    POST /v1/connect/google/confirm    (the page's form) -> the account is connected and a
                                       first sync is queued
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from . import oauth_callback
from .deps import Config, Db

router = APIRouter(prefix="/v1/connect/google", tags=["accounts"])


def callback_url(base_url: str) -> str:
    return oauth_callback.callback_url(base_url, "google")


oauth_callback.add_routes(router, "google")


@router.get("/callback", summary="OAuth redirect target for Google", response_class=HTMLResponse,
            responses={400: {"description": "Missing, unknown, replayed or refused sign-in."},
                       403: {"description": "The sign-in was started in another browser."}})
def callback(request: Request, settings: Config, db: Db,
             state: Annotated[str | None, Query(max_length=512)] = None,
             code: Annotated[str | None, Query(max_length=2048)] = None,
             error: Annotated[str | None, Query(max_length=256)] = None,
             scope: Annotated[str | None, Query(max_length=4096, description="granted scopes (Google adds it)")] = None,
             authuser: Annotated[str | None, Query(max_length=16, description="Google adds it")] = None,
             prompt: Annotated[str | None, Query(max_length=64, description="Google adds it")] = None,
             hd: Annotated[str | None, Query(max_length=256, description="Workspace domain (Google adds it)")] = None,
             iss: Annotated[str | None, Query(max_length=256, description="issuer (RFC 9207)")] = None,
             ) -> Response:
    answer = {k: v for k, v in {"state": state, "code": code, "error": error}.items() if v is not None}
    return oauth_callback.callback(request, settings, db, "google", answer)

