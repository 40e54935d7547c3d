"""An OAuth connection belongs to whoever started it, end to end on the emulators.

The attack: Kith user B starts connecting, sends the provider's sign-in link to someone
else, and that person consents. Their browser does not hold the nonce cookie of B's start,
so the callback refuses before the code is exchanged, and nothing is attached. The browser
that started the flow sees a confirmation naming the mailbox and the Kith user; only its
POST attaches, once. Google and Microsoft answer alike.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from fastapi.testclient import TestClient
from pydantic import SecretStr

from ingest.errors import InputError
from ingest.sandbox.google import start_google_emulator
from ingest.sandbox.microsoft import start_microsoft_emulator
from service.dashboard import sessions
from service.providers import google, microsoft, oauth_accounts
from service.providers.web_flow import cookie_name
from service.auth import create_token
from service.store import create_user

from tests.support.oauth import confirmation_form, read_form

ANA = "ana@example.org"  # the Google mailbox of the person B sends the link to
SAM = "sam.rivera@northwind.example"  # the Microsoft emulator's mailbox


class Provider:
    """One emulated provider, and a person consenting at it in their own browser."""

    def __init__(self, name, settings, mailbox, consent, emulator):
        self.name, self.settings, self.mailbox, self._consent, self.emulator = (
            name,
            settings,
            mailbox,
            consent,
            emulator,
        )

    def consent(self, url: str) -> str:
        """The path of Kith's callback the provider sends the consenting browser to."""
        location = self._consent(url)
        assert location.startswith(self.settings.base_url), location
        return location[len(self.settings.base_url) :]


def _google(settings):
    emu = start_google_emulator(accounts=[ANA, "other@example.org"])
    routed = settings.model_copy(
        update={**emu.settings_overrides(), "google_client_secret": SecretStr("kith-emulator-secret")}
    )

    def consent(url):
        # No login_hint: the emulator shows its consent form and the person picks their mailbox.
        page = requests.get(url)
        form = read_form(page.text)
        answer = requests.post(
            emu.url + form.action, data={**form.fields, "user": ANA, "decision": "allow"}, allow_redirects=False
        )
        assert answer.status_code == 302
        return answer.headers["Location"]

    return Provider("google", routed, ANA, consent, emu)


def _microsoft(settings):
    emu = start_microsoft_emulator()
    emu.add_message(sender=("Bo", "bo@example.org"))
    session = requests.Session()
    session.trust_env, session.verify = False, emu.ca_file
    return Provider(
        "microsoft",
        microsoft.with_emulator(settings, emu),
        SAM,
        lambda url: session.get(url, allow_redirects=False).headers["Location"],
        emu,
    )


@pytest.fixture(params=["google", "microsoft"])
def provider(request, settings):
    made = (_google if request.param == "google" else _microsoft)(settings)
    yield made
    made.emulator.stop()


@pytest.fixture
def kith(database, provider):
    """Kith users A and B with API tokens, and the app serving `provider`."""
    from service.api.app import create_app

    with database.tx() as conn:
        users = {}
        for name in ("a", "b"):
            user_id = create_user(conn, f"{name}@kith.example")
            users[name] = (user_id, create_token(conn, user_id))
    yield users, create_app(provider.settings)


def accounts_of(database, address):
    with database.tx() as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT u.email FROM accounts a JOIN users u ON u.id = a.user_id WHERE a.address = %s ORDER BY u.email",
                (address,),
            ).fetchall()
        ]


def start(client, provider, token) -> str:
    answer = client.get(
        f"/v1/connect/{provider.name}", headers={"Authorization": f"Bearer {token}"}, follow_redirects=False
    )
    assert answer.status_code == 302
    return answer.headers["location"]


def test_a_sign_in_link_sent_to_someone_else_attaches_nothing(provider, kith, database):
    users, app = kith
    with TestClient(app) as b_browser, TestClient(app) as victim_browser:
        # Given B started connecting and sent the sign-in link to the mailbox's owner
        url = start(b_browser, provider, users["b"][1])
        # When the owner consents and their browser (without B's cookie) reaches Kith's callback
        callback = provider.consent(url)
        answer = victim_browser.get(callback)
        # Then Kith refuses with a page that says why, and the mailbox is attached to nobody
        assert answer.status_code == 403 and "text/html" in answer.headers["content-type"]
        assert "started in another browser" in answer.text
        assert accounts_of(database, provider.mailbox) == []
        # And the code was never exchanged, so no token of the mailbox exists anywhere
        with database.tx() as conn:
            assert conn.execute("SELECT count(*) FROM credentials").fetchone()[0] == 0
        # And the flow is burnt: B cannot finish it with the stolen code either
        assert b_browser.get(callback).status_code == 400
        assert accounts_of(database, provider.mailbox) == []


