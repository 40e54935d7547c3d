"""service.providers.REGISTRY is the only list of providers: a provider registered there and
nowhere else gets the connect routes, the OAuth callback and confirmation, a sync of its
accounts (one and all), a name in the digest, and its account addresses count as the user's.
Account state changes go through service.account_state, the sync engine's state machine."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from ingest.errors import InputError
from ingest.memory import MemoryConnector
from ingest.records import Interaction, Participant
from service import context, providers
from service.account_state import CONNECT, DISCONNECT, transition
from service.auth import create_token
from service.digest.content import Account
from service.jobs.actors import Jobs
from service.providers import oauth_accounts, oauth_states
from service.store import create_user
from service.sync import sync_account

from tests.support.oauth import confirmation_form

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)
MAILBOX = "me@fakemail.example"


def _fake_impl():
    """A whole provider in a few lines: its flow consents to the code "good"."""

    def start_flow(settings, db, user_id, redirect_uri, login_hint=None):
        state = oauth_states.new_state()
        nonce = oauth_states.save(settings, db, "fakemail", state, user_id, {"redirect_uri": redirect_uri})
        return oauth_states.Started(f"https://auth.fakemail.example/?state={state}", state, nonce)

    def exchange(settings, saved, answer):
        if answer.get("code") != "good":
            raise InputError("Fake Mail refused the sign-in")
        return oauth_accounts.exchanged("fakemail", MAILBOX, ["mail.read"], {"token": "t"})

    def build_connector(settings, db, account_id, **options):
        items = [
            Interaction(
                provider_id=f"f{n}",
                kind="email",
                occurred_at=T0 + timedelta(hours=n),
                participants=(Participant("ana@example.org", "from", "Ana"), Participant(MAILBOX, "to")),
                message_id=f"f{n}@x",
            )
            for n in range(3)
        ]
        return MemoryConnector(items, resource="mail")

    return SimpleNamespace(
        SCOPES=("mail.read",), start_flow=start_flow, exchange=exchange, build_connector=build_connector
    )


@pytest.fixture
def fakemail(monkeypatch):
    provider = providers.Provider("fakemail", "Fake Mail", _fake_impl())
    monkeypatch.setitem(providers.REGISTRY, "fakemail", provider)
    return provider


@pytest.fixture
def kith(settings, database):
    with database.tx() as conn:
        user_id = create_user(conn, "b@kith.example")
        token = create_token(conn, user_id)
    return user_id, {"Authorization": f"Bearer {token}"}


def test_a_registered_provider_is_connected_synced_and_named_without_other_edits(fakemail, kith, settings, database):
    from service.api.app import create_app

    user_id, bearer = kith
    with TestClient(create_app(settings)) as browser:
        # Given the app knows Fake Mail only through the registry
        # When this browser starts connecting, comes back from the provider and confirms
        start = browser.get("/v1/connect/fakemail", headers=bearer, follow_redirects=False)
        assert start.status_code == 302 and start.headers["location"].startswith("https://auth.fakemail.example/")
        state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
        asked = browser.get("/v1/connect/fakemail/callback", params={"state": state, "code": "good"})
        assert asked.status_code == 200 and f"<strong>{MAILBOX}</strong>" in asked.text
        assert "action='/v1/connect/fakemail/confirm'" in asked.text
        done = browser.post(
            "/v1/connect/fakemail/confirm", data=confirmation_form(asked.text), headers={"Accept": "application/json"}
        )
        # Then the account is attached, and the accounts API starts its flows too
        assert done.status_code == 200 and done.json()["provider"] == "fakemail"
        account_id = done.json()["account_id"]
        again = browser.post("/v1/accounts/connect", json={"provider": "fakemail"}, headers=bearer)
        assert again.status_code == 200 and again.json()["authorize_url"].startswith("https://auth.fakemail.example/")
    # And its address is one of the user's own (store.ensure_account asks the registry)
    with database.tx() as conn:
        own = {r[0] for r in conn.execute("SELECT address FROM user_addresses WHERE user_id = %s", (user_id,))}
    assert MAILBOX in own
    # And one account syncs through the provider's connector
    reports = sync_account(settings, database, account_id)
    assert [r.written for r in reports] == [3]
    # And the round over all accounts queues it
    context.install(settings, database)
    sent: list[int] = []
    Jobs._sync_all(SimpleNamespace(sync_account=SimpleNamespace(send=sent.append)))
    assert sent == [account_id]
    # And the digest names it
    assert Account("fakemail", MAILBOX).label == f"Fake Mail ({MAILBOX})"


def test_a_registered_providers_first_sync_is_covered_and_shown_as_synced(monkeypatch, kith, database):
    """Given a provider known only to the registry, whose mail is its "inbox" resource, with
    no quota of its own, when its account's first sync is under way, then the scores are
    provisional from where its inbox is whole, the time left comes from the rate observed,
    and the dashboard calls the account synced, not imported from a file."""
    from service import coverage
    from service.dashboard.words import account_health

    provider = providers.Provider("fakemail", "Fake Mail", _fake_impl(), mail_resources=("inbox",))
    monkeypatch.setitem(providers.REGISTRY, "fakemail", provider)
    user_id, _ = kith
    now = T0 + timedelta(days=1)
    with database.tx() as conn:
        account_id = conn.execute(
            "INSERT INTO accounts (user_id, provider, address, status) VALUES (%s, 'fakemail', %s, 'initial')"
            " RETURNING id",
            (user_id, MAILBOX),
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO sync_state (account_id, resource, cursor, state, items_seen, items_total, covered_since,"
            " backfill_started_at) VALUES (%s, 'inbox', 'c', 'initial', 600, 3600, %s, %s)",
            (account_id, T0 - timedelta(days=200), now - timedelta(minutes=1)),
        )
        live = coverage.live(conn, user_id, now)
    assert live.provisional and live.since == T0 - timedelta(days=200)
    assert live.seconds_left == pytest.approx(300.0)  # 3,000 left at the 10 a second seen
    # And a provider that names no mail resource (calendars only, say) is not waited for
    monkeypatch.setitem(providers.REGISTRY, "fakecal", providers.Provider("fakecal", "Fake Calendar", _fake_impl()))
    with database.tx() as conn:
        other = create_user(conn, "c@kith.example")
        conn.execute(
            "INSERT INTO accounts (user_id, provider, address, status) VALUES (%s, 'fakecal', 'c@x.example', 'initial')",
            (other,),
        )
        assert not coverage.live(conn, other, now).provisional
    words, _ = account_health({"provider": "fakemail", "status": "initial", "last_synced_at": None}, now)
    assert "file" not in words.lower()
    assert "file" in account_health({"provider": "mbox", "status": "incremental", "last_synced_at": now}, now)[0]


def test_a_provider_that_is_not_registered_is_not_found(kith, settings):
    """Given no provider "nope", when any connect route or the accounts API is asked for it,
    then the routes answer 404 and the accounts API refuses the body (422)."""
    from service.api.app import create_app

    _, bearer = kith
    with TestClient(create_app(settings)) as client:
        assert client.get("/v1/connect/nope", headers=bearer, follow_redirects=False).status_code == 404
        assert client.get("/v1/connect/nope/callback", params={"state": "s"}).status_code == 404
        assert client.post("/v1/connect/nope/confirm", data={"state": "s"}).status_code == 404
        refused = client.post("/v1/accounts/connect", json={"provider": "nope"}, headers=bearer)
        assert refused.status_code == 422 and "google or microsoft" in refused.text
    with pytest.raises(providers.UnknownProvider, match="use google or microsoft"):
        providers.get("mbox")


def _account(database, user_id: int) -> int:
    with database.tx() as conn:
        account_id = conn.execute(
            "INSERT INTO accounts (user_id, provider, address, status) VALUES "
            "(%s, 'google', 'me@gmail.example', 'incremental') RETURNING id",
            (user_id,),
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO sync_state (account_id, resource, cursor, state) VALUES "
            "(%s, 'gmail', '42', 'incremental'), (%s, 'calendar:primary', NULL, 'initial')",
            (account_id, account_id),
        )
    return account_id


def _states(database, account_id: int):
    with database.tx() as conn:
        account = conn.execute("SELECT status, last_error FROM accounts WHERE id = %s", (account_id,)).fetchone()
        resources = dict(
            conn.execute("SELECT resource, state FROM sync_state WHERE account_id = %s", (account_id,)).fetchall()
        )
    return account, resources


def test_account_states_follow_the_sync_state_machine(kith, database):
    """Given a synced account, when it is revoked, reconnected, disconnected, synced while
    disconnected and connected again, then every step is the one ingest.sync draws."""
    account_id = _account(database, kith[0])
    with database.tx() as conn:
        assert transition(conn, account_id, "auth_revoked", error="invalid_grant") == "auth_revoked"
    assert _states(database, account_id) == (
        ("auth_revoked", "invalid_grant"),
        {"gmail": "incremental", "calendar:primary": "initial"},
    )
    with database.tx() as conn:
        assert transition(conn, account_id, *CONNECT, error=None) == "initial"
        assert transition(conn, account_id, *DISCONNECT) == "disabled"
    assert _states(database, account_id) == (("disabled", None), {"gmail": "disabled", "calendar:primary": "disabled"})
    # A sync that finishes after the disconnect does not bring the account back
    with database.tx() as conn:
        assert transition(conn, account_id, "complete", error=None) == "disabled"
        assert transition(conn, account_id, *CONNECT, error=None) == "initial"
    # A resource with a cursor resumes from it; one without starts over
    assert _states(database, account_id) == (("initial", None), {"gmail": "incremental", "calendar:primary": "initial"})
    with database.tx() as conn:
        assert transition(conn, account_id, "complete", error=None) == "incremental"
        # Connecting a live account again changes nothing
        assert transition(conn, account_id, *CONNECT, error=None) == "incremental"
