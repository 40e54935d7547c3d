"""Connecting Microsoft 365 with msal against the emulator's identity platform: PKCE code
flow (web callback, loopback CLI, headless), the encrypted token cache, silent refresh with
refresh-token rotation, and revocation or an unreadable cache ending as `auth_revoked`."""

from __future__ import annotations

import threading
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from fastapi.testclient import TestClient
from pydantic import SecretStr

from ingest.errors import AuthRevoked
from ingest.sandbox.microsoft import start_microsoft_emulator
from service.providers import microsoft
from service.providers.web_flow import cookie_name
from service.auth import create_token
from service.store import create_user
from service.sync import sync_account

from tests.support.oauth import confirmation_form


@pytest.fixture
def emulator():
    emulator = start_microsoft_emulator()
    for n in range(25):
        emulator.add_message(sender=(f"P{n}", f"p{n}@example.org"))
    emulator.add_message(
        folder="sentitems", sender=("Sam Rivera", "sam.rivera@northwind.example"), to=[("Bo", "bo@example.org")]
    )
    yield emulator
    emulator.stop()


@pytest.fixture
def ms_settings(settings, emulator):
    return microsoft.with_emulator(settings, emulator)


@pytest.fixture
def user_id(database):
    with database.tx() as conn:
        return create_user(conn, "sam@kith.example", name="Sam")


def stored(database, account_id):
    with database.tx() as conn:
        return conn.execute(
            "SELECT a.status, a.address, a.last_error, c.ciphertext, a.scopes FROM accounts a "
            "LEFT JOIN credentials c ON c.account_id = a.id WHERE a.id = %s",
            (account_id,),
        ).fetchone()


def count(database, account_id):
    with database.tx() as conn:
        return conn.execute("SELECT count(*) FROM interactions WHERE account_id = %s", (account_id,)).fetchone()[0]


def test_headless_connect_keeps_an_encrypted_token_cache_and_syncs(ms_settings, database, user_id, emulator):
    # When the demo connects without a browser (the emulator consents by itself)
    account_id = microsoft.connect_headless(ms_settings, database, user_id)
    status, address, _, ciphertext, scopes = stored(database, account_id)
    # Then the account is the signed-in mailbox, its msal cache is stored encrypted
    assert address == "sam.rivera@northwind.example" and status == "initial"
    assert set(scopes) >= {"Mail.ReadBasic", "Calendars.ReadBasic", "User.Read"}
    tokens = list(emulator.identity.refresh) + list(emulator.identity.access)
    assert tokens and not any(t.encode() in bytes(ciphertext) for t in tokens)
    # And a sync through the service fills the mailbox in
    sync_account(ms_settings, database, account_id)
    assert count(database, account_id) == 26
    assert stored(database, account_id)[0] == "incremental"


def test_web_flow_uses_pkce_and_its_state_is_single_use(ms_settings, database, user_id, emulator):
    import redis

    from service.api.app import create_app

    with database.tx() as conn:
        token = create_token(conn, user_id)
    with TestClient(create_app(ms_settings)) as client:
        # Given a signed-in Kith user starting the connection
        assert client.get("/v1/connect/microsoft", follow_redirects=False).status_code == 401
        start = client.get(
            "/v1/connect/microsoft", headers={"Authorization": f"Bearer {token}"}, follow_redirects=False
        )
        assert start.status_code == 302 and start.cookies.get(
            cookie_name(parse_qs(urlparse(start.headers["location"]).query)["state"][0])
        )
        query = parse_qs(urlparse(start.headers["location"]).query)
        # Then Microsoft is asked for the basic scopes only, with a PKCE challenge
        assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
        assert set(query["scope"][0].split()) == {
            "Mail.ReadBasic",
            "Calendars.ReadBasic",
            "User.Read",
            "openid",
            "profile",
            "offline_access",
        }
        # When Microsoft redirects back with a code
        session = requests.Session()
        session.trust_env, session.verify = False, emulator.ca_file
        back = urlparse(session.get(start.headers["location"], allow_redirects=False).headers["Location"])
        assert back.path == "/v1/connect/microsoft/callback"
        asked = client.get(f"{back.path}?{back.query}")
        # Then the page asks to confirm the mailbox for this Kith user, and nothing is attached yet
        assert asked.status_code == 200 and "sam.rivera@northwind.example" in asked.text
        assert (
            "sam@kith.example" in asked.text
            and redis.Redis.from_url(ms_settings.redis_url).llen("dramatiq:interactive") == 0
        )
        done = client.post(
            "/v1/connect/microsoft/confirm", data=confirmation_form(asked.text), headers={"Accept": "application/json"}
        )
        # Then the account is connected and its first sync is queued
        assert done.status_code == 200, done.text
        assert done.json()["address"] == "sam.rivera@northwind.example" and done.json()["sync_queued"]
        assert redis.Redis.from_url(ms_settings.redis_url).llen("dramatiq:interactive") == 1
        # And the same redirect cannot be replayed
        assert client.get(f"{back.path}?{back.query}").status_code == 400
        assert client.post("/v1/connect/microsoft/confirm", data=confirmation_form(asked.text)).status_code == 400


