"""The dashboard's server-drawn SVG charts (pure functions)."""

from __future__ import annotations

import re
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
            "tier": "strong",
        }
        for i in range(n)
    ]


def test_scatter_has_one_linked_dot_per_tie_and_escapes_names():
    points = _points(3) + [
        {"person_id": 99, "label": '<script>alert(1)</script> "Eve"', "strength": 50, "reciprocity": 0, "tier": "weak"}
    ]
    svg = str(charts.scatter(points))
    assert svg.count("<circle") == 4
    assert svg.count('<a href="/ties/') == 4
    assert "<script>" not in svg and "&lt;script&gt;" in svg


@given(strength=st.floats(-50, 150), reciprocity=st.integers(-500, 500))
def test_scatter_keeps_every_dot_inside_the_plot(strength, reciprocity):
    svg = str(
        charts.scatter(
            [{"person_id": 1, "label": "x", "strength": strength, "reciprocity": reciprocity, "tier": "medium"}],
            width=640,
            height=420,
        )
    )
    cx, cy = (float(v) for v in re.search(r'cx="([-\d.]+)" cy="([-\d.]+)"', svg).groups())
    assert 48 <= cx <= 640 - 16 and 16 <= cy <= 420 - 44


def test_timeline_stacks_one_bar_per_nonzero_series_per_week():
    start = date(2026, 9, 7)
    weeks = [
        {
            "week": start + timedelta(weeks=k),
            "email_out": k % 2,
            "email_in": 1,
            "meeting_out": 0,
            "meeting_in": 2 if k == 3 else 0,
        }
        for k in range(4)
    ]
    svg = str(charts.timeline(weeks))
    assert svg.count('class="bar email_out"') == 2
    assert svg.count('class="bar email_in"') == 4
    assert svg.count('class="bar meeting_in"') == 1
    assert 'data-weeks="4"' in svg


def test_sparkline_is_empty_without_history_and_a_polyline_with_it():
    assert "polyline" not in str(charts.sparkline([]))
    line = str(charts.sparkline([{"strength": 10}, {"strength": 90}]))
    assert line.count(",") == 2 and "polyline" in line
