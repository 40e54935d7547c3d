"""Charts as inline SVG, drawn on the server: no script or CDN needed to see them.

Pure functions from numbers to markup; every text that comes from data is escaped.
"""

from __future__ import annotations

from markupsafe import Markup, escape

TIER_COLOURS = {"strong": "#1b7f5b", "medium": "#3a6fb0", "weak": "#c38d1e", "fading": "#a23b3b"}
SERIES = (
    ("email_out", "mail you sent", "#3a6fb0"),
    ("email_in", "mail to you", "#8fb3e0"),
    ("meeting_out", "meetings you set", "#1b7f5b"),
    ("meeting_in", "meetings they set", "#86c9a9"),
)


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def scatter(points: list[dict], width: int = 640, height: int = 420) -> Markup:
    """Strength (up) against balance (right: you give more) for every tie; each dot links to its tie.

    `points`: dicts with person_id, label, strength (0..100), reciprocity (-100..100), tier.
    """
    left, right, top, bottom = 48, 16, 16, 44
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(rec: float) -> float:
        return left + (max(-100.0, min(100.0, rec)) + 100.0) / 200.0 * plot_w

    def y(strength: float) -> float:
        return top + (1.0 - max(0.0, min(100.0, strength)) / 100.0) * plot_h

    parts = [
        f'<svg class="chart scatter" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'aria-label="Strength against balance of {len(points)} ties" data-points="{len(points)}">',
        f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" class="plot"/>',
    ]
    for tick in (0, 25, 50, 75, 100):
        parts.append(
            f'<line class="grid" x1="{left}" x2="{left + plot_w}" y1="{_num(y(tick))}" y2="{_num(y(tick))}"/>'
            f'<text class="tick" x="{left - 6}" y="{_num(y(tick) + 4)}" text-anchor="end">{tick}</text>'
        )
    for tick in (-100, -50, 0, 50, 100):
        parts.append(
            f'<line class="grid{" axis" if tick == 0 else ""}" x1="{_num(x(tick))}" x2="{_num(x(tick))}" '
            f'y1="{top}" y2="{top + plot_h}"/>'
            f'<text class="tick" x="{_num(x(tick))}" y="{top + plot_h + 16}" text-anchor="middle">{tick}</text>'
        )
    parts.append(
        f'<text class="label" x="{left}" y="{height - 6}">← they give more</text>'
        f'<text class="label" x="{left + plot_w}" y="{height - 6}" text-anchor="end">you give more →</text>'
        f'<text class="label" x="12" y="{top + plot_h / 2:.0f}" transform="rotate(-90 12 {top + plot_h / 2:.0f})" '
        f'text-anchor="middle">strength</text>'
    )
    # Smaller dots when there are thousands, so clusters stay readable.
    radius = 5 if len(points) <= 300 else 3.5 if len(points) <= 1500 else 2.5
    # Weakest first, so the strong ties are drawn last and stay on top.
    for p in sorted(points, key=lambda p: p["strength"]):
        colour = TIER_COLOURS.get(p["tier"], "#777")
        label = escape(f"{p['label']} — strength {p['strength']:.0f}, balance {p['reciprocity']:+d}, {p['tier']}")
        parts.append(
            f'<a href="/ties/{int(p["person_id"])}" class="point" data-person="{int(p["person_id"])}" '
            f'data-tier="{escape(p["tier"])}"><circle cx="{_num(x(p["reciprocity"]))}" '
            f'cy="{_num(y(p["strength"]))}" r="{radius}" fill="{colour}"><title>{label}</title></circle></a>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def timeline(weeks: list[dict], width: int = 720, height: int = 220) -> Markup:
    """Stacked weekly bars: mail and meetings, each split by who started them."""
    left, right, top, bottom = 36, 8, 12, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = max([sum(w[key] for key, _, _ in SERIES) for w in weeks] + [1])
    slot = plot_w / max(1, len(weeks))
    bar = max(1.0, slot * 0.8)
    parts = [
        f'<svg class="chart timeline" role="img" viewBox="0 0 {width} {height}" width="100%" '
        f'aria-label="Interactions per week over {len(weeks)} weeks" data-weeks="{len(weeks)}">',
        f'<line class="axis" x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}"/>',
        f'<text class="tick" x="{left - 6}" y="{top + 8}" text-anchor="end">{peak}</text>',
        f'<text class="tick" x="{left - 6}" y="{top + plot_h}" text-anchor="end">0</text>',
    ]
    for i, week in enumerate(weeks):
        base = top + plot_h
        x0 = left + i * slot + (slot - bar) / 2
        for key, name, colour in SERIES:
            n = week[key]
            if not n:
                continue
            h = n / peak * plot_h
            base -= h
            parts.append(
                f'<rect class="bar {key}" x="{_num(x0)}" y="{_num(base)}" width="{_num(bar)}" '
                f'height="{_num(h)}" fill="{colour}"><title>{escape(str(week["week"]))}: {n} {name}'
                f"</title></rect>"
            )
    step = max(1, len(weeks) // 6)
    for i in range(0, len(weeks), step):
        parts.append(
            f'<text class="tick" x="{_num(left + i * slot + slot / 2)}" y="{height - 16}" '
            f'text-anchor="middle">{escape(str(weeks[i]["week"]))}</text>'
        )
    legend_x = left
    for _key, name, colour in SERIES:
        parts.append(
            f'<rect x="{legend_x}" y="{height - 10}" width="10" height="8" fill="{colour}"/>'
            f'<text class="legend" x="{legend_x + 14}" y="{height - 2}">{name}</text>'
        )
        legend_x += 150
    parts.append("</svg>")
    return Markup("".join(parts))


def sparkline(history: list[dict], width: int = 240, height: int = 48) -> Markup:
    """Strength across snapshots, oldest left."""
    if not history:
        return Markup('<svg class="chart spark" viewBox="0 0 10 10" width="0" height="0"></svg>')
    n = len(history)
    coords = []
    for i, point in enumerate(history):
        px = 4 + (i / max(1, n - 1)) * (width - 8)
        py = 4 + (1 - max(0.0, min(100.0, float(point["strength"]))) / 100) * (height - 8)
        coords.append(f"{_num(px)},{_num(py)}")
    return Markup(
        f'<svg class="chart spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-label="Strength over {n} scorings"><polyline points="{" ".join(coords)}" fill="none" '
        f'stroke="#3a6fb0" stroke-width="2"/></svg>'
    )
