"""The digest's small chart: strongest ties as horizontal bars, last week as a tick.

Drawn with Pillow at twice the display size (sharp on phones), in a small palette so the
PNG stays a few kilobytes; it is embedded in the mail by Content-ID, never fetched.
"""

from __future__ import annotations

import io
import unicodedata
from functools import lru_cache
from pathlib import Path
from collections.abc import Sequence

import font_roboto
from PIL import Image, ImageDraw, ImageFont

from .content import TieLine

SCALE = 2
WIDTH = 420  # CSS pixels; shown at max-width 100%, so about 310 px on a phone
ROW = 30
TOP = 12
BOTTOM = 36
LABEL = 128

BG = (255, 255, 255)
TEXT_RGB = (40, 46, 58)

# Drawn in greyscale ("L") and saved as a palette PNG with the levels as indices: no colour
# quantisation per image. Levels 128..255 are text, anti-aliased over white (a ramp from
# the text colour to white); levels below 128 are flat fills with colours of their own.
TEXT = 128
MUTED = 128 + 60
TRACK, BAR, BAR_WEAK, TICK = 10, 20, 30, 40
FILLS = {TRACK: (237, 240, 245), BAR: (47, 111, 235), BAR_WEAK: (143, 176, 245), TICK: (30, 35, 45)}


def _palette() -> bytes:
    colours: list[tuple[int, ...]] = [(255, 255, 255)] * 256
    for level in range(128, 256):
        t = (level - 128) / 127
        colours[level] = tuple(round(c + (w - c) * t) for c, w in zip(TEXT_RGB, BG))
    for level, colour in FILLS.items():
        colours[level] = colour
    return bytes(v for colour in colours for v in colour)


PALETTE = _palette()


# Roboto, shipped in the pinned `font-roboto` package: it covers Latin-1 and Latin
# Extended-A/B (Zoë, Łukasz, Ștefan, Ğül), which Pillow's built-in font draws as boxes.
FONT_FILE = Path(font_roboto.font_files["Roboto"])


@lru_cache(maxsize=4)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.truetype(str(FONT_FILE), size=size)


def _fit(draw: ImageDraw.ImageDraw, text: str, font, width: int) -> str:
    # A name from mail may hold line breaks or other control characters: Pillow refuses to
    # measure multi-line text, and one row has room for one line anyway.
    text = " ".join("".join(" " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c for c in text).split()) or "?"
    full = draw.textlength(text, font=font)
    if full <= width:
        return text
    # Start from a proportional guess, then trim: one or two measurements, not one per char.
    keep = max(1, int(len(text) * width / full))
    while keep > 1 and draw.textlength(text[:keep] + "…", font=font) > width:
        keep -= 1
    return text[:keep].rstrip() + "…"


@lru_cache(maxsize=8)
def _base(rows: int) -> Image.Image:
    """What every chart with this many rows shares: tracks, axis, legend (drawn once)."""
    s = SCALE
    height = TOP + ROW * max(1, rows) + BOTTOM
    image = Image.new("L", (WIDTH * s, height * s), 255)
    draw = ImageDraw.Draw(image)
    small = _font(12 * s)
    x0, x1 = (LABEL + 8) * s, (WIDTH - 40) * s
    for i in range(rows):
        mid = (TOP + i * ROW) * s + (ROW * s) // 2
        draw.rounded_rectangle((x0, mid - 7 * s, x1, mid + 7 * s), radius=4 * s, fill=TRACK)
    axis_y = (TOP + ROW * max(1, rows) + 6) * s
    for v in (0, 50, 100):
        draw.text((x0 + (x1 - x0) * v // 100, axis_y), str(v), font=small, fill=MUTED, anchor="mt")
    draw.text((x1, axis_y + 14 * s), "strength · tick = last week", font=small, fill=MUTED, anchor="rt")
    if not rows:
        draw.text((12 * s, (TOP + 6) * s), "No ties scored yet", font=_font(14 * s), fill=MUTED)
    return image


@lru_cache(maxsize=128)
def _number(value: int) -> Image.Image:
    s = SCALE
    tile = Image.new("L", (34 * s, ROW * s), 255)
    ImageDraw.Draw(tile).text((0, (ROW * s) // 2), str(value), font=_font(12 * s), fill=TEXT, anchor="lm")
    return tile


def chart_png(lines: Sequence[TieLine]) -> bytes:
    """A PNG of up to six ties: name, bar of this week's strength (0-100), tick at last week."""
    rows = list(lines)[:6]
    s = SCALE
    image = _base(len(rows)).copy()
    draw = ImageDraw.Draw(image)
    font = _font(14 * s)
    x0, x1 = (LABEL + 8) * s, (WIDTH - 40) * s
    span = x1 - x0
    for i, line in enumerate(rows):
        y = (TOP + i * ROW) * s
        mid = y + (ROW * s) // 2
        draw.text((8 * s, mid), _fit(draw, line.name, font, (LABEL - 6) * s), font=font, fill=TEXT, anchor="lm")
        value = max(0, min(100, line.strength))
        if value:
            colour = BAR if line.tier in ("strong", "medium") else BAR_WEAK
            draw.rounded_rectangle(
                (x0, mid - 7 * s, x0 + max(8 * s, span * value // 100), mid + 7 * s), radius=4 * s, fill=colour
            )
        if line.previous_strength is not None:
            tx = x0 + span * max(0, min(100, line.previous_strength)) // 100
            draw.rectangle((tx - s, mid - 11 * s, tx + s, mid + 11 * s), fill=TICK)
        image.paste(_number(value), (x1 + 6 * s, y))
    image = Image.frombytes("P", image.size, image.tobytes())  # levels become palette indices
    image.putpalette(PALETTE)
    out = io.BytesIO()
    # Level 3: most of the size gain of 6 at half the time; the file stays around 10 kB.
    image.save(out, format="PNG", compress_level=3)
    return out.getvalue()
