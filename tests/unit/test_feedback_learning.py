"""Feedback that learns (issue 15, item 5): the user's word moves the ties alike to the one
it was given on, in the synthetic world, and the layer behind it (analytics/feedback_layer.py).

The experiment: world seed 7 with 100 relationships. Its 20 medium_steady ties are given one
vendor's domain (the world draws domains at random, so a vendor is made here, as a user
would meet one: a score of people who mail alike). Five are marked "not a relationship".
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize

from analytics import score_ties
from analytics.feedback_layer import (
    AMPLITUDE,
    DOMAIN_AMPLITUDE,
    adjusted_logits,
    fit_layer,
    labels_of,
    logit,
    pinned,
    sigmoid,
)
from service.ties.feedback import domains_of

from tests.unit.test_analytics_world import world_exchanges, world_mod

VENDOR = "vendor.example"


@pytest.fixture(scope="module")
def world():
    w = world_mod.generate_world(7, contacts=100)
    exchanges, truth = world_exchanges(w)
    vendor = sorted(p for p, t in truth.items() if t.archetype == "medium_steady")[:20]
    assert len(vendor) == 20
    domains = {p: VENDOR for p in vendor}

    def score(feedback=None):
        return {s.contact: s for s in score_ties(exchanges, w.as_of, feedback=feedback, domains=domains)}

    base = score()
    marked, alike = vendor[:5], vendor[5:]
    after = score({p: "not_relationship" for p in marked})
    return {"truth": truth, "score": score, "base": base, "after": after, "marked": marked, "alike": alike}


def _strength(scores, people):
    return np.array([scores[p].strength for p in people])


def test_five_marks_move_the_other_fifteen_of_the_vendor_down(world):
    # Given 20 alike ties of one vendor, when 5 are marked "not a relationship"
    before, after = _strength(world["base"], world["alike"]), _strength(world["after"], world["alike"])
    print(f"15 unmarked vendor ties: mean strength {before.mean():.1f} -> {after.mean():.1f}")
    # Then every one of the other 15 goes down, by 10 points on average
    assert np.all(after < before - 1.0)
    assert before.mean() - after.mean() >= 10.0


def test_a_marked_tie_stays_where_the_user_put_it(world):
    # Given the 5 marked ties, then each is at half its base strength ...
    base, after = _strength(world["base"], world["marked"]), _strength(world["after"], world["marked"])
    assert np.allclose(after, np.round(base / 2, 1), atol=0.11)
    # ... whatever the other marks: marked alone, it is at the same place
    alone = world["score"]({world["marked"][0]: "not_relationship"})
    assert alone[world["marked"][0]].strength == world["after"][world["marked"][0]].strength


def test_untouched_ties_outside_the_pattern_barely_move(world):
    # Given every tie that is not the vendor's, when the 5 are marked
    others = [p for p in world["truth"] if p not in world["marked"] + world["alike"]]
    delta = np.abs(_strength(world["after"], others) - _strength(world["base"], others))
    print(f"{len(others)} ties outside the pattern: max |delta| {delta.max():.1f}, mean {delta.mean():.2f}")
    # Then none moves by more than 5 points (of 100), and on average well under 1
    assert delta.max() <= 5.0
    assert delta.mean() <= 1.0


def test_matters_on_one_raises_its_likes(world):
    # Given the world's weak, occasional ties, when the user says one of them matters
    truth, base = world["truth"], world["base"]
    weak = sorted(p for p, t in truth.items() if t.archetype == "weak_occasional")
    after = world["score"]({weak[0]: "matters"})
    likes = weak[1:]
    rise = _strength(after, likes) - _strength(base, likes)
    others = [p for p in truth if truth[p].archetype != "weak_occasional"]
    moved = np.abs(_strength(after, others) - _strength(base, others))
    print(
        f"matters on one: {len(likes)} likes {_strength(base, likes).mean():.1f} -> {_strength(after, likes).mean():.1f}"
    )
    # Then its likes rise (none falls), the closest ones by points, the rest barely move
    assert np.all(rise >= -0.05)
    assert rise.mean() >= 1.0 and rise.max() >= 3.0
    assert moved.max() <= 5.0 and moved.mean() <= 1.0
    # and the marked tie itself gains a quarter of its remainder
    assert after[weak[0]].strength == pytest.approx(base[weak[0]].strength * 0.75 + 25, abs=0.11)


def test_one_mark_moves_its_likes_less_than_five(world):
    # Given one vendor tie marked, then its likes move down, but less than with five marks
    one = world["score"]({world["marked"][0]: "not_relationship"})
    base = _strength(world["base"], world["alike"])
    drop_one = base - _strength(one, world["alike"])
    drop_five = base - _strength(world["after"], world["alike"])
    print(f"one mark: its 15 likes down {drop_one.mean():.1f} on average (max {drop_one.max():.1f})")
    assert np.all(drop_one > 0)
    assert drop_one.mean() <= 6.0 and drop_one.max() <= 10.0
    assert drop_five.mean() >= 2.5 * drop_one.mean()


def test_a_snooze_teaches_nothing(world):
    # Given 5 vendor ties snoozed, then no strength moves: "not now" is not "not close"
    snoozed = world["score"]({p: "snooze" for p in world["marked"]})
    every = sorted(world["truth"])
    assert np.array_equal(_strength(snoozed, every), _strength(world["base"], every))
    assert all(snoozed[p].deepen_rank is None for p in world["marked"])


def test_the_tie_says_what_the_word_did(world):
    # Given the 5 marks, then a marked tie says so, and a moved like says why it moved
    after = world["after"]
    assert "You marked this tie as not a relationship" in after[world["marked"][0]].explanation
    moved = [p for p in world["alike"] if world["base"][p].strength - after[p].strength >= 5]
    assert moved
    for p in moved:
        lines = [line for line in after[p].explanation if "similar ties" in line]
        assert lines and lines[0].startswith("Down ") and lines[0].endswith("as not a relationship")


# ---------------------------------------------------------------- the layer alone

_ties = st.integers(min_value=2, max_value=25)


@st.composite
def problems(draw, n_labels=st.integers(min_value=0, max_value=5), kinds=(0, 1)):
    n = draw(_ties)
    seed = draw(st.integers(min_value=0, max_value=2**31 - 1))
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 6)) * rng.uniform(0.1, 3.0, size=6)
    base = rng.normal(scale=2.0, size=n)
    k = min(draw(n_labels), n - 1)
    rows = rng.choice(n, size=k, replace=False).tolist()
    labels = {int(i): int(rng.choice(kinds)) for i in rows}
    domains = [rng.choice(["a.example", "b.example", None]) for _ in range(n)]
    return X, base, labels, domains


@settings(max_examples=60, deadline=None)
@given(problems(n_labels=st.just(0)))
def test_no_labels_change_nothing(problem):
    X, base, labels, domains = problem
    assert np.array_equal(adjusted_logits(X, base, labels, domains), base)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_labels_move_the_right_way(data):
    # Given labels all of one kind, then no unlabelled tie moves the other way
    kind = data.draw(st.sampled_from([0, 1]))
    X, base, labels, domains = data.draw(problems(kinds=(kind,)))
    delta = adjusted_logits(X, base, labels, domains) - base
    free = np.setdiff1d(np.arange(len(base)), list(labels))
    assert np.all(delta[free] <= 1e-12) if kind == 0 else np.all(delta[free] >= -1e-12)


@settings(max_examples=60, deadline=None)
@given(problems())
def test_movement_is_bounded_by_the_prior(problem):
    # Given n labels, then no unlabelled logit moves by more than n times the amplitudes
    X, base, labels, domains = problem
    delta = np.abs(adjusted_logits(X, base, labels, domains) - base)
    free = np.setdiff1d(np.arange(len(base)), list(labels))
    assert np.all(delta[free] <= len(labels) * (AMPLITUDE + DOMAIN_AMPLITUDE) + 1e-9)


@settings(max_examples=30, deadline=None)
@given(problems(n_labels=st.integers(min_value=1, max_value=5)))
def test_the_newton_mode_is_the_penalised_logistic_optimum(problem):
    # Given a problem, then the fitted correction is the minimum of the penalised
    # log-loss that a general optimiser finds (in the representer form f = K a)
    X, base, labels, domains = problem
    layer = fit_layer(X, base, labels, domains)
    rows = sorted(labels)
    y = np.array([labels[i] for i in rows], float)
    dom = [domains[i] for i in rows]
    K = layer.kernel(layer.z_labelled, layer.domains_labelled)

    def objective(a):
        f = K @ a
        zz = base[rows] + f
        return np.sum(np.logaddexp(0.0, zz) - y * zz) + 0.5 * a @ f, K @ (sigmoid(zz) - y) + f

    ref = K @ minimize(objective, np.zeros(len(rows)), jac=True, method="L-BFGS-B", options={"gtol": 1e-10}).x
    ours = layer.correction(X[rows], dom)
    assert np.allclose(ours, ref, atol=1e-4)


def test_marked_ties_are_pinned_by_the_rule():
    # Given a marked tie, then its adjusted logit is its pinned place, not the layer's
    X = np.arange(12.0).reshape(4, 3)
    base = np.array([0.0, 1.0, -1.0, 2.0])
    out = adjusted_logits(X, base, {0: 0, 3: 1})
    assert sigmoid(out[:1])[0] == pytest.approx(0.25)
    assert sigmoid(out[3:])[0] == pytest.approx(pinned(sigmoid(base[3:]), 1)[0])
    assert logit(np.array([0.5]))[0] == 0.0


def test_labels_from_feedback_leave_snooze_out():
    assert labels_of(np.array([4, 7, 9]), {4: "snooze", 7: "matters", 9: "not_relationship", 5: "matters"}) == {
        1: 1,
        2: 0,
    }


@pytest.mark.parametrize(
    "labels, domains, message",
    [
        ({0: 2}, None, "0 or 1"),
        ({5: 0}, None, "tie indices"),
        ({0: 0}, ["a.example"], "one entry"),
    ],
)
def test_bad_input_is_refused(labels, domains, message):
    with pytest.raises(ValueError, match=message):
        fit_layer(np.zeros((3, 2)), np.zeros(3), labels, domains)


def test_domains_of_names_organisations_only():
    # Given people at a vendor, at free mail, a colleague and one known by a legacy DN
    info = {
        1: {"primary": "ana@Vendor.example", "addresses": ["ana@vendor.example"], "colleague": False},
        2: {"primary": "bo@gmail.com", "addresses": ["bo@gmail.com", "bo@acme.example"], "colleague": False},
        3: {"primary": "cy@north.example", "addresses": ["cy@north.example"], "colleague": True},
        4: {"primary": "/o=north/cn=dee", "addresses": ["/o=north/cn=dee"], "colleague": False},
        5: {"primary": "ed@hotmail.co.uk", "addresses": ["ed@hotmail.co.uk"], "colleague": False},
    }
    # Then only organisations outside the user's own are named
    assert domains_of(info) == {1: "vendor.example", 2: "acme.example"}
