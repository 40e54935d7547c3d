"""What the dashboard's charts plot, as plain data for Chart.js (static/charts.js draws it).

Pure functions from ties and counts to JSON-ready dicts. The page carries them in a
`data-chart` attribute (Jinja's `tojson`, so a name with markup stays text); the browser
draws them with the vendored Chart.js (static/vendor). Every chart also has words beside
it (the table, the totals), so nothing is known only from a picture.
"""

from __future__ import annotations

from datetime import date

TIER_COLOURS = {"strong": "#1b7f5b", "medium": "#3a6fb0", "weak": "#9a6a00", "fading": "#a23b3b"}
SERIES = (
    ("email_out", "mail you sent", "#2f5f9e"),
    ("email_in", "mail to you", "#8fb3e0"),
    ("meeting_out", "meetings you set", "#1b7f5b"),
    ("meeting_in", "meetings they set", "#86c9a9"),
)
LABELLED = 12  # names written beside the strongest dots (and every tie to deepen)


def scatter(points: list[dict], deepen_ids: set[int] | None = None) -> dict:
    """Strength (up) against balance (right: you give more), one dot per tie, grouped by tier.

    `points`: dicts with person_id, label, strength (0..100), reciprocity (-100..100), tier.
    The strongest LABELLED ties and the ties to deepen carry their name on the chart.
    """
    deepen_ids = deepen_ids or set()
    ranked = sorted(points, key=lambda p: -float(p["strength"]))
    labelled = {int(p["person_id"]) for p in ranked[:LABELLED]} | set(deepen_ids)
    datasets = []
    for tier, colour in TIER_COLOURS.items():
        mine = [p for p in points if p["tier"] == tier]
        datasets.append(
            {
                "tier": tier,
                "colour": colour,
                "points": [
                    {
                        "x": max(-100, min(100, int(p["reciprocity"]))),
                        "y": round(max(0.0, min(100.0, float(p["strength"]))), 1),
                        "id": int(p["person_id"]),
                        "name": str(p["label"]),
                        "label": int(p["person_id"]) in labelled,
                    }
                    for p in mine
                ],
            }
        )
    return {"kind": "scatter", "n": len(points), "datasets": datasets}


def history(buckets: list[dict], unit: str) -> dict:
    """Stacked bars of mail and meetings, by week or month, each split by who started them."""
    return {
        "kind": "history",
        "unit": unit,
        "starts": [_iso(b["start"]) for b in buckets],
        "series": [
            {"key": key, "name": name, "colour": colour, "data": [int(b[key]) for b in buckets]}
            for key, name, colour in SERIES
        ],
    }


def strength_line(snapshots: list[dict]) -> dict:
    """Strength at each scoring, oldest first."""
    return {
        "kind": "strength",
        "at": [str(s["as_of"]) for s in snapshots],
        "strength": [round(float(s["strength"]), 1) for s in snapshots],
    }


def sparkline(counts: list[int]) -> dict:
    return {"kind": "spark", "data": [int(c) for c in counts]}


def totals(buckets: list[dict]) -> dict[str, int]:
    return {key: sum(int(b[key]) for b in buckets) for key, _, _ in SERIES}


TOTAL_WORDS = {
    "email_out": ("message you sent", "messages you sent"),
    "email_in": ("message to you", "messages to you"),
    "meeting_out": ("meeting you set up", "meetings you set up"),
    "meeting_in": ("meeting they set up", "meetings they set up"),
}


def totals_words(totals: dict[str, int]) -> str:
    """'12 messages you sent, 1 meeting they set up' (kinds with none are left out)."""
    parts = [
        f"{totals[k]} {one if totals[k] == 1 else many}" for k, (one, many) in TOTAL_WORDS.items() if totals.get(k)
    ]
    return ", ".join(parts) if parts else "nothing on record"


def trend_words(counts: list[int]) -> str:
    """The sparkline in words, for its label: the last three months against the three before."""
    if not any(counts):
        return "no mail or meetings in the last 12 months"
    recent, before = sum(counts[-3:]), sum(counts[-6:-3])
    total = sum(counts)
    if recent == 0:
        change = "none in the last 3 months"
    elif recent > before * 1.5 + 1:
        change = "rising lately"
    elif recent * 1.5 + 1 < before:
        change = "falling lately"
    else:
        change = "steady lately"
    return f"{total} in the last 12 months, {change}"


def _iso(value) -> str:
    return value.isoformat() if isinstance(value, date) else str(value)
