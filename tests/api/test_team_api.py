"""/v1/team: a team's minimal sharing, who knows whom, reach, risk and introductions, and
isolation on every route (non-member, non-sharing member, removed member, other team)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.teams import ranking
from tests.support.team import BAND_AND_MONTH, MEMBER_KEYS, mate, team_of

ACME = "acme.example"


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def crew(client):
    db = client.app.state.db
    ana = mate(
        db,
        "ana@home.example",
        "Ana Ruiz",
        [
            ("lee@acme.example", 92, "2026-10-02T10:00:00Z", True),
            ("kim@acme.example", 65, "2026-09-14T10:00:00Z", True),
            ("zoe@globex.example", 96, "2026-11-10T10:00:00Z", True),
            ("faint@acme.example", 9, "2026-11-10T10:00:00Z", True),
        ],
    )
    bo = mate(
        db,
        "bo@home.example",
        "Bo Chen",
        [
            ("lee@acme.example", 94, "2026-11-20T10:00:00Z", True),
            ("kim@acme.example", 91, "2026-06-01T10:00:00Z", False),
            ("max@initech.example", 98, "2026-10-01T10:00:00Z", True),
        ],
    )
    cy = mate(db, "cy@home.example", "Cy Diaz", [("lee@acme.example", 99, "2026-11-21T10:00:00Z", True)])
    dee = mate(db, "dee@home.example", "Dee Park", [("lee@acme.example", 95, "2026-11-21T10:00:00Z", True)])
    outsider = mate(db, "out@else.example", "Out Sider", [("lee@acme.example", 97, "2026-11-21T10:00:00Z", True)])
    team = team_of(client, ana, bo, cy, dee, share=(ana, bo, cy))
    # Cy shared, then was removed by the owner; Dee is a member who does not share.
    assert client.delete(f"/v1/team/{team}/members/{cy.user_id}", headers=ana.auth).status_code == 200
    other = team_of(client, outsider, name="Rivals", share=(outsider,))
    return {"team": team, "other": other, "ana": ana, "bo": bo, "cy": cy, "dee": dee, "out": outsider}


def _names(body):
    return [k["member"]["name"] for k in body["known_by"]]


def test_who_knows_a_domain_ranks_by_band_then_recency_and_carries_only_band_and_month(client, crew):
    # Given Ana (lee strong, Oct) and Bo (lee strong, Nov; kim strong but one-way)
    team, ana = crew["team"], crew["ana"]
    # When Ana asks who knows someone at acme.example
    r = client.get(f"/v1/team/{team}/who-knows", params={"domain": ACME}, headers=ana.auth)
    # Then Bo comes first (same band, more recent), Ana next; Cy (removed), Dee (not sharing)
    # and the other team's member do not appear
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"kind", "value", "known_by"} and body["value"] == ACME
    assert _names(body) == ["Bo Chen", "Ana Ruiz"]
    assert body["known_by"][0]["band"] == "strong" and body["known_by"][0]["month"] == "2026-11"
    for k in body["known_by"]:
        assert set(k) == BAND_AND_MONTH and set(k["member"]) == MEMBER_KEYS
    # and nothing of the snapshot beyond band and month leaks anywhere in the answer
    assert "secret" not in r.text and "one_sided" not in r.text and "reciprocity" not in r.text


def test_who_knows_an_address_and_a_person_and_a_one_way_tie_has_no_month(client, crew):
    team, ana = crew["team"], crew["ana"]
    # Given kim: Ana medium (two-way, Sep), Bo strong but with no two-way contact
    r = client.get(f"/v1/team/{team}/who-knows", params={"address": "KIM@acme.example"}, headers=ana.auth)
    # Then Bo ranks first on band, and his month is withheld
    assert r.json()["known_by"] == [
        {
            "member": {"user_id": crew["bo"].user_id, "name": "Bo Chen", "email": "bo@home.example"},
            "band": "strong",
            "month": None,
        },
        {
            "member": {"user_id": ana.user_id, "name": "Ana Ruiz", "email": "ana@home.example"},
            "band": "medium",
            "month": "2026-09",
        },
    ]
    # And a person of Ana's own book is looked up by its addresses
    with client.app.state.db.tx() as conn:
        pid = conn.execute(
            "SELECT person_id FROM person_addresses WHERE user_id = %s AND address = 'lee@acme.example'",
            (ana.user_id,),
        ).fetchone()[0]
    r = client.get(f"/v1/team/{team}/who-knows", params={"person": pid}, headers=ana.auth)
    assert r.json()["kind"] == "person" and _names(r.json()) == ["Bo Chen", "Ana Ruiz"]
    # A weak-below-15 tie is never shared
    r = client.get(f"/v1/team/{team}/who-knows", params={"address": "faint@acme.example"}, headers=ana.auth)
    assert r.json()["known_by"] == []


def test_org_reach_and_key_person_risk(client, crew):
    team, bo = crew["team"], crew["bo"]
    r = client.get(f"/v1/team/{team}/orgs/{ACME}", headers=bo.auth)
    assert r.status_code == 200
    people = r.json()["people"]
    assert [(p["contact"], p["ask"]["name"]) for p in people] == [
        ("lee@acme.example", "Bo Chen"),
        ("kim@acme.example", "Bo Chen"),
    ]
    for p in people:
        assert set(p) == {"contact", "ask", "band", "month"} and set(p["ask"]) == MEMBER_KEYS
    # Globex (Ana only) and Initech (Bo only) rest on one teammate; Acme has two strong ties
    r = client.get(f"/v1/team/{team}/key-person-risk", headers=bo.auth)
    orgs = r.json()["organisations"]
    assert [(o["domain"], o["only"]["name"]) for o in orgs] == [
        ("globex.example", "Ana Ruiz"),
        ("initech.example", "Bo Chen"),
    ]
    for o in orgs:
        assert set(o) == {"domain", "only", "band", "month"}


def test_the_api_says_what_a_band_means_wherever_it_carries_one(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for name in ("Known", "Reachable", "Risk"):
        assert schemas[name]["properties"]["band"]["description"] == ranking.BAND_MEANING


ROUTES = [
    ("GET", "/v1/team/{t}", None),
    ("GET", "/v1/team/{t}/who-knows?domain=acme.example", None),
    ("GET", "/v1/team/{t}/who-knows?address=lee@acme.example", None),
    ("GET", "/v1/team/{t}/who-knows?person={p}", None),  # lee, as a person of the caller's own book
    ("GET", "/v1/team/{t}/orgs/acme.example", None),
    ("GET", "/v1/team/{t}/key-person-risk", None),
    ("GET", "/v1/team/{t}/introductions", None),
    ("POST", "/v1/team/{t}/introductions", {"member": 0, "contact": "lee@acme.example", "note": "hi"}),
    ("POST", "/v1/team/{t}/invitations", {"email": "new@x.example"}),
    ("PUT", "/v1/team/{t}/sharing", {"share": True}),
    ("DELETE", "/v1/team/{t}/members/{m}", None),  # remove Bo
    ("DELETE", "/v1/team/{t}/members/me", None),
    ("POST", "/v1/team/{t}/introductions/{r}/accept", None),
    ("POST", "/v1/team/{t}/introductions/{r}/decline", None),
]
TEAM_ANSWERS = {"/who-knows", "/orgs/", "/key-person-risk", "/introductions"}


@pytest.mark.parametrize("who", ["out", "cy", "dee", "other_team"])
def test_isolation_on_every_route(client, crew, who):
    # Given a pending request from Bo to Ana (so there is something to find)
    team, ana, bo = crew["team"], crew["ana"], crew["bo"]
    asked = client.post(
        f"/v1/team/{team}/introductions",
        json={"member": ana.user_id, "contact": "lee@acme.example", "note": "hi"},
        headers=bo.auth,
    )
    assert asked.status_code == 201, asked.text
    request_id = asked.json()["id"]
    caller = crew["out"] if who == "other_team" else crew[who]
    # "other_team": the outsider, member and sharer of their own team, asks about ours.
    with client.app.state.db.tx() as conn:
        own = conn.execute(
            "SELECT person_id FROM person_addresses WHERE user_id = %s AND address = 'lee@acme.example'",
            (caller.user_id,),
        ).fetchone()[0]
    for method, template, body in ROUTES:
        path = template.format(t=team, r=request_id, p=own, m=bo.user_id)
        if body is not None and "member" in body:
            body = dict(body, member=ana.user_id)
        r = client.request(method, path, json=body, headers=caller.auth)
        if who == "dee" and (path.endswith(f"/{team}") or "sharing" in path or "members/me" in path):
            continue  # Dee is a member: she may see the roster, opt in or leave
        if who == "dee" and path.endswith("/introductions") and method == "GET":
            # A non-sharing member's own listing: empty
            assert r.status_code == 200 and r.json() == {"asked_of_me": [], "asked_by_me": []}
            continue
        if who == "dee" and (path.endswith("/invitations") or f"/members/{bo.user_id}" in path):
            assert r.status_code == 403, (path, r.text)  # a member, but not the owner
            continue
        assert r.status_code == 404, (who, method, path, r.status_code, r.text)
        assert "lee@" not in r.text.replace(path, "") or "No teammate" in r.text
    # Nobody of them removed Bo or answered the request
    assert _names(client.get(f"/v1/team/{team}/who-knows", params={"domain": ACME}, headers=ana.auth).json()) == [
        "Bo Chen",
        "Ana Ruiz",
    ]
    assert client.get(f"/v1/team/{team}/introductions", headers=ana.auth).json()["asked_of_me"][0]["status"] == (
        "pending"
    )
    # And the other team's own answers never include ours
    out = crew["out"]
    r = client.get(f"/v1/team/{crew['other']}/who-knows", params={"domain": ACME}, headers=out.auth)
    assert _names(r.json()) == ["Out Sider"]


def test_a_sharing_member_cannot_look_up_a_teammates_person(client, crew):
    # Given Bo's person for lee (his own book), when Ana (sharing) asks by that id
    team, ana, bo = crew["team"], crew["ana"], crew["bo"]
    with client.app.state.db.tx() as conn:
        his = conn.execute(
            "SELECT person_id FROM person_addresses WHERE user_id = %s AND address = 'lee@acme.example'",
            (bo.user_id,),
        ).fetchone()[0]
    r = client.get(f"/v1/team/{team}/who-knows", params={"person": his}, headers=ana.auth)
    # Then it is not found, and nothing of Bo's person is named
    assert r.status_code == 404 and "lee@" not in r.text and "Bo" not in r.text


def test_stopping_sharing_and_leaving_remove_a_member_at_once(client, crew):
    team, ana, bo = crew["team"], crew["ana"], crew["bo"]
    db = client.app.state.db
    asked = client.post(
        f"/v1/team/{team}/introductions", json={"member": bo.user_id, "contact": "lee@acme.example"}, headers=ana.auth
    )
    assert asked.status_code == 201
    # When Bo stops sharing
    assert client.put(f"/v1/team/{team}/sharing", json={"share": False}, headers=bo.auth).json()["sharing"] is False
    # Then he is gone from every answer, his rows and the requests asked of him are gone
    r = client.get(f"/v1/team/{team}/who-knows", params={"domain": ACME}, headers=ana.auth)
    assert _names(r.json()) == ["Ana Ruiz"]
    assert client.get(f"/v1/team/{team}/orgs/initech.example", headers=ana.auth).json()["people"] == []
    with db.tx() as conn:
        assert (
            conn.execute("SELECT count(*) FROM team_shared_ties WHERE user_id = %s", (bo.user_id,)).fetchone()[0] == 0
        )
        assert conn.execute("SELECT count(*) FROM team_intro_requests").fetchone()[0] == 0
    # When Ana (owner) leaves, what the team held of her goes and Bo becomes owner
    assert client.delete(f"/v1/team/{team}/members/me", headers=ana.auth).status_code == 200
    with db.tx() as conn:
        assert conn.execute("SELECT count(*) FROM team_shared_ties WHERE team_id = %s", (team,)).fetchone()[0] == 0
    assert client.get(f"/v1/team/{team}", headers=ana.auth).status_code == 404
    assert client.get(f"/v1/team/{team}", headers=bo.auth).json()["role"] == "owner"


def test_introduction_accept_gives_a_draft_and_decline_gives_none(client, crew):
    team, ana, bo = crew["team"], crew["ana"], crew["bo"]
    # Given Ana asks Bo for lee (he shares it), with a note
    r = client.post(
        f"/v1/team/{team}/introductions",
        json={"member": bo.user_id, "contact": "lee@acme.example", "note": "About the Q1 pilot\x07"},
        headers=ana.auth,
    )
    rid = r.json()["id"]
    # A second identical request is a conflict; a contact Bo does not share is not found
    again = {"member": bo.user_id, "contact": "lee@acme.example"}
    assert client.post(f"/v1/team/{team}/introductions", json=again, headers=ana.auth).status_code == 409
    zoe = {"member": bo.user_id, "contact": "zoe@globex.example"}
    assert client.post(f"/v1/team/{team}/introductions", json=zoe, headers=ana.auth).status_code == 404
    # Bo sees it; Ana sees it as asked by her
    mine = client.get(f"/v1/team/{team}/introductions", headers=bo.auth).json()
    assert [i["asked_by"]["name"] for i in mine["asked_of_me"]] == ["Ana Ruiz"] and mine["asked_by_me"] == []
    # Ana cannot answer her own request
    assert client.post(f"/v1/team/{team}/introductions/{rid}/accept", headers=ana.auth).status_code == 404
    # When Bo accepts, he gets a draft to send himself, addressed to lee with Ana in copy
    done = client.post(f"/v1/team/{team}/introductions/{rid}/accept", headers=bo.auth).json()
    assert done["status"] == "accepted"
    draft = done["draft"]
    assert draft["to"] == "lee@acme.example" and draft["cc"] == "ana@home.example"
    assert "Ana Ruiz" in draft["subject"] and "About the Q1 pilot" in draft["body"] and "\x07" not in draft["body"]
    assert draft["mailto"].startswith("mailto:lee@acme.example?cc=ana@home.example")
    # Answering twice is a conflict
    assert client.post(f"/v1/team/{team}/introductions/{rid}/decline", headers=bo.auth).status_code == 409
    # A declined request carries no draft
    rid2 = client.post(
        f"/v1/team/{team}/introductions", json={"member": bo.user_id, "contact": "kim@acme.example"}, headers=ana.auth
    ).json()["id"]
    assert client.post(f"/v1/team/{team}/introductions/{rid2}/decline", headers=bo.auth).json() == {
        "id": rid2,
        "status": "declined",
    }


def test_bad_requests_get_4xx_with_a_message(client, crew):
    team, ana = crew["team"], crew["ana"]
    cases = [
        ("GET", f"/v1/team/{team}/who-knows", None),  # none of address/domain/person
        ("GET", f"/v1/team/{team}/who-knows?domain=acme.example&address=a@b.example", None),
        ("GET", f"/v1/team/{team}/who-knows?domain=not%20a%20domain", None),
        ("GET", f"/v1/team/{team}/who-knows?address=nobody", None),
        ("GET", f"/v1/team/{team}/who-knows?domian=acme.example", None),
        ("POST", "/v1/team", {"name": ""}),
        ("POST", "/v1/team", {"name": "x", "extra": 1}),
        ("POST", f"/v1/team/{team}/introductions", {"member": 1, "contact": "lee@acme.example", "note": "x" * 1001}),
    ]
    for method, path, body in cases:
        r = client.request(method, path, json=body, headers=ana.auth)
        assert r.status_code == 422, (path, r.status_code, r.text)
        assert r.json()["message"]


def test_erasing_an_owner_hands_the_team_on_and_drops_what_it_held(client, crew):
    # Given Ana owns the team and shares; when her account is erased
    from service.erasure import erase_user

    team, ana, bo = crew["team"], crew["ana"], crew["bo"]
    db = client.app.state.db
    erase_user(db, client.app.state.settings, ana.user_id)
    # Then Bo owns the team, and nothing of Ana's is left in it
    assert client.get(f"/v1/team/{team}", headers=bo.auth).json()["role"] == "owner"
    r = client.get(f"/v1/team/{team}/who-knows", params={"domain": ACME}, headers=bo.auth)
    assert _names(r.json()) == ["Bo Chen"]
    # And the other team, whose only member is erased, is gone with its rows
    erase_user(db, client.app.state.settings, crew["out"].user_id)
    with db.tx() as conn:
        assert conn.execute("SELECT count(*) FROM teams WHERE id = %s", (crew["other"],)).fetchone()[0] == 0
