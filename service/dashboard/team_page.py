"""The dashboard's team page: search who on your teams knows a person or an organisation,
and answer the introductions asked of you (accepting shows the draft to send yourself).

The search box itself is a partial (templates/partials/team_search.html.j2) that the home page
includes; it sends a plain GET here. Answers come from service.teams, exactly as the API's,
so the page shows no more than band and month either; under the answers it says what a
band means (ranking.BAND_MEANING). Forms carry the session's CSRF token.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ..teams import answers, introductions, membership, ranking
from . import sessions
from .pages import MAX_FORM_BYTES, page, session_of

router = APIRouter(include_in_schema=False)


def _page(status: int = 200, **context) -> HTMLResponse:
    return page("team.html.j2", status, band_meaning=ranking.BAND_MEANING, **context)


def _session(request: Request) -> sessions.Session | None:
    return session_of(request)


def _search(conn, user: int, teams: list[dict], q: str) -> tuple[list[dict], str | None]:
    """Who knows `q` (an address, else a domain) in each team the user shares in."""
    q = q.strip()
    if not q:
        return [], None
    out = []
    for t in teams:
        if not t["sharing"]:
            continue
        try:
            if "@" in q:
                found = answers.who_knows(conn, t["id"], user, address=q)
                out.append({"team": t, "address": found["value"], "known_by": found["known_by"], "people": []})
            else:
                reach = answers.org_reach(conn, t["id"], user, q)
                out.append({"team": t, "address": None, "known_by": [], "people": reach["people"]})
        except ValueError as exc:
            return [], str(exc)
    if not out:
        return [], "Turn sharing on in a team to search it: only members who share see who knows whom."
    return out, None


@router.get("/team", response_class=HTMLResponse)
def team_page(request: Request, q: str = "") -> Response:
    session = _session(request)
    if session is None:
        return RedirectResponse("/", status_code=303)
    user = session.user_id
    with request.app.state.db.tx() as conn:
        teams = membership.my_teams(conn, user)
        results, problem = _search(conn, user, teams, q[:320])
        asked = [
            dict(item, team=t)
            for t in teams
            for item in introductions.listing(conn, t["id"], user)["asked_of_me"]
            if item["status"] == "pending"
        ]
    return _page(csrf=session.csrf, q=q[:320], teams=teams, results=results, problem=problem, asked=asked, draft=None)


@router.post("/team/{team_id}/introductions/{request_id}")
async def answer(request: Request, team_id: int, request_id: int) -> Response:
    session = _session(request)
    if session is None:
        return RedirectResponse("/", status_code=303)
    body = await request.body()
    fields = {k: v[0] for k, v in parse_qs(body[:MAX_FORM_BYTES].decode("utf-8", "replace")).items()}
    if not sessions.form_allowed(request.headers, session, fields):
        return _page(
            403,
            csrf=session.csrf,
            q="",
            teams=[],
            results=[],
            problem="That form did not come from Kith.",
            asked=[],
            draft=None,
        )
    accept = fields.get("decision") == "accept"
    try:
        with request.app.state.db.tx() as conn:
            decided = introductions.decide(conn, team_id, session.user_id, request_id, accept)
    except (LookupError, FileExistsError) as exc:
        return _page(404, csrf=session.csrf, q="", teams=[], results=[], problem=str(exc), asked=[], draft=None)
    if not accept:
        return RedirectResponse("/team", status_code=303)
    return _page(csrf=session.csrf, q="", teams=[], results=[], problem=None, asked=[], draft=decided["draft"])
