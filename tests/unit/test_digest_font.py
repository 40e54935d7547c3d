"""The digest's chart draws every name in Latin Extended (Zoë, not Zo▯), and its headline
says what the week holds rather than repeating the first card."""

from __future__ import annotations

from datetime import date, datetime, timezone

from PIL import ImageFont

from service.digest import chart
from service.digest.content import TieLine, build_digest
from tests.support.digest import tie

NAMES = "Zoë Łukasz Ștefan Ğül Øystein Dvořák Nguyễn"
MISSING = "\u0378"  # an unassigned code point: every font draws its missing-glyph box for it


def _glyph(font, ch: str) -> bytes:
    return bytes(font.getmask(ch))


def test_the_bundled_font_has_the_glyphs_that_the_builtin_font_lacks():
    # Given the chart's font and Pillow's built-in one, at the chart's size
    bundled = chart._font(28)
    builtin = ImageFont.load_default(size=28)
    box = _glyph(bundled, MISSING)
    # Then every letter of these names is a glyph of its own in the bundled font
    for ch in set(NAMES.replace(" ", "")):
        assert _glyph(bundled, ch) != box, ch
    # And the built-in font (what the chart used before) draws "ë" as the missing box
    assert _glyph(builtin, "ë") == _glyph(builtin, MISSING)


def _line(name: str) -> TieLine:
    return TieLine("p1", 1, name, "x@example.org", 70, "strong", 0, (), "reason")


def test_the_chart_draws_the_letter_not_a_box():
    # Given the same chart with "Zoë", with "Zo" plus a missing glyph, and with plain "Zoe"
    zoe = chart.chart_png([_line("Zoë")])
    boxed = chart.chart_png([_line("Zo" + MISSING)])
    plain = chart.chart_png([_line("Zoe")])
    # Then "Zoë" is drawn as neither the box nor a plain e
    assert zoe != boxed and zoe != plain and boxed != plain


def test_the_headline_counts_the_week_and_never_repeats_the_first_card():
    now = [
        tie(1, "Ana Ruiz", 70, -40, ["cooling"], rank=1, suggestion="Suggest lunch next week"),
        tie(2, "Bob Stone", 60, 10, rank=2, suggestion="Send the article"),
    ]
    before = [tie(1, "Ana Ruiz", 82, -40), tie(2, "Bob Stone", 58, 10)]
    d = build_digest(
        user_id=1,
        user_name="Zoe",
        user_email="zoe@example.org",
        week=date(2026, 11, 23),
        ties=now,
        previous=before,
        as_of=datetime(2026, 11, 23, 8, tzinfo=timezone.utc),
    )
    first = d.deepen[0]
    # Then the headline names what the email holds, not the first card's person or action
    assert d.headline == "This week: 2 ties to deepen and one change since last week"
    assert first.name not in d.headline and (first.suggestion or "").lower() not in d.headline.lower()
    # And the subject still leads with the most important item
    assert d.subject.startswith("Ana Ruiz")
