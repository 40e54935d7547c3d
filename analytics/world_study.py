"""Contact timing of real mail (Enron development data) next to the synthetic world's.

Kith issue 15: the world (ingest/sandbox/world/) must time its ties' contacts the way real
mail does, so that a model measured on it is steered toward what real mail rewards. This
study measures the same timing statistics on both, side by side. Today the world is more
regular than real mail on every timing row (see analytics/STATUS.md, "world timing"):


    .venv/bin/python -m analytics.world_study [--data DIR] [--seeds 3,5,7,11,13,17]

What is measured, identically on both sides. A *contact* is a message between the user
(ego) and one other person, either way, addressed to at most `MAX_AUDIENCE` people (so
broadcasts do not count), inside the last `SPAN_DAYS` days before the end of the data
(Enron: the development mail, which stops where the lockbox months begin; the world: its
`as_of`). A *tie* is an (ego, person) pair with at least `MIN_CONTACTS` contacts and at
least one each way. Per tie:

- ``B msg`` / ``B day``: burstiness ``(sd - mean) / (sd + mean)`` of the gaps between
  consecutive contacts (messages; distinct contact days), ties with >= 8 of them: -1 for a
  metronome, 0 for Poisson, towards 1 for bursts and long silences. ``CV day`` = sd/mean.
- ``long gaps``: share of contact-day gaps longer than 3x the tie's median gap.
- ``answer <1d``: share of contacts answered (a contact the other way) within 24 hours.
- ``lifetime``: days from first to last contact, as a share of the span; ``began late``:
  share of ties whose first contact is over 180 days into the span; ``quiet for good``:
  share whose last contact is over 180 days before the end.
- ``msgs/active month``: contacts in a month with any contact (mean over tie-months);
  ``active months``: share of the months of a tie's lifetime with any contact;
  ``month disp.``: variance/mean of monthly counts over the tie's lifetime (1 for Poisson);
  ``month autocorr.``: lag-1 correlation of those monthly counts (ties with >= 6 months):
  how much a month's pace carries into the next, which is what makes recency informative.

Enron is read through `analytics.lockbox.development_mail` / `development_egos` only: the
lockbox people and months are never read. Enron egos are the development employees with
at least 50 exchanges (`sample_egos`); the Enron data holds employee-to-employee mail only.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from analytics import lockbox as lb
from analytics.corpus import Mail, data_folder, load_edges, messages, people, sample_egos
from analytics.timeline import timeline

if TYPE_CHECKING:
    from ingest.sandbox.world import World

DAY = 86400.0
MONTH_DAYS = 30.44
SPAN_DAYS = 730
MAX_AUDIENCE = 5
MIN_CONTACTS = 5
MIN_GAPS = 8
Contacts = dict[object, list[tuple[float, bool]]]  # tie -> [(time, from ego)]


def burstiness(gaps: np.ndarray) -> float:
    mean, sd = float(np.mean(gaps)), float(np.std(gaps))
    return (sd - mean) / (sd + mean) if sd + mean > 0 else 0.0


def tie_rows(contacts: Contacts, start: float, end: float) -> list[dict[str, float]]:
    """The per-tie statistics (see the module docstring) of ties with enough contacts."""
    rows = []
    span = end - start
    for events in contacts.values():
        events = sorted(e for e in events if start <= e[0] < end)
        if len(events) < MIN_CONTACTS:
            continue
        t = np.array([e[0] for e in events])
        out = np.array([e[1] for e in events])
        if out.all() or not out.any():
            continue
        row: dict[str, float] = {}
        gaps = np.diff(t)
        days = np.unique(np.floor((t - start) / DAY))
        day_gaps = np.diff(days)
        if len(gaps) >= MIN_GAPS:
            row["B msg"] = burstiness(gaps)
        if len(day_gaps) >= MIN_GAPS:
            row["B day"] = burstiness(day_gaps)
            row["CV day"] = float(np.std(day_gaps) / np.mean(day_gaps))
            row["long gaps"] = float(np.mean(day_gaps > 3 * np.median(day_gaps)))
        answered = []
        for i in range(len(t)):
            later = (t > t[i]) & (t <= t[i] + DAY) & (out != out[i])
            answered.append(bool(later.any()))
        row["answer <1d"] = float(np.mean(answered))
        row["lifetime"] = float((t[-1] - t[0]) / span)
        row["began late"] = float(t[0] - start > 180 * DAY)
        row["quiet for good"] = float(end - t[-1] > 180 * DAY)
        month = np.floor((t - t[0]) / (MONTH_DAYS * DAY)).astype(int)
        counts = np.bincount(month)
        row["msgs/active month"] = float(np.mean(counts[counts > 0]))
        row["active months"] = float(np.mean(counts > 0))
        if len(counts) >= 3:
            row["month disp."] = float(np.var(counts)) / max(float(np.mean(counts)), 1e-9)
        if len(counts) >= 6 and np.std(counts[1:]) > 0 and np.std(counts[:-1]) > 0:
            row["month autocorr."] = float(np.corrcoef(counts[1:], counts[:-1])[0, 1])
        rows.append(row)
    return rows


STATS = (
    "B msg",
    "B day",
    "CV day",
    "long gaps",
    "answer <1d",
    "lifetime",
    "began late",
    "quiet for good",
    "msgs/active month",
    "active months",
    "month disp.",
    "month autocorr.",
)
SHARES = ("began late", "quiet for good")  # reported as means (shares of ties)


def summarise(rows: Sequence[dict[str, float]]) -> dict[str, tuple[float, float, float, int]]:
    """stat -> (median or share, 25th, 75th percentile, ties)."""
    out = {}
    for stat in STATS:
        values = np.array([r[stat] for r in rows if stat in r])
        if not len(values):
            continue
        centre = float(np.mean(values)) if stat in SHARES else float(np.median(values))
        out[stat] = (centre, float(np.percentile(values, 25)), float(np.percentile(values, 75)), len(values))
    return out


def enron_contacts(mail: Mail, egos: Iterable[int], span: int = SPAN_DAYS) -> list[tuple[Contacts, float, float]]:
    counts = np.diff(mail.offsets)
    owner = np.repeat(np.arange(len(mail)), counts)
    end = timeline(mail).lockbox_start
    start = end - span * DAY
    out = []
    for ego in egos:
        contacts: Contacts = defaultdict(list)
        for i in np.flatnonzero(mail.sender == ego).tolist():
            if counts[i] <= MAX_AUDIENCE:
                for r in mail.recipients[mail.offsets[i] : mail.offsets[i + 1]].tolist():
                    contacts[r].append((float(mail.time[i]), True))
        for i in np.unique(owner[mail.recipients == ego]).tolist():
            if counts[i] <= MAX_AUDIENCE:
                contacts[int(mail.sender[i])].append((float(mail.time[i]), False))
        out.append((contacts, start, end))
    return out


def world_contacts(world: World, span: int = SPAN_DAYS) -> tuple[Contacts, float, float]:
    """The user's contacts with each relationship of a world (noise and crowd left out)."""
    own = {a.lower() for a in world.own_addresses}
    owner = {a.lower(): address for address, tie in world.truth.items() if tie.is_relationship for a in tie.addresses}
    contacts: Contacts = defaultdict(list)
    seen = set()
    for m in world.messages:
        if m.is_draft or m.message_id in seen:
            continue
        seen.add(m.message_id)
        recipients = {a.lower() for _, a in m.recipients}
        if len(recipients) > MAX_AUDIENCE:
            continue
        sender = m.sender[1].lower()
        at = m.date.timestamp()
        if sender in own:
            for a in recipients - own:
                if a in owner:
                    contacts[owner[a]].append((at, True))
        elif sender in owner and recipients & own:
            contacts[owner[sender]].append((at, False))
    end = world.as_of.timestamp()
    return contacts, end - span * DAY, end


