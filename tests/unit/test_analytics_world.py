"""Recovery of the synthetic world's known truth (ingest/sandbox/world/).

The adapter below stands in for identity resolution and noise filtering: every address of
a WorldPerson maps to one person id, the user's addresses to 0, and people whose truth
says they are not a relationship are dropped. Goals: Spearman(strength, true_strength)
>= 0.9 per world, and precision and recall >= 0.9 for each flag over the worlds.

Cooling is the exception, by the issue's rule that a flag which cannot clear its bar is
not shown (analytics/flag_gate.py): the world's truth calls a tie cooling when its pace
fell below 40% of the year before, even while the two are still in touch, and Kith shows
`cooling` only once such a tie has also gone quiet (rhythm.py), because on real mail a tie
that keeps writing at a lower pace does not go quiet. So the rate test (rhythm's
`rate_drop`) is held to precision and recall >= 0.9 against the truth's cooling, and the
shown flag to precision >= 0.9 (every tie it names is truly cooling); its recall is printed.
"""

from __future__ import annotations

import pytest
from scipy.stats import spearmanr

from analytics import Exchange, score_ties
from analytics.features import snapshot
from analytics.frame import build_frame
from analytics.rhythm import rhythm
from analytics.scoring import epoch

world_mod = pytest.importorskip("ingest.sandbox.world")
SEEDS = (3, 5, 7, 11, 13, 17)
GOAL = 0.9
# Issue 15 asks for Spearman >= 0.9 on all six seeds. Reached with the additive prior
# (analytics/STATUS.md): 0.921, 0.930, 0.909, 0.956, 0.915, 0.916 for seeds 3, 5, 7, 11, 13, 17;
# with the strength ranked by the blended score (no isotonic flats, sixth pass): 0.934,
# 0.921, 0.911, 0.957, 0.908, 0.924; with recency and network overlap in the prior and the
# blend weight chosen on the newest snapshots (session 10): 0.937, 0.917, 0.914, 0.957,
# 0.905, 0.905 (recency in the prior at the old fixed weight gave 0.889 on seed 17). The
# evidence bar of session 11 changed none of them: every world user's own model clears it
# (likelihood-ratio statistics 17-42 on these and eight other seeds, against 10.83).
REACHED: dict[int, float] = {}
FLAGS = ("cooling", "dormant", "one_sided_you", "one_sided_them")


def world_exchanges(world) -> tuple[list[Exchange], dict[int, object]]:
    own = {a.lower() for a in world.own_addresses}
    ids, truth = {}, {}
    for pid, (_, tie) in enumerate(sorted(world.truth.items()), start=1):
        if tie.is_relationship:
            truth[pid] = tie
            ids.update({a.lower(): pid for a in tie.addresses})

    def person(address):
        address = address.lower()
        return 0 if address in own else ids.get(address)

    out, seen = [], set()
    for m in world.messages:
        if m.is_draft or m.message_id in seen:
            continue
        seen.add(m.message_id)
        sender = person(m.sender[1])
        if sender is None:
            continue
        everyone = ({a.lower() for _, a in m.recipients} | {m.sender[1].lower()}) - own
        recipients = tuple(p for p in (person(a) for _, a in m.recipients) if p is not None)
        out.append(
            Exchange(
                m.date.timestamp(),
                "email",
                sender,
                recipients,
                thread=m.thread_id,
                key=m.message_id,
                reply_to=m.in_reply_to,
                audience=len(everyone),
            )
        )
    for event in world.events:
        for occ in event.instances(until=world.as_of):
            if occ.status == "cancelled" or event.status == "cancelled" or occ.all_day:
                continue
            attendees = [(person(a), a.lower(), r) for _, a, r in occ.attendees]
            organiser = person(occ.organizer[1])
            if organiser is None or any(p == 0 and r == "declined" for p, _, r in attendees):
                continue
            present = [(p, a) for p, a, r in attendees if r != "declined"]
            recipients = tuple(sorted({p for p, _ in present if p is not None and p != organiser}))
            audience = len({a for _, a in present} - own) or 1
            out.append(
                Exchange(
                    occ.start.timestamp(),
                    "meeting",
                    organiser,
                    recipients,
                    duration_s=(occ.end - occ.start).total_seconds(),
                    audience=audience,
                )
            )
    return out, truth


@pytest.fixture(scope="module")
def results():
    out = {}
    for seed in SEEDS:
        world = world_mod.generate_world(seed)
        exchanges, truth = world_exchanges(world)
        out[seed] = (truth, {s.contact: s for s in score_ties(exchanges, world.as_of)})
    return out


@pytest.fixture(scope="module")
def rate_drops(results):
    """Per world, the people whose pace fell (rhythm.rate_drop) at the world's as_of."""
    out = {}
    for seed in SEEDS:
        world = world_mod.generate_world(seed)
        exchanges, _ = world_exchanges(world)
        t = epoch(world.as_of)
        frame = build_frame(exchanges, t)
        rh = rhythm(frame, t, snapshot(frame, t).present)
        out[seed] = set(frame.contacts[rh.rate_drop].tolist())
    return out


def counts(results, said) -> tuple[int, int, int]:
    tp = fp = fn = 0
    for seed, (truth, got) in results.items():
        for person, tie in truth.items():
            s, real = said(seed, person, got), "cooling" in tie.flags
            tp += s and real
            fp += s and not real
            fn += real and not s
    return tp, fp, fn


def test_every_relationship_is_scored_and_noise_is_not(results):
    for truth, got in results.values():
        assert set(truth) <= set(got) and set(got) <= set(truth)


@pytest.mark.parametrize("seed", SEEDS)
def test_strength_ranks_ties_like_the_truth(results, seed):
    truth, got = results[seed]
    people = sorted(truth)
    rho = spearmanr([got[p].strength for p in people], [truth[p].true_strength for p in people]).statistic
    print(f"world {seed}: Spearman(strength, true_strength) = {rho:.3f} over {len(people)} ties")
    assert rho >= REACHED.get(seed, GOAL)


@pytest.mark.parametrize("flag", FLAGS)
def test_flags_have_precision_and_recall(results, flag):
    tp = fp = fn = 0
    for truth, got in results.values():
        for person, tie in truth.items():
            said, real = flag in got[person].flags, flag in tie.flags
            tp += said and real
            fp += said and not real
            fn += real and not said
    precision = tp / max(tp + fp, 1)
    recall = tp / max(tp + fn, 1)
    print(f"{flag}: precision {precision:.2f} recall {recall:.2f} (tp {tp}, fp {fp}, fn {fn})")
    assert tp + fn > 0, "the worlds must hold this flag"
    assert precision >= 0.9
    if flag != "cooling":  # see the module's docstring and the test below
        assert recall >= 0.9


def test_the_rate_test_finds_the_worlds_cooling_ties(results, rate_drops):
    """Given the truth's cooling ties (pace below 40% of the year before), then the rate
    test behind `cooling` finds them with precision and recall >= 0.9."""
    tp, fp, fn = counts(results, lambda seed, person, got: person in rate_drops[seed])
    print(
        f"rate test: precision {tp / max(tp + fp, 1):.2f} recall {tp / max(tp + fn, 1):.2f} (tp {tp}, fp {fp}, fn {fn})"
    )
    assert tp + fn > 0
    assert tp / max(tp + fp, 1) >= 0.9 and tp / max(tp + fn, 1) >= 0.9
