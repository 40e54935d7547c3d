"""The dashboard in a real headless Chromium (Debian's `chromium`, driven by Playwright).

Pages load, sign-in works and refuses a wrong token, the strength/balance chart (Chart.js,
served from this site) draws a dot per tie, the tier filter hides dots, a click on a tie opens its history, and
the reconnect button of a revoked account starts the provider's sign-in; the pages break no
rule of their Content-Security-Policy, and a page on another origin can neither post a form
nor frame the dashboard. Screenshots go to tests/artifacts/.
"""

from __future__ import annotations

import shutil
import threading
from contextlib import contextmanager
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from service.api.app import create_app
from service.digest import links

from tests.support.api import seed_many, seed_user, serve

from tests.support.browser import ARGS, ARTIFACTS, CHROMIUM, MARKS

GOOGLE_AUTH = "http://127.0.0.1:9/o/oauth2/auth"  # never reached: the test intercepts it

pytestmark = MARKS


@pytest.fixture
def site(settings):
    app = create_app(
        settings.model_copy(
            update={
                "google_client_id": "kith-test-client",
                "google_auth_uri": GOOGLE_AUTH,
                "google_token_uri": "http://127.0.0.1:9/token",
            }
        )
    )
    with serve(app) as base_url:
        yield app, base_url


def chart_points(page, visible_only: bool = False) -> int:
    """How many dots Chart.js drew on the strength/balance chart (all, or of shown tiers)."""
    return page.evaluate(
        """(visibleOnly) => { const c = Chart.getChart(document.getElementById('scatter'));
        return c.data.datasets.reduce((n, d, i) => n + (!visibleOnly || c.isDatasetVisible(i) ? d.data.length : 0), 0); }""",
        visible_only,
    )


def history_total(page) -> int:
    return page.evaluate(
        """() => Chart.getChart(document.getElementById('history-chart')).data.datasets
        .reduce((n, d) => n + d.data.reduce((a, b) => a + b, 0), 0)"""
    )


def click_strongest_dot(page) -> None:
    """Click where Chart.js drew the strongest tie's dot."""
    x, y = page.evaluate(
        """() => { const canvas = document.getElementById('scatter'); canvas.scrollIntoView({block: 'center'});
        const c = Chart.getChart(canvas);
        let best = null;
        c.data.datasets.forEach((d, i) => c.getDatasetMeta(i).data.forEach((el, j) => {
          if (!best || d.data[j].y > best.y) { best = {y: d.data[j].y, px: el.x, py: el.y}; } }));
        const r = canvas.getBoundingClientRect(); return [r.left + best.px, r.top + best.py]; }"""
    )
    page.mouse.click(x, y)


def test_sign_in_chart_timeline_and_reconnect(browser, site):
    """Given a user with six ties and a Google account whose access was revoked, when they
    sign in, then the chart has six dots, ties to deepen are listed, a click opens the tie's
    timeline with its bars, and Reconnect sends them to Google's sign-in for that address."""
    app, base = site
    ana = seed_user(app.state.db, "ana@north.example")
    with app.state.db.tx() as conn:
        conn.execute(
            "UPDATE accounts SET status = 'auth_revoked', last_error = 'invalid_grant' WHERE id = %s", (ana.account_id,)
        )
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": 1100, "height": 1400})
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    page.goto(base + "/")
    assert page.locator("form#signin").is_visible()
    page.fill("#token", "kith_not-a-real-token-at-all")
    page.click("form#signin button")
    assert "unknown or revoked" in page.locator(".error").inner_text()

    page.fill("#token", ana.token)
    page.click("form#signin button")
    page.wait_for_selector("body[data-ready='1']", state="attached")
    assert chart_points(page) == 6
    box = page.locator("#scatter").bounding_box()
    assert box and box["width"] > 300 and box["height"] > 150  # the chart is drawn, not collapsed
    deepen = page.locator("ol.deepen li")
    assert deepen.count() == 2
    # each says why it is on the list (its first reason), above what to do
    assert all(deepen.nth(k).locator("p.reason").is_visible() for k in range(2))
    assert "one-to-one meetings in the last 90 days" in deepen.nth(0).locator("p.reason").inner_text()
    assert page.locator("table.ties tbody tr").count() == 6
    assert page.locator("li.state-auth_revoked button.reconnect").is_visible()
    page.screenshot(path=str(ARTIFACTS / "dashboard-home.png"), full_page=True)

    page.uncheck("input.tier-filter[value=strong]")
    assert chart_points(page, visible_only=True) == 6 - 2  # two of the six ties are strong
    page.check("input.tier-filter[value=strong]")

    first = deepen.nth(0).locator("a.tie-link")
    name = first.inner_text()
    first.click()
    page.wait_for_selector("body[data-charts]:not([data-charts='0'])", state="attached")
    assert page.locator("h1").inner_text() == name
    assert history_total(page) >= 4  # mail out, mail in, a meeting, last week's mail
    page.screenshot(path=str(ARTIFACTS / "dashboard-tie.png"), full_page=True)

    page.go_back()
    page.wait_for_selector("body[data-ready='1']", state="attached")
    click_strongest_dot(page)
    page.wait_for_url("**/ties/*")
    assert "/ties/" in page.url

    page.goto(base + "/")
    consent: list[str] = []
    page.route(
        GOOGLE_AUTH + "**",
        lambda route: (consent.append(route.request.url), route.fulfill(status=200, body="consent screen")),
    )
    page.click("li.state-auth_revoked button.reconnect")
    page.wait_for_url(GOOGLE_AUTH + "**")
    query = parse_qs(urlsplit(consent[0]).query)
    assert query["login_hint"] == [ana.email] and query["client_id"] == ["kith-test-client"]
    assert query["redirect_uri"][0].endswith("/v1/connect/google/callback")
    assert errors == []


