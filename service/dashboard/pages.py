"""What every dashboard route shares: the templates, a page answer, the session, the form.

Templates autoescape everything (names and addresses come from mail headers); the home page
is made of partials (templates/partials/), each one `{% include %}` line in home.html.j2, so
a new panel is one template and one line.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from . import sessions, words

HERE = Path(__file__).parent
COOKIE = "kith_session"
MAX_FORM_BYTES = 4096

env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html", "j2"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
env.filters["relative"] = words.relative
env.filters["iso_utc"] = words.iso_utc
env.filters["day"] = words.day


def page(name: str, status: int = 200, request: Request | None = None, **context) -> HTMLResponse:
    html = env.get_template(name).render(**context).encode()
    # A long table compresses ~10x; API responses are left alone (their clients choose),
    # pages are compressed here when the browser agrees.
    if request is not None and len(html) > 32_000 and "gzip" in request.headers.get("accept-encoding", ""):
        return HTMLResponse(
            gzip.compress(html, compresslevel=5),
            status_code=status,
            headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"},
        )
    return HTMLResponse(html, status_code=status)


def session_of(request: Request) -> sessions.Session | None:
    session_id = request.cookies.get(COOKIE)
    if not session_id:
        return None
    with request.app.state.db.tx() as conn:
        return sessions.find_session(conn, session_id)


async def _form_fields(request: Request) -> dict[str, str]:
    """The posted form's fields (first value of each), read up to MAX_FORM_BYTES."""
    body = await request.body()
    return {key: values[0] for key, values in parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", "replace")).items()}


Form = Depends(_form_fields)


def refused() -> HTMLResponse:
    return page(
        "problem.html.j2",
        403,
        title="Refused",
        text="That form did not come from this Kith page. Open Kith and try again.",
    )


def to_signin() -> RedirectResponse:
    return RedirectResponse("/", status_code=303)


def secure(request: Request) -> bool:
    return request.app.state.settings.base_url.startswith("https://")