def test_the_starting_browser_confirms_the_mailbox_and_only_the_post_attaches(provider, kith, database):
    users, app = kith
    with TestClient(app) as browser, TestClient(app) as stranger:
        # Given B's browser started the flow and B consented at the provider
        url = start(browser, provider, users["b"][1])
        state = parse_qs(urlsplit(url).query)["state"][0]
        assert browser.cookies.get(cookie_name(state))
        callback = provider.consent(url)
        # When the provider sends that browser back
        asked = browser.get(callback)
        # Then a page names the mailbox and the Kith user, and nothing is attached yet
        assert asked.status_code == 200
        assert f"{provider.mailbox}</strong> to the Kith account of <strong>b@kith.example" in asked.text
        assert "<script" not in asked.text and "style=" not in asked.text
        assert accounts_of(database, provider.mailbox) == []
        form = confirmation_form(asked.text)
        # And neither another browser posting the form nor a post without the page's token attaches it
        assert stranger.post(f"/v1/connect/{provider.name}/confirm", data=form).status_code == 403
        assert (
            browser.post(f"/v1/connect/{provider.name}/confirm", data={**form, "confirm": "guessed"}).status_code == 403
        )
        assert accounts_of(database, provider.mailbox) == []
        # When the starting browser confirms
        done = browser.post(f"/v1/connect/{provider.name}/confirm", data=form)
        # Then the mailbox is B's, and the binding cookie is gone
        assert done.status_code == 200 and f"connected to {provider.mailbox}" in done.text
        assert accounts_of(database, provider.mailbox) == ["b@kith.example"]
        assert browser.cookies.get(cookie_name(state)) is None
        # And neither the callback nor the confirmation can be replayed
        assert browser.get(callback).status_code == 400
        assert browser.post(f"/v1/connect/{provider.name}/confirm", data=form).status_code == 400


def test_a_mailbox_of_another_kith_user_needs_an_explicit_confirmation(provider, kith, database):
    users, app = kith
    with TestClient(app) as a_browser, TestClient(app) as b_browser:
        # Given A has the mailbox connected through the same flow
        asked = a_browser.get(provider.consent(start(a_browser, provider, users["a"][1])))
        assert (
            a_browser.post(f"/v1/connect/{provider.name}/confirm", data=confirmation_form(asked.text)).status_code
            == 200
        )
        # When B connects the same mailbox from B's own browser
        asked = b_browser.get(provider.consent(start(b_browser, provider, users["b"][1])))
        # Then the page says it is connected to another Kith account, without saying whose
        assert asked.status_code == 200 and "already connected to another Kith account" in asked.text
        assert "a@kith.example" not in asked.text and read_form(asked.text).checkboxes == ["also"]
        # And a plain confirmation is not enough
        plain = b_browser.post(f"/v1/connect/{provider.name}/confirm", data=confirmation_form(asked.text))
        assert plain.status_code == 409 and accounts_of(database, provider.mailbox) == ["a@kith.example"]
        # When B ticks the explicit confirmation
        done = b_browser.post(f"/v1/connect/{provider.name}/confirm", data=confirmation_form(asked.text, also="yes"))
        # Then both have it
        assert done.status_code == 200
        assert accounts_of(database, provider.mailbox) == ["a@kith.example", "b@kith.example"]


def test_a_cookie_from_another_flow_is_refused(provider, kith, database):
    users, app = kith
    with TestClient(app) as browser, TestClient(app) as b_browser:
        # Given one browser holding the cookie of its own flow, and B's flow's link
        mine = start(browser, provider, users["a"][1])
        theirs = start(b_browser, provider, users["b"][1])
        own_state = parse_qs(urlsplit(mine).query)["state"][0]
        their_state = parse_qs(urlsplit(theirs).query)["state"][0]
        # When that browser presents its own flow's nonce under B's flow's cookie name
        browser.cookies.set(cookie_name(their_state), browser.cookies.get(cookie_name(own_state)), path="/v1/connect")
        answer = browser.get(provider.consent(theirs))
        # Then it is refused, and nothing is attached
        assert answer.status_code == 403
        assert accounts_of(database, provider.mailbox) == []


def test_cancelling_attaches_nothing_and_ends_the_flow(provider, kith, database):
    users, app = kith
    with TestClient(app) as browser:
        asked = browser.get(provider.consent(start(browser, provider, users["b"][1])))
        form = confirmation_form(asked.text)
        cancelled = browser.post(f"/v1/connect/{provider.name}/confirm", data={**form, "decision": "cancel"})
        assert cancelled.status_code == 200 and "Nothing was connected" in cancelled.text
        assert browser.post(f"/v1/connect/{provider.name}/confirm", data=form).status_code == 400
        assert accounts_of(database, provider.mailbox) == []


