"""What the dashboard's charts plot (service/dashboard/charts.py, pure functions): the data
Chart.js draws, and the words beside each chart."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given, strategies as st

from service.dashboard import charts


def _points(n: int) -> list[dict]:
    return [
        {
            "person_id": i + 1,
            "label": f"P{i}",
            "strength": (i * 37) % 101,
            "reciprocity": (i * 53) % 201 - 100,
            "tier": ("strong", "medium", "weak", "fading")[i % 4],
        }
        for i in range(n)
    ]


def test_scatter_has_one_point_per_tie_by_tier_and_labels_the_strongest_and_those_to_deepen():
    points = _points(40) + [
        {"person_id": 99, "label": '<script>alert(1)</script> "Eve"', "strength": 1, "reciprocity": 0, "tier": "weak"}
    ]
    data = charts.scatter(points, deepen_ids={99})
    flat = [p for ds in data["datasets"] for p in ds["points"]]
    assert data["n"] == 41 and len(flat) == 41
    assert {ds["tier"] for ds in data["datasets"]} == set(charts.TIER_COLOURS)
    labelled = {p["id"] for p in flat if p["label"]}
    strongest = {p["person_id"] for p in sorted(points, key=lambda p: -p["strength"])[: charts.LABELLED]}
    assert labelled == strongest | {99}
    assert (
        next(p for p in flat if p["id"] == 99)["name"] == '<script>alert(1)</script> "Eve"'
    )  # text, drawn by fillText


@given(strength=st.floats(-50, 150), reciprocity=st.integers(-500, 500))
def test_scatter_keeps_every_point_inside_the_axes(strength, reciprocity):
    data = charts.scatter(
        [{"person_id": 1, "label": "x", "strength": strength, "reciprocity": reciprocity, "tier": "medium"}]
    )
    point = next(p for ds in data["datasets"] for p in ds["points"])
    assert -100 <= point["x"] <= 100 and 0 <= point["y"] <= 100


def test_history_has_one_series_per_kind_and_direction_and_totals_in_words():
    start = date(2026, 9, 7)
    buckets = [
        {
            "start": start + timedelta(weeks=k),
            "email_out": k % 2,
            "email_in": 1,
            "meeting_out": 0,
            "meeting_in": 2 if k == 3 else 0,
        }
        for k in range(4)
    ]
    data = charts.history(buckets, "week")
    assert data["starts"] == [(start + timedelta(weeks=k)).isoformat() for k in range(4)]
    by_key = {s["key"]: s["data"] for s in data["series"]}
    assert by_key == {
        "email_out": [0, 1, 0, 1],
        "email_in": [1, 1, 1, 1],
        "meeting_out": [0] * 4,
        "meeting_in": [0, 0, 0, 2],
    }
    assert (
        charts.totals_words(charts.totals(buckets)) == "2 messages you sent, 4 messages to you, 2 meetings they set up"
    )
    assert charts.totals_words(charts.totals([])) == "nothing on record"


def test_trend_words_say_what_the_sparkline_shows():
    assert charts.trend_words([0] * 12) == "no mail or meetings in the last 12 months"
    assert charts.trend_words([5] * 9 + [0, 0, 0]) == "45 in the last 12 months, none in the last 3 months"
    assert charts.trend_words([0] * 6 + [1, 1, 1] + [5, 6, 7]) == "21 in the last 12 months, rising lately"
    assert charts.trend_words([0] * 6 + [6, 6, 6] + [1, 0, 1]) == "20 in the last 12 months, falling lately"
    assert charts.sparkline([1, 2]) == {"kind": "spark", "data": [1, 2]}
