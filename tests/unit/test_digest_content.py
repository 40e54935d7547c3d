"""What the digest says, how it is rendered as mail, and its signed links (pure, no I/O)."""

from __future__ import annotations

import email
import io
import re
from datetime import date, datetime, timedelta, timezone
from email.policy import default as default_policy

from hypothesis import given, settings as hsettings, strategies as st
from PIL import Image

from service.digest import links
from service.digest.chart import chart_png
from service.digest.content import MAX_DEEPEN, SUBJECT_MAX, build_digest
from service.digest.render import render_message, render_preview_html
from tests.support.digest import tie

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=timezone.utc)
WEEK = date(2026, 11, 23)
SECRET = b"unit-test-secret"
BASE = "https://kith.example.org"


def digest(ties, previous=None, revoked=(), hidden=(), name="Zoe"):
    return build_digest(
        user_id=7,
        user_name=name,
        user_email="zoe@example.org",
        week=WEEK,
        ties=ties,
        previous=previous,
        revoked=revoked,
        hidden=hidden,
        as_of=NOW,
    )


def sample():
    now = [
        tie(1, "Ana Ruiz", 70, -40, ["cooling"], rank=2, suggestion="Suggest lunch next week"),
        tie(2, "Bob Stone", 88, 10),
        tie(3, "Carla Mendes", 55, 50, ["one_sided_you"], rank=1, suggestion="Let her pick the next plan"),
        tie(4, "Dev Patel", 40, 0, rank=3, suggestion="Send the article"),
        tie(5, "Eun-ji Park", 30, 5, rank=4, suggestion="Call"),
        tie(6, "Farid Haddad", 62, -70),
    ]
    before = [
        tie(1, "Ana Ruiz", 82, -40),
        tie(2, "Bob Stone", 79, 10),
        tie(3, "Carla Mendes", 56, 50, ["one_sided_you"]),
        tie(4, "Dev Patel", 41, 0),
        tie(6, "Farid Haddad", 60, -70),
    ]
    return now, before


def test_deepen_is_at_most_three_in_model_order_without_snoozed():
    # Given four ranked ties, one of which the user snoozed
    now, before = sample()
    # When the digest is built
    d = digest(now, before, hidden=[3])
    # Then at most three are suggested, in rank order, each with a reason and an action
    assert [t.name for t in d.deepen] == ["Ana Ruiz", "Dev Patel", "Eun-ji Park"]
    assert all(t.reason and t.suggestion for t in d.deepen)
    assert "Cooling" in d.deepen[0].reason


def test_the_last_contact_is_said_in_weeks_months_or_years_not_hundreds_of_days():
    # Given ties to deepen last in touch 20, 99 and 522 days before the digest, and one 10 days
    def ties(days):
        return [
            tie(p, f"Person{p} X", 50, rank=p, suggestion="Write", last=(NOW - timedelta(days=d)).isoformat())
            for p, d in enumerate(days, start=1)
        ]

    said = [line.reason for line in digest(ties([20, 99, 522])).deepen]
    # Then each says it in the unit a person uses, and a recent one says nothing of it
    assert [r.rpartition(" · ")[2] for r in said] == [
        "last in touch 2 weeks ago",
        "last in touch 3 months ago",
        "last in touch 17 months ago",
    ]
    assert "last in touch" not in digest(ties([10])).deepen[0].reason


def test_changes_report_strength_moves_and_new_flags_only():
    # Given last week's snapshot: Ana dropped 12 and became cooling, Bob grew 9, Carla's flag is old
    now, before = sample()
    d = digest(now, before)
    texts = [c.text for c in d.changes]
    # Then the new flag and the moves are there, biggest first; the old flag is not news
    assert texts[0] == "Ana Ruiz is now cooling (-12)"
    assert "Bob Stone grew stronger (+9)" in texts
    assert not any("Carla" in t for t in texts)
    assert not any("Farid" in t for t in texts)  # +2 is noise


def test_reciprocity_sides_and_strongest():
    now, before = sample()
    d = digest(now, before)
    # positive reciprocity: the user gives more
    assert [t.name for t in d.you_give] == ["Carla Mendes"]
    assert [t.name for t in d.they_give] == ["Farid Haddad", "Ana Ruiz"]
    assert [t.name for t in d.strongest][:3] == ["Bob Stone", "Ana Ruiz", "Farid Haddad"]


def test_subject_names_the_most_important_item():
    now, before = sample()
    # Given a revoked account, it comes first: without it every other line goes stale
    d = digest(now, before, revoked=[{"provider": "google", "address": "zoe@gmail.com"}])
    assert d.subject.startswith("Reconnect your Google (zoe@gmail.com)")
    # Without it, the first tie to deepen, with its action
    assert digest(now, before).subject == "Carla Mendes: let her pick the next plan"
    # Without ties to deepen, the largest change
    plain = [dict(t, deepen_rank=None) for t in now]
    assert digest(plain, before).subject == "Ana Ruiz is now cooling (-12)"


def test_nothing_worth_saying_is_quiet_and_first_digest_has_no_changes():
    steady = [tie(1, "Ana Ruiz", 70, 0), tie(2, "Bob Stone", 60, 0)]
    d = digest(steady, [tie(1, "Ana Ruiz", 68, 0), tie(2, "Bob Stone", 61, 0)])
    assert d.quiet and not d.deepen and not d.changes
    assert "quiet" in d.subject
    first = digest(steady, None)
    assert first.changes == () and not first.has_history


