"""The digest in a real browser engine (headless Chromium) at phone and desktop widths.

Screenshots go to tests/artifacts/. The HTML is the mail's own HTML part, with the cid:
chart swapped for the attached PNG's bytes (as a mail client does), so what is checked is
what is sent.
"""

from __future__ import annotations

import base64
import email
import os
from datetime import date, datetime, timezone
from email.policy import default as default_policy
from pathlib import Path

import pytest

from service.digest.content import build_digest
from service.digest.render import render_message
from tests.unit.test_digest_content import sample

from tests.support.browser import ARGS, ARTIFACTS, CHROMIUM, MARKS

pytestmark = MARKS


def mail_html(**extra) -> str:
    now, before = sample()
    now[1]["name"] = "Bartholomew Featherstonehaugh-Montgomery"  # a long name must wrap, not overflow
    d = build_digest(
        user_id=7,
        user_name="Zoe",
        user_email="zoe.with.a.rather.long.address@example.org",
        week=date(2026, 11, 23),
        ties=now,
        previous=before,
        revoked=[{"provider": "microsoft", "address": "zoe.work.account@northwind.example"}],
        as_of=datetime(2026, 11, 23, 8, tzinfo=timezone.utc),
        **extra,
    )
    r = render_message(d, base_url="https://kith.example.org", secret=b"browser-test")
    msg = email.message_from_bytes(r.message, policy=default_policy)
    html = msg.get_body(("html",)).get_content()
    for part in msg.walk():
        if part["Content-ID"]:
            data = base64.b64encode(part.get_content()).decode()
            html = html.replace(f"cid:{part['Content-ID'].strip('<>')}", f"data:image/png;base64,{data}")
    return html


@pytest.mark.parametrize("width", [375, 800])
def test_digest_fits_and_shows_the_chart(browser, width):
    ARTIFACTS.mkdir(exist_ok=True)
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        # Given the mail's HTML (no network: every asset is inline)
        page.route(
            "**/*", lambda route: route.abort() if not route.request.url.startswith("data:") else route.continue_()
        )
        page.set_content(mail_html(), wait_until="load")
        page.screenshot(path=str(ARTIFACTS / f"digest-{width}.png"), full_page=True)
        # Then nothing is cut off horizontally
        scroll_width = page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= width, f"content is {scroll_width}px wide in a {width}px viewport"
        overflowing = page.evaluate(
            """(w) => [...document.querySelectorAll('body *')]
            .filter(e => { const r = e.getBoundingClientRect(); return r.width > 0 && (r.right > w + 0.5 || r.left < -0.5); })
            .map(e => e.tagName + ':' + (e.textContent || '').slice(0, 40))""",
            width,
        )
        assert overflowing == []
        # The chart loaded, fits, and is shown at a readable size
        img = page.evaluate("""() => { const i = document.querySelector('img');
            return {natural: i.naturalWidth, shown: i.getBoundingClientRect().width, complete: i.complete}; }""")
        assert img["complete"] and img["natural"] > 0
        assert 250 < img["shown"] <= min(420, width)
        # The text is readable: body copy at 13px or more, and the key items are visible
        smallest = page.evaluate("""() => Math.min(...[...document.querySelectorAll('td, div, h1, h2, span, a')]
            .filter(e => e.textContent.trim()).map(e => parseFloat(getComputedStyle(e).fontSize)))""")
        assert smallest >= 13
        text = page.inner_text("body")
        for needle in ("Reconnect", "ties to deepen", "Since last week", "Who gives more", "Unsubscribe"):
            assert needle.lower() in text.lower()
    finally:
        page.close()


def test_quiet_note_renders_short(browser):
    from tests.support.digest import tie

    d = build_digest(
        user_id=7,
        user_name="Zoe",
        user_email="zoe@example.org",
        week=date(2026, 11, 23),
        ties=[tie(1, "Ana Ruiz", 60)],
        previous=[tie(1, "Ana Ruiz", 61)],
        revoked=[],
        as_of=datetime(2026, 11, 23, 8, tzinfo=timezone.utc),
    )
    r = render_message(d, base_url="https://kith.example.org", secret=b"x")
    html = email.message_from_bytes(r.message, policy=default_policy).get_body(("html",)).get_content()
    page = browser.new_page(viewport={"width": 375, "height": 700})
    try:
        page.set_content(html)
        page.screenshot(path=str(ARTIFACTS / "digest-quiet-375.png"), full_page=True)
        assert "Nothing needs you this week" in page.inner_text("body")
        assert page.evaluate("document.querySelector('table').getBoundingClientRect().height") < 500  # short
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
    finally:
        page.close()
