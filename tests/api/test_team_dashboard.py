"""The dashboard's team search box and page: results, introductions asked of you, the draft,
and isolation (a non-member, a member who does not share, another user's request)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.teams import introductions, membership, ranking
from tests.support.team import mate

ORIGIN = "http://testserver"


@pytest.fixture
def world(settings):
    with TestClient(create_app(settings)) as client:
        db = client.app.state.db
        ana = mate(db, "ana@home.example", "Ana Ruiz", [("lee@acme.example", 65, "2026-10-02T10:00:00Z", True)])
        bo = mate(db, "bo@home.example", "Bo Chen", [("lee@acme.example", 98, "2026-11-20T10:00:00Z", True)])
        dee = mate(db, "dee@home.example", "Dee Park", [("lee@acme.example", 95, "2026-11-20T10:00:00Z", True)])
        cy = mate(db, "cy@home.example", "Cy Diaz", [("lee@acme.example", 99, "2026-11-21T10:00:00Z", True)])
        out = mate(db, "out@else.example", "Out Sider", [("lee@acme.example", 97, "2026-11-21T10:00:00Z", True)])
        with db.tx() as conn:
            team = membership.create_team(conn, ana.user_id, "Sales <Team>")
            for m in (bo, dee, cy):
                membership.join(conn, team, m.user_id)
            for m in (ana, bo, cy):
                membership.set_sharing(conn, team, m.user_id, True)
            rid = introductions.ask(conn, team, ana.user_id, bo.user_id, "lee@acme.example", "<script>x</script> hi")
            membership.remove(conn, team, ana.user_id, cy.user_id)  # Cy shared, then was removed
            rivals = membership.create_team(conn, out.user_id, "Rivals")  # another team, sharing lee too
            membership.set_sharing(conn, rivals, out.user_id, True)
        yield client, {"ana": ana, "bo": bo, "dee": dee, "cy": cy, "out": out, "team": team, "rid": rid}


def _sign_in(client, who):
    client.cookies.clear()
    r = client.post("/signin", data={"token": who.token}, headers={"origin": ORIGIN}, follow_redirects=False)
    assert r.status_code == 303


def _csrf(html: str) -> str:
    return re.search(r'name="csrf" value="([^"]+)"', html).group(1)


def test_the_home_page_carries_the_search_box(world):
    client, w = world
    _sign_in(client, w["ana"])
    home = client.get("/").text
    assert 'action="/team"' in home and 'name="q"' in home


def test_search_and_answer_an_introduction(world):
    client, w = world
    # Given Bo signed in, with Ana's request waiting
    _sign_in(client, w["bo"])
    page = client.get("/team", params={"q": "acme.example"})
    assert page.status_code == 200
    # Then he sees who to ask at acme (himself, strong) and the request, escaped
    assert "lee@acme.example" in page.text and "Bo Chen" in page.text and "strong" in page.text
    assert "Sales &lt;Team&gt;" in page.text and "&lt;script&gt;x&lt;/script&gt; hi" in page.text
    assert "<script>x" not in page.text and "Dee Park" not in page.text
    # And, under the answer, what a band means (the same for every teammate)
    assert ranking.BAND_MEANING in page.text
    # When he accepts, the page shows the draft to send from his own mail
    done = client.post(
        f"/team/{w['team']}/introductions/{w['rid']}",
        data={"csrf": _csrf(page.text), "decision": "accept"},
        headers={"origin": ORIGIN},
    )
    assert done.status_code == 200 and "Introduction:" in done.text and "Kith sends nothing" in done.text
    # And a form without the CSRF token is refused
    again = client.post(
        f"/team/{w['team']}/introductions/{w['rid']}", data={"decision": "decline"}, headers={"origin": ORIGIN}
    )
    assert again.status_code == 403


@pytest.mark.parametrize("who", ["dee", "cy", "out", "ana"])
def test_isolation_of_the_team_page(world, who):
    client, w = world
    _sign_in(client, w[who])
    page = client.get("/team", params={"q": "lee@acme.example"})
    if who == "ana":
        # Ana shares: she sees Bo and herself; but not the request asked of Bo, nor Cy (removed)
        assert "Bo Chen" in page.text and "asks to meet" not in page.text
        assert "Cy Diaz" not in page.text and "Out Sider" not in page.text
    elif who == "out":
        # Another team's sharing member sees their own team only
        assert "Out Sider" in page.text and "Bo Chen" not in page.text and "Ana Ruiz" not in page.text
        assert "Sales" not in page.text and "asks to meet" not in page.text
    else:
        # A member who does not share, and a removed member: no names, no bands, no request
        assert "Bo Chen" not in page.text and "strong" not in page.text and "asks to meet" not in page.text
        assert ranking.BAND_MEANING not in page.text
    # Nobody but Bo can answer his request
    answer = client.post(
        f"/team/{w['team']}/introductions/{w['rid']}",
        data={"csrf": _csrf(client.get("/").text), "decision": "accept"},
        headers={"origin": ORIGIN},
    )
    assert answer.status_code == 404 and "Introduction:" not in answer.text
