"""Connecting Microsoft 365 from the web: start the msal flow, and its OAuth callback.

    GET /v1/connect/microsoft            (bearer) -> 307 to the Microsoft sign-in page
    GET /v1/connect/microsoft/callback   (no bearer: the state row says whose flow it is)
                                         -> the connected account; a first sync is queued
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import RedirectResponse

from ingest.errors import ConfigError, TransientError

from .. import microsoft
from . import oauth_callback
from .deps import Config, Db, User
from .jobs import Queue

router = APIRouter(prefix="/v1/connect/microsoft", tags=["accounts"])


def callback_url(base_url: str) -> str:
    return f"{base_url.rstrip('/')}/v1/connect/microsoft/callback"


@router.get("", status_code=307, summary="Start connecting a Microsoft 365 account",
            response_class=RedirectResponse,
            responses={307: {"description": "Redirect to the Microsoft sign-in page."},
                       503: {"description": "Microsoft is not configured or not reachable."}})
def start(user: User, settings: Config, db: Db,
          login_hint: Annotated[str | None, Query(max_length=320)] = None) -> RedirectResponse:
    try:
        url = microsoft.start_flow(settings, db, user, callback_url(settings.base_url), login_hint=login_hint)
    except (ConfigError, TransientError) as exc:
        raise HTTPException(503, str(exc)) from None
    return RedirectResponse(url, status_code=307)


@router.get("/callback", summary="OAuth redirect target for Microsoft 365",
            responses={400: {"description": "Unknown, expired or refused sign-in."}})
def callback(request: Request, settings: Config, db: Db, jobs: Queue) -> dict:
    try:
        done = oauth_callback.finish(microsoft.complete_flow, settings, db, dict(request.query_params), jobs)
    except oauth_callback.CallbackRefused as exc:
        raise HTTPException(exc.status, str(exc)) from None
    return {"provider": "microsoft", "account_id": done.account_id, "address": done.address,
            "sync_queued": done.sync_queued}
