"""The team page and the OAuth confirmation page on a phone, in headless Chromium (Debian's,
driven by Playwright, emulating a 375 px wide touch screen that honours the viewport tag):
the search box finds who knows an address and an organisation, an introduction asked of
you is accepted into a draft to send yourself, nothing scrolls sideways, and axe-core
(vendored, no network) finds no serious or critical violation. A fresh user connects Google
through the emulator's consent page and lands on Kith's confirmation. Screenshots go to
tests/artifacts/team-{search,draft}-375.png and oauth-confirm-375.png.
"""

from __future__ import annotations

import shutil

import pytest
from pydantic import SecretStr

from ingest.sandbox.google import start_google_emulator
from service.api.app import create_app
from service.teams import introductions, membership
from tests.browser.test_dashboard_a11y import _serious, _sign_in
from tests.support.api import free_port, serve
from tests.support.browser import ARGS, ARTIFACTS, CHROMIUM, MARKS
from tests.support.team import mate

PHONE = {"viewport": {"width": 375, "height": 740}, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}
MAILBOX = "ana.phone@example.org"

pytestmark = MARKS


@pytest.fixture
def google():
    emu = start_google_emulator(accounts=[MAILBOX])
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture
def site(settings, google):
    # The provider sends the browser back to KITH_BASE_URL: the site is served where it says.
    port = free_port()
    routed = settings.model_copy(
        update={
            **google.settings_overrides(),
            "google_client_secret": SecretStr("kith-emulator-secret"),
            "base_url": f"http://127.0.0.1:{port}",
        }
    )
    app = create_app(routed)
    with serve(app, port) as base_url:
        yield app, base_url


def _phone(browser):
    # axe is injected as a script of the test's own: only this context lifts the CSP for it.
    return browser.new_context(bypass_csp=True, **PHONE)


def _fits(page, what: str) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"{what} scrolls sideways by {overflow}px at 375px"


def _crew(db):
    ana = mate(db, "ana@home.example", "Ana Ruiz", [("lee@acme.example", 65, "2026-10-02T10:00:00Z", True)])
    bo = mate(
        db,
        "bo@home.example",
        "Bo Chen",
        [
            ("lee@acme.example", 98, "2026-11-20T10:00:00Z", True),
            ("kim.longname-of-the-contact@acme.example", 70, "2026-09-14T10:00:00Z", True),
        ],
    )
    dee = mate(db, "dee@home.example", "Dee Park", [("lee@acme.example", 95, "2026-11-20T10:00:00Z", True)])
    with db.tx() as conn:
        team = membership.create_team(conn, ana.user_id, "Sales <Team>")
        for m in (bo, dee):
            membership.join(conn, team, m.user_id)
        for m in (ana, bo):
            membership.set_sharing(conn, team, m.user_id, True)
        introductions.ask(conn, team, ana.user_id, bo.user_id, "lee@acme.example", "Keen on the <b>pilot</b>")
    return ana, bo, dee


def test_the_team_page_on_a_phone(browser, site):
    """Given Ana (lee medium) and Bo (lee strong) sharing in a team, Dee a member who does not
    share, and Ana's request to Bo; when Bo, on a phone, searches the box for an address and
    for acme.example and accepts the request, then each page fits 375 px, axe finds nothing
    serious, the answers carry band and month only (Dee never appears), the note is text."""
    app, base = site
    _ana, bo, _dee = _crew(app.state.db)
    ARTIFACTS.mkdir(exist_ok=True)
    context = _phone(browser)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _sign_in(page, base, bo.token)
    page.goto(base + "/team")
    _fits(page, "the team page")
    assert _serious(page) == [], "team page"
    # When Bo types an address into the search box
    page.fill("#team-q", "LEE@acme.example")
    page.click("form.team-search button[type=submit]")
    page.wait_for_url("**/team?q=*")
    found = page.locator("section.team-result li")
    assert found.all_inner_texts() == [
        "Bo Chen · strong · last two-way contact 2026-11",
        "Ana Ruiz · medium · last two-way contact 2026-10",
    ]
    # And an organisation's domain
    page.fill("#team-q", "acme.example")
    page.click("form.team-search button[type=submit]")
    page.wait_for_url("**/team?q=acme.example")
    rows = page.locator("section.team-result tbody tr")
    assert rows.count() == 2
    assert rows.nth(0).locator("td").all_inner_texts() == ["lee@acme.example", "Bo Chen", "strong", "2026-11"]
    assert "Dee Park" not in page.content()
    asked = page.locator("#asked li")
    assert "Ana Ruiz (Sales <Team>) asks to meet lee@acme.example" in asked.inner_text()
    assert "Keen on the <b>pilot</b>" in asked.inner_text() and page.locator("#asked b").count() == 0
    page.screenshot(path=str(ARTIFACTS / "team-search-375.png"), full_page=True)
    _fits(page, "the team page with results")
    assert _serious(page) == [], "team page with results"
    # When he accepts, the draft is his to send, and fits the phone too
    page.click("#asked button[value=accept]")
    page.wait_for_selector("#draft")
    assert "Kith sends nothing" in page.locator("#draft").inner_text()
    assert page.locator("#draft a[href^='mailto:lee@acme.example']").count() == 1
    page.screenshot(path=str(ARTIFACTS / "team-draft-375.png"), full_page=True)
    _fits(page, "the draft")
    assert _serious(page) == [], "draft"
    assert dialogs == []
    context.close()


def test_the_oauth_confirmation_page_on_a_phone(browser, site):
    """Given a fresh user on a phone, when they press Connect Google and consent at the
    emulator, then Kith's confirmation page names the mailbox and the Kith account, fits
    375 px at the phone's own scale (its viewport tag is honoured), and axe finds nothing
    serious; Connect then attaches the mailbox."""
    app, base = site
    fresh = mate(app.state.db, "fresh@home.example", "Fresh Person")
    context = _phone(browser)
    page = context.new_page()
    _sign_in(page, base, fresh.token)
    page.click("button.connect-google")
    page.wait_for_selector("select[name=user]")  # the emulator's consent page
    page.select_option("select[name=user]", MAILBOX)
    page.click("button[value=allow]")
    page.wait_for_url(base + "/v1/connect/google/callback*")
    assert page.locator("h1").inner_text() == "Connect Google mailbox?"
    text = page.locator("main").inner_text()
    assert f"Connect the Google mailbox {MAILBOX} to the Kith account of fresh@home.example?" in text
    page.screenshot(path=str(ARTIFACTS / "oauth-confirm-375.png"), full_page=True)
    # The page is laid out for the phone's width, not a desktop page shrunk to fit
    assert page.evaluate("window.innerWidth") == 375
    _fits(page, "the confirmation page")
    assert _serious(page) == [], "confirmation page"
    page.click("button[value=connect]")
    page.wait_for_selector("h1")
    assert page.locator("h1").inner_text() == "Google mailbox connected"
    with app.state.db.tx() as conn:
        row = conn.execute("SELECT count(*) FROM accounts WHERE user_id = %s", (fresh.user_id,)).fetchone()
    assert row[0] == 1
    context.close()
