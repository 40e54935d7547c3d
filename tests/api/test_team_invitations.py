"""Invitations: signed, expiring, single-use, bound to the invited address."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.teams import invitations
from tests.support.team import mate


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def setup(client):
    db = client.app.state.db
    owner = mate(db, "own@home.example", "Owner")
    guest = mate(db, "guest@home.example", "Guest")
    other = mate(db, "other@home.example", "Other")
    team = client.post("/v1/team", json={"name": "Deals"}, headers=owner.auth).json()["id"]
    return client, owner, guest, other, team


def _invite(client, owner, team, email):
    r = client.post(f"/v1/team/{team}/invitations", json={"email": email}, headers=owner.auth)
    assert r.status_code == 201, r.text
    return r.json()["token"]


def _join(client, who, token):
    return client.post("/v1/team/join", json={"token": token}, headers=who.auth)


def test_a_valid_token_joins_once_and_only_for_its_address(setup):
    client, owner, guest, other, team = setup
    token = _invite(client, owner, team, "Guest@Home.example")
    # Another account cannot use it
    r = _join(client, other, token)
    assert r.status_code == 403 and "another address" in r.json()["message"]
    # The invited person joins with their own account; sharing starts off
    r = _join(client, guest, token)
    assert r.status_code == 200
    me = next(m for m in r.json()["members"] if m["user_id"] == guest.user_id)
    assert me["sharing"] is False and me["role"] == "member"
    # A second use is refused
    assert _join(client, guest, token).status_code == 410


@pytest.mark.parametrize(
    "forge",
    [
        lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),  # MAC changed
        lambda t: t.split(".")[0] + "." + str(int(t.split(".")[1]) + 86400) + "." + t.split(".")[2],  # expiry pushed
        lambda t: str(int(t.split(".")[0]) + 1) + "." + ".".join(t.split(".")[1:]),  # another invitation id
        lambda t: "not-a-token",
        lambda t: "1.2.3.4",
    ],
)
def test_forged_tokens_are_refused(setup, forge):
    client, owner, guest, _other, team = setup
    token = _invite(client, owner, team, guest.email)
    r = _join(client, guest, forge(token))
    assert r.status_code == 400 and r.json()["message"]
    assert client.get(f"/v1/team/{team}", headers=guest.auth).status_code == 404


def test_a_token_signed_with_another_secret_is_refused(setup, client):
    client, owner, guest, _other, team = setup
    with client.app.state.db.tx() as conn:
        made = invitations.invite(conn, b"some other secret", team, owner.user_id, guest.email)
    assert _join(client, guest, made["token"]).status_code == 400


def test_an_expired_token_is_refused(setup):
    client, owner, guest, _other, team = setup
    # Given an invitation made eight days ago (they last seven)
    with client.app.state.db.tx() as conn:
        made = invitations.invite(
            conn,
            client.app.state.settings.secret(),
            team,
            owner.user_id,
            guest.email,
            now=datetime.now(timezone.utc) - timedelta(days=8),
        )
    r = _join(client, guest, made["token"])
    assert r.status_code == 410 and "expired" in r.json()["message"]
    assert client.get(f"/v1/team/{team}", headers=guest.auth).status_code == 404


def test_only_the_owner_invites(setup):
    client, owner, guest, other, team = setup
    _join(client, guest, _invite(client, owner, team, guest.email))
    r = client.post(f"/v1/team/{team}/invitations", json={"email": "x@y.example"}, headers=guest.auth)
    assert r.status_code == 403
    r = client.post(f"/v1/team/{team}/invitations", json={"email": "x@y.example"}, headers=other.auth)
    assert r.status_code == 404
    r = client.post(f"/v1/team/{team}/invitations", json={"email": "no-at-sign"}, headers=owner.auth)
    assert r.status_code == 422
