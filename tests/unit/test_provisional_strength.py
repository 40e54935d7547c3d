"""Provisional strengths stay near the final ones (issue 17).

A first sync reads the calendars whole and the mail newest first, and Kith scores
provisionally once the last 180 days of mail are in (service.coverage). Its model learned
from snapshots before that edge, whose features saw the calendar without the mail their
labels then counted: its recalibration's intercept came out 0.41-0.51 above the final
one on these worlds (+1.2 at 200,000 messages against ~0), and one-sided ties, which the
world puts at 9-15, showed 13-19 points above their final strength on average (100 at
200,000 messages, where the world says 43-61). Told where the mail starts (`since`), the
model learns from no snapshot before it (analytics/training.py).

Each world here is the synthetic world's default (four years, ~5,500 exchanges), its mail
cut to the last 181 days as a provisional scoring sees it, through the adapter of
test_analytics_world.py. Measured (seeds 3, 7, 11), without `since` / with it: intercept
above the final +0.46 / +0.13, +0.41 / +0.09, +0.51 / +0.11; mean |provisional - final|
14.3 / 5.6, 15.1 / 5.7, 14.7 / 5.3 points; one-sided ties above final 13.3 / 0.4, 18.8 /
9.5, 16.0 / 4.7 points; ties at 100 provisionally 5 / 2, 4 / 1, 5 / 3 (finally 4, 2, 3).
With a tie's weeks taken to go together (session 15), at 100 provisionally 2, 2, 3 (finally
2, 2, 2): seed 11's third is a strong_steady tie at 99.6 provisionally and 99.4 finally.
"""

from __future__ import annotations

from itertools import pairwise

import pytest

from analytics import StrengthModel, score_ties
from analytics.frame import DAY, WEEK, build_frame
from analytics.training import HORIZON, training_set
from tests.unit.test_analytics_world import world_exchanges

world_mod = pytest.importorskip("ingest.sandbox.world")
MAIL_DAYS = 181  # the bench's provisional scoring sees the last 180 days whole


@pytest.fixture(scope="module", params=(3, 7, 11))
def scored(request):
    world = world_mod.generate_world(request.param)
    exchanges, truth = world_exchanges(world)
    as_of = world.as_of.timestamp()
    edge = as_of - MAIL_DAYS * DAY
    # What a provisional scoring has: the calendar whole, the mail since the edge.
    seen = [x for x in exchanges if x.at >= edge or x.kind != "email"]
    final_model, provisional_model = StrengthModel(), StrengthModel()
    final = score_ties(exchanges, as_of, model=final_model)
    provisional = score_ties(seen, as_of, model=provisional_model, since=edge)
    return truth, final, final_model, provisional, provisional_model


def test_the_provisional_recalibration_is_near_the_final_one(scored):
    _, _, final_model, _, provisional_model = scored
    a_final, _ = final_model.recal_
    a, b = provisional_model.recal_
    # Given the last 181 days of mail (and the calendar whole), told where the mail starts
    # Then the user's recalibration does not lift every tie: the intercept stays within
    # 0.25 of the final one (it was 0.41-0.51 above it) and the slope near 1
    assert abs(a - a_final) <= 0.25
    assert 0.9 <= b <= 1.1


def test_provisional_strengths_are_near_the_final_ones(scored):
    truth, final, _, provisional, _ = scored
    strength_of = {s.contact: s.strength for s in provisional}
    both = [s for s in final if s.contact in strength_of]
    assert len(both) >= 30
    gap = sum(abs(strength_of[s.contact] - s.strength) for s in both) / len(both)
    assert gap <= 8.0
    # One-sided ties (the world puts them at 9-15) are not lifted far above their final strength
    one_sided = [s for s in both if truth[s.contact].archetype.startswith("one_sided")]
    assert one_sided
    lift = sum(strength_of[s.contact] - s.strength for s in one_sided) / len(one_sided)
    assert lift <= 12.0
    # and no tie is lifted to 100: a tie shown at 100 provisionally is at 99 or more finally
    # (a count of ties at 100 on each side compared two strong_steady ties' 99.4 and 99.6
    # once a tie's weeks were taken to go together, analytics/horizon.py; session 15)
    final_of = {s.contact: s.strength for s in final}
    shown_full = [c for c, v in strength_of.items() if round(v) >= 100]
    assert all(final_of[c] >= 99.0 for c in shown_full)


def test_no_snapshot_is_taken_before_the_mail_starts():
    # Given the calendar whole for four years and the mail of the last 181 days
    world = world_mod.generate_world(7)
    exchanges, _ = world_exchanges(world)
    as_of = world.as_of.timestamp()
    edge = as_of - MAIL_DAYS * DAY
    seen = [x for x in exchanges if x.at >= edge or x.kind != "email"]
    frame = build_frame(seen, as_of)
    # When the training rows are drawn, told where the mail starts
    rows = training_set(frame, as_of, since=edge)
    # Then every snapshot has 30 days of whole mail before it and its 13 weeks after it,
    # a week apart (nine of them), where the history alone drew them back to the calendar's
    # start
    times = sorted(set(rows.time.tolist()))
    assert times[0] >= edge + 30 * DAY and times[-1] == as_of - HORIZON
    assert len(times) == 9 and all(b - a == WEEK for a, b in pairwise(times))
    assert min(training_set(frame, as_of).time) < edge - 365 * DAY
