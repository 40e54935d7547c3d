"""Properties of the scores that must hold for any history (hypothesis)."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics import Exchange, score_ties
from analytics.frame import build_frame
from analytics.scoring import fit_strength_model
from tests.support.analytics import AS_OF, DAY, T_END, conversation, small_world

# One fitted model for the monotonicity property: "never lowers strength" is a statement
# about the model the user has, not about refitting it on the changed history.
MODEL = fit_strength_model(build_frame(small_world(), T_END), T_END)

conversations = st.lists(
    st.tuples(st.integers(1, 4), st.floats(1, 500), st.booleans(), st.booleans(), st.floats(0.1, 200)),
    min_size=1,
    max_size=40,
)


def history(spec) -> list[Exchange]:
    out = []
    for contact, days_ago, you_start, answered, hours in spec:
        out += conversation(
            contact, T_END - days_ago * DAY, you_start=you_start, answered=answered, answer_after=hours * 3600
        )
    return out


def strengths(exchanges, **kw) -> dict[int, float]:
    return {s.contact: s.strength for s in score_ties(exchanges, AS_OF, **kw)}


SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(conversations, st.integers(1, 4), st.floats(0.01, 500), st.booleans())
def test_an_extra_reply_from_the_contact_never_lowers_strength(spec, contact, days_ago, threaded):
    """Given any history and a fitted model, when the contact sends one more answer (to the
    user's latest earlier message, or a bare one), then that tie's strength does not fall."""
    base = small_world() + history(spec)
    at = T_END - days_ago * DAY
    earlier = [e for e in base if e.sender == 0 and contact in e.recipients and e.at < at and e.key]
    parent = max(earlier, key=lambda e: (e.at, e.key)).key if (earlier and threaded) else None
    extra = Exchange(at, "email", contact, (0,), key=f"extra-{at}", reply_to=parent)
    before = strengths(base, model=MODEL)
    after = strengths(base + [extra], model=MODEL)
    assert after[contact] >= before.get(contact, 0.0)


@SETTINGS
@given(conversations, st.randoms(use_true_random=False))
def test_results_do_not_depend_on_input_order(spec, rnd):
    exchanges = history(spec)
    shuffled = list(exchanges)
    rnd.shuffle(shuffled)
    assert score_ties(shuffled, AS_OF) == score_ties(exchanges, AS_OF)


@SETTINGS
@given(conversations, conversations)
def test_exchanges_after_as_of_change_nothing(spec, future):
    exchanges = history(spec)
    later = [
        Exchange(e.at + 501 * DAY, e.kind, e.sender, e.recipients, key=e.key and "f" + e.key) for e in history(future)
    ]
    assert score_ties(exchanges + later, AS_OF) == score_ties(exchanges, AS_OF)


def mirror(e: Exchange) -> Exchange:
    """The same one-to-one message written by the other side."""
    if e.sender == 0:
        return Exchange(e.at, e.kind, e.recipients[0], (0,), key=e.key, reply_to=e.reply_to)
    return Exchange(e.at, e.kind, 0, (e.sender,), key=e.key, reply_to=e.reply_to)


@SETTINGS
@given(conversations)
def test_balance_flips_sign_when_the_sides_are_swapped(spec):
    """Given one-to-one history, when every message is written by the other side instead,
    then every balance changes sign and one-sided flags swap."""
    exchanges = history(spec)
    plain = {s.contact: s for s in score_ties(exchanges, AS_OF)}
    swapped = {s.contact: s for s in score_ties([mirror(e) for e in exchanges], AS_OF)}
    assert plain.keys() == swapped.keys()
    flip = {"one_sided_you": "one_sided_them", "one_sided_them": "one_sided_you"}
    for contact, s in plain.items():
        assert swapped[contact].reciprocity == -s.reciprocity
        assert {flip[f] for f in s.flags if f in flip} == {f for f in swapped[contact].flags if f in flip}


def test_mirror_is_an_involution():
    rng = random.Random(3)
    exchanges = history([(rng.randint(1, 4), rng.uniform(1, 300), rng.random() < 0.5, True, 3.0) for _ in range(10)])
    assert [mirror(mirror(e)) for e in exchanges] == exchanges