tie_strategy = st.builds(
    lambda pid, s, r, flags, rank: tie(
        pid, f"Person {pid}", s, r, flags, rank=rank, suggestion="Reach out" if rank else None
    ),
    st.integers(1, 40),
    st.floats(0, 100),
    st.integers(-100, 100),
    st.lists(st.sampled_from(["cooling", "dormant", "one_sided_you", "one_sided_them"]), unique=True, max_size=2),
    st.one_of(st.none(), st.integers(1, 10)),
)


@hsettings(max_examples=150, deadline=None)
@given(
    st.lists(tie_strategy, max_size=25, unique_by=lambda t: t["person_id"]),
    st.one_of(st.none(), st.lists(tie_strategy, max_size=25, unique_by=lambda t: t["person_id"])),
)
def test_digest_invariants(now, before):
    d = digest(now, before)
    assert len(d.deepen) <= MAX_DEEPEN
    assert [t.key for t in d.deepen] == sorted({t.key for t in d.deepen}, key=[t.key for t in d.deepen].index)
    assert 0 < len(d.subject) <= SUBJECT_MAX
    assert all(t.reciprocity > 0 for t in d.you_give) and all(t.reciprocity < 0 for t in d.they_give)
    assert d.quiet == (not d.deepen and not d.changes and not d.reconnect)
    if before is None:
        assert d.changes == ()


def test_message_is_multipart_with_inline_chart_and_unsubscribe_headers():
    now, before = sample()
    r = render_message(digest(now, before), base_url=BASE, secret=SECRET, now=NOW)
    msg = email.message_from_bytes(r.message, policy=default_policy)
    # Then: text and HTML alternatives, the chart attached by Content-ID and referenced by cid:
    assert msg.get_content_type() == "multipart/alternative"
    types = [p.get_content_type() for p in msg.walk()]
    assert types == ["multipart/alternative", "text/plain", "multipart/related", "text/html", "image/png"]
    html = msg.get_body(("html",)).get_content()
    image = next(p for p in msg.walk() if p.get_content_type() == "image/png")
    assert f'src="cid:{image["Content-ID"].strip("<>")}"' in html
    Image.open(io.BytesIO(image.get_content())).verify()
    # No external assets: every src is cid:, there is no stylesheet link or remote font
    assert re.findall(r'src="([^"]+)"', html) == [f"cid:{image['Content-ID'].strip('<>')}"]
    assert "<link" not in html and "@import" not in html
    assert "<table" in html and 'style="' in html
    # Headers: fixed Message-ID, one-click unsubscribe
    assert msg["Message-ID"] == f"<{r.message_id}>"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    url = msg["List-Unsubscribe"].strip().strip("<>")  # folded onto its own line when long
    assert url.startswith(f"{BASE}/digest/unsubscribe?u=7&t=")
    assert msg["Subject"] == r.subject == "Carla Mendes: let her pick the next plan"
    text = msg.get_body(("plain",)).get_content()
    assert "TIES TO DEEPEN" in text and "Unsubscribe: " + url in text
    assert "Snooze for 4 weeks: https://kith.example.org/digest/snooze?u=7&p=3" in text


def test_message_id_is_fixed_per_user_and_week_and_html_escapes_names():
    now, before = sample()
    now[1]["name"] = "Bob <script>alert(1)</script>"
    d = digest(now, before)
    a = render_message(d, base_url=BASE, secret=SECRET, now=NOW)
    b = render_message(d, base_url=BASE, secret=SECRET, now=datetime(2026, 11, 24, tzinfo=timezone.utc))
    assert a.message_id == b.message_id and "@kith.example.org" in a.message_id
    assert render_message(d, base_url=BASE, secret=SECRET, resend=1).message_id != a.message_id
    html = render_preview_html(d, base_url=BASE, secret=SECRET)
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'src="data:image/png;base64,' in html


def test_non_ascii_names_survive_the_headers_and_parts():
    now, before = sample()
    now[2]["name"] = "José Álvarez-Núñez"  # first to deepen: in the subject
    r = render_message(digest(now, before, name="Zoë Ünal"), base_url=BASE, secret=SECRET, now=NOW)
    assert r.message.isascii()  # 7-bit on the wire: RFC 2047 headers, quoted-printable bodies
    msg = email.message_from_bytes(r.message, policy=default_policy)
    assert msg["Subject"] == "José Álvarez-Núñez: let her pick the next plan"
    assert msg["To"].addresses[0].display_name == "Zoë Ünal"
    assert "José Álvarez-Núñez" in msg.get_body(("plain",)).get_content()
    assert "José Álvarez-Núñez" in msg.get_body(("html",)).get_content()


def test_chart_is_a_png_with_bars():
    now, before = sample()
    png = chart_png(digest(now, before).chart)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    assert image.width == 840 and png[:8] == b"\x89PNG\r\n\x1a\n"
    # The bar colour covers a visible share of the picture: it is a chart, not a blank.
    colours = image.getcolors(1 << 16)
    blue = sum(n for n, (r, g, b) in colours if b > 200 and r < 80)
    assert blue > image.width * image.height * 0.05


def test_links_verify_and_reject_tampering():
    t = links.unsubscribe_token(SECRET, 7)
    assert links.verify_unsubscribe(SECRET, 7, t)
    assert not links.verify_unsubscribe(SECRET, 8, t)
    assert not links.verify_unsubscribe(b"other", 7, t)
    until = date(2026, 12, 21)
    s = links.snooze_token(SECRET, 7, 3, until)
    assert links.verify_snooze(SECRET, 7, 3, until, s, today=date(2026, 11, 30))
    assert not links.verify_snooze(SECRET, 7, 4, until, s)
    assert not links.verify_snooze(SECRET, 7, 3, date(2026, 12, 22), s)
    assert not links.verify_snooze(SECRET, 7, 3, until, s, today=date(2026, 12, 22))  # expired
