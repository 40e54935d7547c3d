"""Connecting Google: the OAuth flow (state + PKCE) from the API, the CLI and headless,
refusing missing, forged and replayed states, storing only encrypted tokens."""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from fastapi.testclient import TestClient
from pydantic import SecretStr

from ingest.errors import InputError
from ingest.sandbox.google import start_google_emulator
from service.providers import google
from service.auth import create_token
from service.providers.credentials import load_credentials
from service.store import create_user

from tests.support.oauth import confirmation_form, google_settings

EMAIL = "you@kith.example"


@pytest.fixture
def emu():
    emulator = start_google_emulator(accounts=[EMAIL])
    emulator.add_message(headers=[("From", "ana@example.org"), ("To", EMAIL)])
    yield emulator
    emulator.stop()


@pytest.fixture
def gsettings(settings, emu):
    return google_settings(settings, emu)


@pytest.fixture
def user_id(database):
    with database.tx() as conn:
        return create_user(conn, EMAIL)


def redirect_of(url: str) -> dict:
    answer = requests.get(url, allow_redirects=False)
    assert answer.status_code == 302
    return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}


def test_start_flow_sends_state_and_pkce_and_keeps_the_verifier_encrypted(gsettings, database, user_id):
    started = google.start_flow(gsettings, database, user_id, "http://127.0.0.1:9/cb")
    url = started.url
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert url.startswith(gsettings.google_auth_uri)
    assert query["code_challenge_method"] == "S256" and query["access_type"] == "offline"
    assert "gmail.metadata" in query["scope"] and "calendar.events.readonly" in query["scope"]
    with database.tx() as conn:
        state, payload, nonce_hash = conn.execute("SELECT state, payload, nonce_hash FROM oauth_states").fetchone()
    assert state == query["state"] and b"code_verifier" not in bytes(payload)
    # And only a hash of the starter's nonce is kept
    assert started.nonce and started.nonce.encode() not in bytes(nonce_hash) and len(bytes(nonce_hash)) == 32


def test_callback_stores_the_account_scopes_and_an_encrypted_refresh_token(gsettings, database, user_id):
    started = google.start_flow(gsettings, database, user_id, "http://127.0.0.1:9/cb", login_hint=EMAIL)
    account_id = google.complete_flow(gsettings, database, redirect_of(started.url), started.nonce)
    with database.tx() as conn:
        address, scopes, status = conn.execute(
            "SELECT address, scopes, status FROM accounts WHERE id = %s", (account_id,)
        ).fetchone()
        (blob,) = conn.execute("SELECT ciphertext FROM credentials WHERE account_id = %s", (account_id,)).fetchone()
        payload = load_credentials(conn, gsettings, account_id)
    assert address == EMAIL and status == "initial"
    assert "https://www.googleapis.com/auth/gmail.metadata" in scopes
    assert payload["refresh_token"] and payload["refresh_token"].encode() not in bytes(blob)


def test_missing_forged_and_replayed_states_are_refused(gsettings, database, user_id):
    started = google.start_flow(gsettings, database, user_id, "http://127.0.0.1:9/cb", login_hint=EMAIL)
    answer = redirect_of(started.url)
    with pytest.raises(InputError, match="no state"):
        google.complete_flow(gsettings, database, {"code": answer["code"]}, started.nonce)
    with pytest.raises(InputError, match="unknown, expired or already used"):
        google.complete_flow(gsettings, database, dict(answer, state="forged-" + answer["state"]), started.nonce)
    google.complete_flow(gsettings, database, answer, started.nonce)
    with pytest.raises(InputError, match="already used"):
        google.complete_flow(gsettings, database, answer, started.nonce)


def test_an_error_from_google_is_refused_and_burns_the_state(gsettings, database, user_id):
    started = google.start_flow(gsettings, database, user_id, "http://127.0.0.1:9/cb")
    state = parse_qs(urlsplit(started.url).query)["state"][0]
    with pytest.raises(InputError, match="access_denied"):
        google.complete_flow(gsettings, database, {"state": state, "error": "access_denied"}, started.nonce)
    with pytest.raises(InputError, match="already used"):
        google.complete_flow(gsettings, database, {"state": state, "code": "4/any"}, started.nonce)