def test_cli_connect_through_a_loopback_redirect(ms_settings, database, user_id, emulator):
    session = requests.Session()
    session.trust_env, session.verify = False, emulator.ca_file

    said = []

    def browser(text):  # plays the person who opens the printed URL
        said.append(text)
        if text.startswith("Open this URL"):
            url = text.split("\n")[-1]
            threading.Thread(target=session.get, args=(url,), daemon=True).start()

    account_id = microsoft.connect_cli(
        ms_settings, database, "sam@kith.example", no_browser=True, say=browser, timeout=20
    )
    assert stored(database, account_id)[1] == "sam.rivera@northwind.example"
    # And the terminal was told which mailbox went to which Kith user
    assert said[-1] == "Connecting the mailbox sam.rivera@northwind.example to the Kith account of sam@kith.example."


def test_silent_refresh_before_expiry_rotates_and_saves_the_refresh_token(ms_settings, database, user_id, emulator):
    # Given access tokens that live two minutes (msal refreshes those due within five)
    emulator.identity.access_lifetime = 120
    account_id = microsoft.connect_headless(ms_settings, database, user_id)
    before = bytes(stored(database, account_id)[3])
    old_refresh = set(emulator.identity.refresh)
    # When the connector asks for a token
    connector = microsoft.build_connector(ms_settings, database, account_id)
    connector.client.token()
    # Then msal refreshed silently, the refresh token rotated, and the new cache was saved
    assert set(emulator.identity.refresh).isdisjoint(old_refresh) and len(emulator.identity.refresh) == 1
    assert bytes(stored(database, account_id)[3]) != before
    connector.close()
    # And a later process, loading the saved cache, still syncs (the rotated token works)
    sync_account(ms_settings, database, account_id)
    assert count(database, account_id) == 26


def test_an_access_token_refused_by_graph_is_refreshed_once(ms_settings, database, user_id, emulator):
    account_id = microsoft.connect_headless(ms_settings, database, user_id)
    # Given Graph no longer accepts the cached access token (msal still thinks it is fresh)
    emulator.identity.expire_access_tokens()
    sync_account(ms_settings, database, account_id)
    assert count(database, account_id) == 26
    assert sum(1 for _, _, status in emulator.log if status == 401) == 1


def test_revoked_consent_marks_the_account_auth_revoked(ms_settings, database, user_id, emulator):
    account_id = microsoft.connect_headless(ms_settings, database, user_id)
    # Given the user revoked Kith's access at Microsoft
    emulator.revoke()
    # When a sync runs
    with pytest.raises(AuthRevoked):
        sync_account(ms_settings, database, account_id)
    # Then the account says so, with a reason, and later syncs do not hammer Microsoft
    status, _, error, _, _ = stored(database, account_id)
    assert status == "auth_revoked" and "invalid_grant" in error
    assert sync_account(ms_settings, database, account_id) == []
    # And connecting again brings it back
    assert microsoft.connect_headless(ms_settings, database, user_id) == account_id
    assert stored(database, account_id)[0] == "initial"
    sync_account(ms_settings, database, account_id)
    assert count(database, account_id) == 26


def test_a_token_cache_that_will_not_decrypt_is_auth_revoked_with_a_clear_reason(ms_settings, database, user_id):
    account_id = microsoft.connect_headless(ms_settings, database, user_id)
    # Given KITH_SECRET_KEY changed without rotating the stored credentials
    other = ms_settings.model_copy(update={"secret_key": SecretStr("another-key")})
    with pytest.raises(AuthRevoked, match="cannot be decrypted"):
        sync_account(other, database, account_id)
    status, _, error, _, _ = stored(database, account_id)
    assert status == "auth_revoked" and "KITH_SECRET_KEY" in error


def test_the_demo_account_is_connected_on_a_seeded_emulator_and_syncs(settings, database, user_id):
    from ingest.sandbox.world import generate_world

    world = generate_world(7, days=60, contacts=8)
    emulator, routed, account_id = microsoft.connect_demo(settings, database, user_id, world)
    try:
        sync_account(routed, database, account_id)
        expected = len(emulator.message_ids())
    finally:
        emulator.stop()
    assert expected > 0 and count(database, account_id) >= expected
    assert stored(database, account_id)[0:2] == ("incremental", world.work_email)


def test_without_a_client_id_connecting_says_what_to_set(settings, database, user_id):
    from ingest.errors import ConfigError

    with pytest.raises(ConfigError, match="KITH_MS_CLIENT_ID"):
        microsoft.start_flow(settings, database, user_id, "http://localhost:1/")