def test_pages_need_a_session_and_a_foreign_tie_is_not_found(browser, site):
    app, base = site
    ana = seed_user(app.state.db, "ana@north.example")
    ben = seed_user(app.state.db, "ben@south.example")
    page = browser.new_page()
    page.goto(f"{base}/ties/{ana.people[0]}")
    assert page.locator("form#signin").is_visible()  # redirected to sign in
    page.fill("#token", ana.token)
    page.click("form#signin button")
    page.wait_for_selector("#scatter")
    response = page.goto(f"{base}/ties/{ben.people[0]}")
    assert response.status == 404 and "south.example" not in page.content()
    page.goto(base + "/")
    page.click("button.link")  # sign out
    page.wait_for_selector("form#signin")
    page.screenshot(path=str(ARTIFACTS / "dashboard-signed-out.png"))


def test_the_chart_draws_five_thousand_ties(browser, site):
    """Given 5,000 scored ties, when the dashboard opens, then all 5,000 dots are drawn and a
    click on one opens its tie."""
    app, base = site
    many = seed_many(app.state.db, "many@many.example", 5000)
    page = browser.new_page(viewport={"width": 1100, "height": 1000})
    page.goto(base + "/")
    page.fill("#token", many.token)
    page.click("form#signin button")
    page.wait_for_selector("body[data-ready='1']", state="attached")
    assert chart_points(page) == 5000
    assert "5000 ties" in page.locator("#chart .meta").inner_text()
    page.screenshot(path=str(ARTIFACTS / "dashboard-5000-ties.png"))
    click_strongest_dot(page)
    page.wait_for_url("**/ties/*")
    assert page.url.rsplit("/", 1)[1].isdigit()


@contextmanager
def foreign_site(pages: dict[str, str]):
    """Another origin on this host (another port): a page an attacker controls."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_csp_holds_and_another_origin_cannot_sync_or_frame(browser, site):
    """Given a signed-in user, when the sign-in, home, tie and digest-link pages load, then each
    carries a CSP and the console reports no CSP violation; when a page on another port of the
    same host posts "Sync now" it gets 403, and when it frames the dashboard the frame stays empty."""
    app, base = site
    ana = seed_user(app.state.db, "ana@north.example")
    settings = app.state.settings
    page = browser.new_page(viewport={"width": 1100, "height": 1200})
    console: list[str] = []
    page.on("console", lambda msg: console.append(msg.text))
    page.on("pageerror", lambda exc: console.append(str(exc)))

    signin = page.goto(base + "/")
    page.fill("#token", ana.token)
    page.click("form#signin button")
    page.wait_for_selector("body[data-ready='1']", state="attached")
    home = page.goto(base + "/")
    page.wait_for_selector("body[data-ready='1']", state="attached")
    page.uncheck("input.tier-filter[value=strong]")  # the script runs under the CSP
    assert chart_points(page, visible_only=True) == 4
    swatch = page.eval_on_selector(".swatch-strong", "e => getComputedStyle(e).backgroundColor")
    assert swatch == "rgb(27, 127, 91)"  # the stylesheet, not a style attribute, colours it
    tie = page.goto(f"{base}/ties/{ana.people[0]}")
    page.wait_for_selector("body[data-charts]:not([data-charts='0'])", state="attached")
    snooze = page.goto(
        links.snooze_url(base, settings.secret(), ana.user_id, ana.people[0], date.today() + timedelta(days=14))
    )
    assert page.locator("button").inner_text() == "Snooze"
    for response in (signin, home, tie, snooze):
        csp = response.header_value("content-security-policy") or ""
        assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert [m for m in console if "Content Security Policy" in m or "Refused" in m] == []

    form = (
        f'<form id="f" method="post" action="{base}/accounts/{ana.account_id}/sync"></form>'
        '<script>document.getElementById("f").submit()</script>'
    )
    frame = f'<iframe id="victim" src="{base}/" width="900" height="700"></iframe>'
    with foreign_site({"/form": form, "/frame": frame}) as evil:
        with page.expect_response(lambda r: r.url.endswith(f"/accounts/{ana.account_id}/sync")) as posted:
            page.goto(evil + "/form")
        assert posted.value.status == 403
        assert "did not come from this Kith page" in page.inner_text("body")

        page.goto(evil + "/frame")
        page.wait_for_timeout(500)
        framed = page.frame_locator("#victim")
        assert framed.locator("button.sync, form#signin, button.link").count() == 0
        assert any("frame-ancestors" in m for m in console)
    page.goto(base + "/")
    assert page.locator("button.link").is_visible()  # still signed in
