"""The dashboard as a person meets it, in headless Chromium (Debian's, driven by Playwright):
at 375, 800 and 1280 px without horizontal scrolling, by keyboard alone, with no serious or
critical axe-core violation (axe vendored under tests/vendor, no network), names from mail
headers shown as text, and an mbox upload with its progress. Screenshots of each width go to
tests/artifacts/dashboard-{home,tie}-{width}.png.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect
from psycopg.types.json import Jsonb

from tests.support.api import seed_user
from tests.browser.test_dashboard_browser import ARTIFACTS, CHROMIUM, site
from tests.support.browser import MARKS
from tests.api.test_dashboard_uploads import mbox

AXE = Path(__file__).parent.parent / "vendor" / "axe-core-4.14.1.min.js"
HOSTILE = '<img src=x onerror="alert(1)">Eve </td><script>alert(2)</script>'
WIDTHS = (375, 800, 1280)

pytestmark = MARKS


def _user(db):
    ana = seed_user(db, "ana@north.example")
    with db.tx() as conn:
        conn.execute(
            "UPDATE score_snapshots SET payload = payload || %s WHERE user_id = %s AND person_id = %s",
            (Jsonb({"name": HOSTILE}), ana.user_id, ana.people[1]),
        )
        conn.execute(
            "UPDATE accounts SET status = 'disabled', last_error = 'demo account: its emulator has stopped',"
            " last_synced_at = now() - interval '1 hour' WHERE id = %s",
            (ana.account_id,),
        )
    return ana


def _sign_in(page, base, token):
    page.goto(base + "/")
    page.fill("#token", token)
    page.click("form#signin button")
    page.wait_for_selector("body[data-ready='1']", state="attached")


def _serious(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']}})"
    )
    return [
        f"{v['id']} ({v['impact']}): {[n['target'] for n in v['nodes']][:3]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_every_width_fits_and_axe_finds_no_serious_violation(browser, site):
    """Given a user with six ties (one named with markup) and a finished demo account, when
    home and a tie page open at 375, 800 and 1280 px, then nothing scrolls sideways, the charts
    are drawn, axe-core reports no serious or critical violation (nor on the sign-in and
    not-found pages), the markup is shown as text
    (no dialog opens), and the demo account is not marked as an error."""
    app, base = site
    ana = _user(app.state.db)
    ARTIFACTS.mkdir(exist_ok=True)
    # axe is injected as a script of the test's own: only this context lifts the CSP for it.
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.set_viewport_size({"width": 375, "height": 900})
    page.goto(base + "/")
    assert _serious(page) == [], "sign-in page"
    _sign_in(page, base, ana.token)
    page.goto(base + "/ties/999999999")
    assert _serious(page) == [], "not-found page"
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        for name, path in (("home", "/"), ("tie", f"/ties/{ana.people[0]}")):
            page.goto(base + path)
            page.wait_for_selector("body[data-ready='1'][data-charts]:not([data-charts='0'])", state="attached")
            overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 0, f"{name} at {width}px scrolls sideways by {overflow}px"
            page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}-{width}.png"), full_page=True)
            assert _serious(page) == [], f"{name} at {width}px"
    page.goto(base + "/")
    page.wait_for_selector("body[data-ready='1']", state="attached")
    hostile_row = page.locator(f"#tie-{ana.people[1]} a.tie-link")
    assert hostile_row.inner_text() == HOSTILE.strip()
    assert page.locator("#ties img").count() == 0 and dialogs == []
    demo = page.locator(f'li.account[data-account="{ana.account_id}"]')
    assert "tone-quiet" in demo.get_attribute("class")
    assert "the demo's emulator has stopped" in demo.inner_text()
    context.close()


def test_keyboard_alone_reaches_a_tie_and_gives_feedback(browser, site):
    """Given the home page, when a person uses only the keyboard, then the first Tab reaches
    the skip link, Tab reaches the first tie of the table and Enter opens it; on the tie
    page, Tab reaches "Matters" and Enter saves the word, which the page then shows."""
    app, base = site
    ana = _user(app.state.db)
    page = browser.new_page(viewport={"width": 800, "height": 900})
    _sign_in(page, base, ana.token)
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    first_tie = page.locator("table.ties a.tie-link").first
    target = first_tie.get_attribute("href")
    for _ in range(60):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.getAttribute('href')") == target and page.evaluate(
            "!!document.activeElement.closest('table.ties')"
        ):
            break
    else:
        pytest.fail("Tab never reached the first tie of the table")
    page.keyboard.press("Enter")
    page.wait_for_url("**" + target)
    page.wait_for_selector("body[data-ready='1']", state="attached")
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Matters":
            break
    else:
        pytest.fail("Tab never reached the Matters button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector("body[data-ready='1']", state="attached")
    assert "You said this tie matters" in page.locator("#tie").inner_text()


def test_an_mbox_upload_shows_its_progress_and_its_result(browser, site, tmp_path):
    """Given the accounts panel, when a person chooses a 40-message mbox and uploads it, then
    the progress bar fills and the status says how many messages were imported; a file that
    is not an mbox says why nothing was imported."""
    app, base = site
    ana = _user(app.state.db)
    page = browser.new_page(viewport={"width": 800, "height": 900})
    _sign_in(page, base, ana.token)
    good = tmp_path / "Takeout.mbox"
    good.write_bytes(mbox(40, ana.email))
    page.set_input_files("#upload-file", str(good))
    page.click("form#upload button[type=submit]")
    # (on the way it reads "Imported 40 messages; scoring your ties.": the final words name the file)
    done = re.compile(r"^Imported 40 messages from Takeout\.mbox\.")
    expect(page.locator("#upload-status")).to_have_text(done, timeout=60000)
    assert page.eval_on_selector("#upload-bar", "e => e.value") == 100
    page.locator("#upload").screenshot(path=str(ARTIFACTS / "dashboard-upload.png"))
    bad = tmp_path / "notes.mbox"
    bad.write_bytes(b"just some notes, not mail\n")
    page.set_input_files("#upload-file", str(bad))
    page.click("form#upload button[type=submit]")
    expect(page.locator("#upload-status")).to_have_text(re.compile("^Nothing"), timeout=60000)
    assert "not an mbox file" in page.locator("#upload-status").inner_text()


def test_dates_are_written_in_the_browsers_time_zone(browser, site):
    """Given a last contact at 06:00 UTC on 23 November 2026, when the tie page opens in a
    browser in Los Angeles, then the date reads 22 November (the evening before, there)."""
    app, base = site
    ana = _user(app.state.db)
    context = browser.new_context(timezone_id="America/Los_Angeles", locale="en-US")
    page = context.new_page()
    _sign_in(page, base, ana.token)
    page.goto(f"{base}/ties/{ana.people[0]}")
    page.wait_for_selector("body[data-ready='1']", state="attached")
    last = page.locator('dd time[data-local="date"]').first
    assert last.get_attribute("datetime") == "2026-11-23T06:00:00Z"
    assert last.inner_text() == "November 22, 2026"
    context.close()


def test_the_accuracy_panel_reads_at_375_px(browser, site):
    """Given a user whose mail holds Kith's calls of 90 days ago and what came since, when
    home opens at 375 px, then the panel says how many of the strong ties Kith had expected
    to be in touch with beside how many were, its table fits, and axe finds nothing serious."""
    from dataclasses import replace as moved
    from datetime import datetime, timezone

    from service import auth
    from tests.support.analytics import T_END
    from tests.support.evidence import history, write_history

    app, base = site
    shift = datetime.now(timezone.utc).timestamp() - T_END
    user = write_history(app.state.db, "ana@north.example", [moved(x, at=x.at + shift) for x in history()])
    with app.state.db.tx() as conn:
        token = auth.create_token(conn, user)
    context = browser.new_context(bypass_csp=True)
    page = context.new_page()
    page.set_viewport_size({"width": 375, "height": 900})
    _sign_in(page, base, token)
    panel = page.locator("#evidence")
    expect(panel).to_contain_text("Kith had expected about")
    expect(panel).to_contain_text("A plain most-recent-first list got")
    assert re.search(r"you were in touch with \d+ since; Kith had expected about \d+\.", panel.inner_text())
    ARTIFACTS.mkdir(exist_ok=True)
    panel.screenshot(path=str(ARTIFACTS / "dashboard-evidence-375.png"))
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"home at 375px scrolls sideways by {overflow}px"
    assert _serious(page) == []
    context.close()