def test_refusals_answer_json_to_a_client_that_asks_for_it(provider, kith):
    _, app = kith
    with TestClient(app) as client:
        answer = client.get(
            f"/v1/connect/{provider.name}/callback",
            params={"state": "nope", "code": "c"},
            headers={"Accept": "application/json"},
        )
    assert answer.status_code == 400 and answer.json()["error"] == "bad_request"
    assert "unknown" in answer.json()["message"]


def test_in_process_flows_ask_before_sharing_a_mailbox(provider, kith, database):
    """The CLI path: the terminal that started the flow holds its nonce, so it attaches at once
    unless another Kith user has the mailbox; then only a yes at the terminal attaches it."""
    users, _ = kith
    module = google if provider.name == "google" else microsoft
    settings = provider.settings

    def finish(user_id, confirm_shared):
        started = module.start_flow(settings, database, user_id, f"{settings.base_url}/v1/connect/x")
        callback = provider.consent(started.url)
        answer = {k: v[0] for k, v in parse_qs(urlsplit(callback).query).items()}
        return module.complete_flow(settings, database, answer, started.nonce, confirm_shared=confirm_shared)

    asked = []
    assert finish(users["a"][0], asked.append) > 0 and asked == []
    with pytest.raises(InputError, match="already connected to another Kith account"):
        finish(users["b"][0], oauth_accounts.ask_terminal(lambda prompt: "n"))
    assert accounts_of(database, provider.mailbox) == ["a@kith.example"]
    finish(users["b"][0], oauth_accounts.ask_terminal(lambda prompt: "yes"))
    assert accounts_of(database, provider.mailbox) == ["a@kith.example", "b@kith.example"]

    # And a terminal that cannot answer is a no
    def no_terminal(prompt):
        raise EOFError

    assert oauth_accounts.ask_terminal(no_terminal)(provider.mailbox) is False


def test_reconnecting_a_revoked_account_resumes_its_resources(provider, kith, database):
    users, _ = kith
    module = google if provider.name == "google" else microsoft
    account_id = module.connect_headless(provider.settings, database, users["b"][0], login_hint=provider.mailbox)
    with database.tx() as conn:
        conn.execute("UPDATE accounts SET status = 'auth_revoked' WHERE id = %s", (account_id,))
        conn.execute(
            "INSERT INTO sync_state (account_id, resource, state, cursor) VALUES "
            "(%s, 'r-new', 'auth_revoked', NULL), (%s, 'r-old', 'auth_revoked', 'c1')",
            (account_id, account_id),
        )
    assert (
        module.connect_headless(provider.settings, database, users["b"][0], login_hint=provider.mailbox) == account_id
    )
    with database.tx() as conn:
        states = dict(
            conn.execute("SELECT resource, state FROM sync_state WHERE account_id = %s", (account_id,)).fetchall()
        )
        status = conn.execute("SELECT status FROM accounts WHERE id = %s", (account_id,)).fetchone()[0]
    assert status == "initial" and states["r-new"] == "initial" and states["r-old"] == "incremental"


def test_every_start_gives_its_browser_the_flow_cookie(provider, kith, database):
    """The dashboard's Reconnect and POST /v1/accounts/connect start flows too: the browser
    (or same-origin page) that receives their answer holds the nonce, HttpOnly and Lax."""
    users, app = kith
    user_id, token = users["b"]
    with database.tx() as conn:
        account_id = conn.execute(
            "INSERT INTO accounts (user_id, provider, address, status) VALUES "
            "(%s, %s, %s, 'auth_revoked') RETURNING id",
            (user_id, provider.name, provider.mailbox),
        ).fetchone()[0]
    with database.tx() as conn:
        session = sessions.open_session(conn, token)
    with TestClient(app) as browser:
        browser.cookies.set("kith_session", session.id)
        again = browser.post(
            f"/accounts/{account_id}/reconnect",
            data={"csrf": session.csrf},
            headers={"origin": "http://testserver"},
            follow_redirects=False,
        )
        api = browser.post(
            "/v1/accounts/connect", json={"provider": provider.name}, headers={"Authorization": f"Bearer {token}"}
        )
    for response, url in ((again, again.headers.get("location", "")), (api, api.json().get("authorize_url", ""))):
        state = parse_qs(urlsplit(url).query)["state"][0]
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(f"{cookie_name(state)}=") and "HttpOnly" in cookie
        assert "SameSite=lax" in cookie and "Path=/v1/connect" in cookie and "Max-Age=900" in cookie