def measure_enron(data: str | None = None, span: int = SPAN_DAYS) -> list[dict[str, float]]:
    everything = messages(*load_edges(data_folder(data)))
    mail = lb.development_mail(everything)
    everyone = people(everything)
    egos = sample_egos(mail, lb.development_egos(everyone), len(everyone))
    rows = []
    for contacts, start, end in enron_contacts(mail, egos, span):
        rows.extend(tie_rows(contacts, start, end))
    return rows


def measure_world(seeds: Iterable[int], span: int = SPAN_DAYS) -> list[dict[str, float]]:
    from ingest.sandbox.world import generate_world

    rows = []
    for seed in seeds:
        rows.extend(tie_rows(*world_contacts(generate_world(seed), span)))
    return rows


def simple_rankers(world: World) -> dict[str, float]:
    """Spearman against the world's true strength of three rankings read off the mail alone
    (contacts as above, all relationships, no model): contacts in the last 90 days, recency
    (minus the days since the last contact) and a count decayed with a 30-day half-life.
    How much recency tells in a world is what its timing decides."""
    from scipy.stats import spearmanr

    contacts, _, end = world_contacts(world)
    people = sorted(a for a, t in world.truth.items() if t.is_relationship)
    truth = [world.truth[p].true_strength for p in people]
    out = {}
    times = [np.array([e[0] for e in contacts.get(p, [])]) for p in people]
    rankers = {
        "count 90d": [float(np.sum(t >= end - 90 * DAY)) for t in times],
        "recency": [-(end - t.max()) / DAY if len(t) else -1e9 for t in times],
        "decayed 30d": [float(np.sum(0.5 ** ((end - t) / (30 * DAY)))) for t in times],
    }
    for name, score in rankers.items():
        out[name] = float(spearmanr(score, truth).statistic)
    return out


def table(columns: dict[str, dict[str, tuple[float, float, float, int]]]) -> str:
    names = list(columns)
    lines = ["| statistic | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for stat in STATS:
        cells = []
        for name in names:
            got = columns[name].get(stat)
            if got is None:
                cells.append("-")
            elif stat in SHARES:
                cells.append(f"{got[0]:.3f} (n={got[3]})")
            else:
                cells.append(f"{got[0]:.3f} [{got[1]:.3f}, {got[2]:.3f}]")
        lines.append(f"| {stat} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m analytics.world_study")
    ap.add_argument("--data")
    ap.add_argument("--seeds", default="3,5,7,11,13,17")
    ap.add_argument("--span", type=int, default=SPAN_DAYS, help="days before the end that are read")
    args = ap.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s]
    enron = measure_enron(args.data, args.span)
    world = measure_world(seeds, args.span)
    print(f"last {args.span} days. Enron development: {len(enron)} ties; world seeds {seeds}: {len(world)} ties")
    print("median [25th, 75th percentile] over ties; shares are means over ties")
    print(table({"Enron (dev)": summarise(enron), "world": summarise(world)}))
    from ingest.sandbox.world import generate_world

    print("\nSpearman with the world's true strength of rankings read off the mail alone:")
    for seed in seeds:
        got = simple_rankers(generate_world(seed))
        print(f"seed {seed}: " + ", ".join(f"{k} {v:.3f}" for k, v in got.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