def test_api_connect_redirects_and_the_callback_answers_with_a_clear_page(gsettings, database, user_id):
    from service.api.app import create_app

    with database.tx() as conn:
        token = create_token(conn, user_id)
    with TestClient(create_app(gsettings)) as client:
        _connect_through_the_api(client, gsettings, token)


def _connect_through_the_api(client, gsettings, token):
    assert client.get("/v1/connect/google", follow_redirects=False).status_code == 401
    start = client.get(
        "/v1/connect/google",
        params={"login_hint": EMAIL},
        follow_redirects=False,
        headers={"Authorization": f"Bearer {token}"},
    )
    assert start.status_code == 302 and start.headers["location"].startswith(gsettings.google_auth_uri)
    back = requests.get(start.headers["location"], allow_redirects=False).headers["Location"]
    assert back.startswith(f"{gsettings.base_url}/v1/connect/google/callback")
    path = back[len(gsettings.base_url) :]
    asked = client.get(path)
    assert asked.status_code == 200 and EMAIL in asked.text
    done = client.post("/v1/connect/google/confirm", data=confirmation_form(asked.text))
    assert done.status_code == 200 and EMAIL in done.text and "connected" in done.text
    replay = client.get(path)
    assert replay.status_code == 400 and "already used" in replay.text
    assert client.get("/v1/connect/google/callback?code=x").status_code == 400


def test_headless_connect_drives_the_real_flow(gsettings, database, user_id):
    account_id = google.connect_headless(gsettings, database, user_id)
    with database.tx() as conn:
        assert conn.execute("SELECT address FROM accounts WHERE id = %s", (account_id,)).fetchone()[0] == EMAIL


def test_cli_connect_without_browser_prints_the_url_and_waits_for_the_loopback(gsettings, database, user_id):
    printed, result = [], {}
    worker = threading.Thread(
        target=lambda: result.update(
            account=google.connect_cli(gsettings, database, EMAIL, no_browser=True, timeout=30, say=printed.append)
        )
    )
    worker.start()
    for _ in range(100):
        if printed:
            break
        worker.join(0.05)
    url = printed[0].splitlines()[-1]
    # A script plays the person: it consents (login_hint) and the browser follows the redirect.
    assert requests.get(url + f"&login_hint={EMAIL}").status_code == 200
    worker.join(30)
    assert result["account"] > 0
    assert printed[-1] == f"Connecting the mailbox {EMAIL} to the Kith account of {EMAIL}."


def test_the_address_comes_from_the_id_token_when_get_profile_fails(gsettings, database, user_id, emu):
    started = google.start_flow(gsettings, database, user_id, "http://127.0.0.1:9/cb", login_hint=EMAIL)
    answer = redirect_of(started.url)
    emu.faults.server_errors = 1  # the getProfile call after the exchange gets a 503
    account_id = google.complete_flow(gsettings, database, answer, started.nonce)
    with database.tx() as conn:
        assert conn.execute("SELECT address FROM accounts WHERE id = %s", (account_id,)).fetchone()[0] == EMAIL
    assert emu.faults.server_errors == 0


def test_the_demo_path_connects_the_world_and_syncs_it(settings, database):
    """Given the demo's synthetic world, connect_demo runs the real OAuth flow and
    service.sync.sync_account then stores the world's Gmail and primary calendar."""
    from ingest.sandbox.world import generate_world
    from service.sync import sync_account

    world = generate_world(3, days=60, contacts=8)
    with database.tx() as conn:
        user_id = create_user(conn, world.user_email)
    emulator, demo_settings, account_id = google.connect_demo(settings, database, user_id, world)
    try:
        reports = sync_account(demo_settings, database, account_id)
    finally:
        emulator.stop()
    assert {r.resource for r in reports} == {"gmail", "calendar:primary"}
    with database.tx() as conn:
        (count,) = conn.execute(
            "SELECT count(*) FROM interactions WHERE account_id = %s AND resource = 'gmail'", (account_id,)
        ).fetchone()
    assert count == len(world.messages_for("google"))
