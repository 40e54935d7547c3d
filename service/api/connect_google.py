"""Connecting Google from the web: start the OAuth flow, and its callback.

    GET /v1/connect/google            (bearer) -> 302 to KITH_GOOGLE_AUTH_URI (state + PKCE)
    GET /v1/connect/google/callback   (no bearer: the state row says whose flow it is)
                                      -> a page saying which account is connected; a first
                                         sync is queued. A missing, forged, replayed or
                                         expired state gets a 400 page saying so.
"""
from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, RedirectResponse

from ingest.errors import ConfigError

from .. import google
from . import oauth_callback
from .deps import Config, Db, User
from .jobs import Queue

router = APIRouter(prefix="/v1/connect/google", tags=["accounts"])


def callback_url(base_url: str) -> str:
    return f"{base_url.rstrip('/')}/v1/connect/google/callback"


def _page(status: int, title: str, text: str) -> HTMLResponse:
    body = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title></head>"
            f"<body><h1>{html.escape(title)}</h1><p>{html.escape(text)}</p></body></html>")
    return HTMLResponse(body, status_code=status)


@router.get("", status_code=302, summary="Start connecting a Google account",
            response_class=RedirectResponse,
            responses={302: {"description": "Redirect to Google's consent page."},
                       503: {"description": "Google is not configured."}})
def start(user: User, settings: Config, db: Db,
          login_hint: Annotated[str | None, Query(max_length=320)] = None):
    try:
        url = google.start_flow(settings, db, user, callback_url(settings.base_url), login_hint=login_hint)
    except ConfigError as exc:
        return _page(503, "Google is not configured", str(exc))
    return RedirectResponse(url, status_code=302)


@router.get("/callback", summary="OAuth redirect target for Google", response_class=HTMLResponse,
            responses={400: {"description": "Missing, unknown, replayed or refused sign-in."}})
def callback(settings: Config, db: Db, jobs: Queue,
             state: Annotated[str | None, Query(max_length=512)] = None,
             code: Annotated[str | None, Query(max_length=2048)] = None,
             error: Annotated[str | None, Query(max_length=256)] = None,
             scope: Annotated[str | None, Query(max_length=4096, description="granted scopes (Google adds it)")] = None,
             authuser: Annotated[str | None, Query(max_length=16, description="Google adds it")] = None,
             prompt: Annotated[str | None, Query(max_length=64, description="Google adds it")] = None,
             hd: Annotated[str | None, Query(max_length=256, description="Workspace domain (Google adds it)")] = None,
             iss: Annotated[str | None, Query(max_length=256, description="issuer (RFC 9207)")] = None,
             ) -> HTMLResponse:
    answer = {k: v for k, v in {"state": state, "code": code, "error": error}.items() if v is not None}
    try:
        done = oauth_callback.finish(google.complete_flow, settings, db, answer, jobs)
    except oauth_callback.CallbackRefused as exc:
        return _page(exc.status, "Google account not connected", str(exc))
    note = "Its first sync has started." if done.sync_queued else "Run `kith sync` to sync it."
    return _page(200, "Google account connected", f"Kith is now connected to {done.address}. {note}")
