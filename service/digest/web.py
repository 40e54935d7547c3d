"""The two URLs the digest links to, signed instead of logged in (see links.py).

GET shows a one-button confirmation page and changes nothing (mail scanners and link
previews fetch every URL); POST acts. A bare POST to the unsubscribe URL is RFC 8058
one-click unsubscribe, which Gmail and Yahoo send from their own "Unsubscribe" button.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from html import escape

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse

from ..api.deps import Config, Db
from . import links

router = APIRouter(tags=["digest links"])
# Pages are HTML; errors keep the API's JSON shape, so the route's default class stays JSON.
HTML_PAGE: dict[int | str, dict[str, Any]] = {
    200: {"description": "An HTML page", "content": {"text/html": {"schema": {"type": "string"}}}}
}

# Styled by the dashboard's stylesheet: the app's Content-Security-Policy allows no inline style.
PAGE = """<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Kith</title>
<link rel="stylesheet" href="/static/app.css"></head>
<body><main class="narrow"><section class="card">{body}</section></main></body></html>"""


def _page(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(PAGE.format(body=body), status_code=status)


def _form(text: str, button: str) -> HTMLResponse:
    return _page(f'<p>{escape(text)}</p><form method="post"><button type="submit">{escape(button)}</button></form>')


def _check_unsubscribe(settings, u: int, t: str) -> None:
    if not links.verify_unsubscribe(settings.secret(), u, t):
        raise HTTPException(403, "This link is not valid.")


def _check_snooze(settings, u: int, p: int, until: date, t: str) -> None:
    if not links.verify_snooze(settings.secret(), u, p, until, t, today=date.today()):
        raise HTTPException(403, "This link is not valid or has expired.")


@router.get(links.UNSUBSCRIBE_PATH, response_model=None, responses=HTML_PAGE, summary="Confirm unsubscribing")
def unsubscribe_page(
    settings: Config, u: int = Query(..., ge=1, le=2**63 - 1), t: str = Query(..., max_length=200)
) -> HTMLResponse:
    _check_unsubscribe(settings, u, t)
    return _form("Stop the weekly Kith email? You can turn it back on in your settings.", "Unsubscribe")


@router.post(
    links.UNSUBSCRIBE_PATH, response_model=None, responses=HTML_PAGE, summary="Unsubscribe (RFC 8058 one-click)"
)
def unsubscribe(
    settings: Config, db: Db, u: int = Query(..., ge=1, le=2**63 - 1), t: str = Query(..., max_length=200)
) -> HTMLResponse:
    _check_unsubscribe(settings, u, t)
    with db.tx() as conn:
        conn.execute(
            "INSERT INTO digest_settings (user_id, enabled) SELECT id, false FROM users WHERE id = %s "
            "ON CONFLICT (user_id) DO UPDATE SET enabled = false",
            (u,),
        )
    return _page("<p>Done: you will not get the weekly email any more.</p>")


@router.get(links.SNOOZE_PATH, response_model=None, responses=HTML_PAGE, summary="Confirm snoozing a tie")
def snooze_page(
    settings: Config,
    db: Db,
    u: int = Query(..., ge=1, le=2**63 - 1),
    p: int = Query(..., ge=1, le=2**63 - 1),
    until: date = Query(...),
    t: str = Query(..., max_length=200),
) -> HTMLResponse:
    _check_snooze(settings, u, p, until, t)
    with db.tx() as conn:
        row = conn.execute("SELECT display_name FROM people WHERE id = %s AND user_id = %s", (p, u)).fetchone()
    if row is None:
        raise HTTPException(404, "This person is no longer in your ties.")
    return _form(f"Stop suggesting {row[0] or 'this person'} until {until:%d %b %Y}?", "Snooze")


@router.post(links.SNOOZE_PATH, response_model=None, responses=HTML_PAGE, summary="Snooze a tie")
def snooze(
    settings: Config,
    db: Db,
    u: int = Query(..., ge=1, le=2**63 - 1),
    p: int = Query(..., ge=1, le=2**63 - 1),
    until: date = Query(...),
    t: str = Query(..., max_length=200),
) -> HTMLResponse:
    _check_snooze(settings, u, p, until, t)
    with db.tx() as conn:
        found = conn.execute("SELECT 1 FROM people WHERE id = %s AND user_id = %s", (p, u)).fetchone()
        if found is None:
            raise HTTPException(404, "This person is no longer in your ties.")
        # Clicking twice leaves one snooze, not two.
        conn.execute(
            "INSERT INTO feedback (user_id, person_id, kind, until) SELECT %s, %s, 'snooze', %s "
            "WHERE NOT EXISTS (SELECT 1 FROM feedback WHERE user_id = %s AND person_id = %s "
            "AND kind = 'snooze' AND until = %s)",
            (u, p, until, u, p, until),
        )
    return _page(f"<p>Snoozed until {until:%d %b %Y}.</p>")
