"""A stationary organisation's mail, for checking the yardstick where silence means nothing.

Each person writes to a fixed set of colleagues at fixed rates for three years: no tie
starts, fades or ends, and every gap between two messages is chance. So a flag that reads
silence as cooling cannot predict here (the flag gate must hide it), and the share of ties
in touch is high (about 0.6 of ties within 90 days, against Enron's 0.1), which tests the
calibration of the 90-day probability where compounding a weekly chance overstates it.

Recipe (seeded): `people` people, each with 15 colleagues whose weights are lognormal(0, 1.2);
`messages` messages spread uniformly from March 2015 to January 2018 (or over the `years`
before January 2018: `--years 6 --messages 400000` keeps the rates and starts everyone's
mail three years earlier), each from a sender
chosen with probability proportional to their total weight to one of their colleagues by
weight; each is answered within three days with probability 0.5. Written as the Enron
edition's CSV (`edges.csv`: sender_id, recipient_id, time, recipient_type, topic), so the
backtest reads it with `--data DIR`.

    .venv/bin/python -m analytics.stationary_org DIR [--people 300] [--messages 200000] [--seed 7]
        [--years YEARS]

The mailboxes all start on the first day of the mail. At the backtest's dates they are two
years old or less, and the decayed counts with long half-lives (mail_365, volume_long) are
still growing while each tie's rate stays fixed: Kith then overstates the chance of contact
(analytics/STATUS.md, session 16). With `--years 6` they are five years old at those dates.

Only our own generator: figures on it show what the code does under its assumptions, not
what holds on real mail.
"""

from __future__ import annotations

import argparse
import csv
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

START = datetime(2015, 3, 1, tzinfo=timezone.utc).timestamp()
END = datetime(2018, 1, 31, tzinfo=timezone.utc).timestamp()
COLLEAGUES = 15
WEIGHT_SIGMA = 1.2
REPLY_CHANCE = 0.5
REPLY_WITHIN = 3 * 86400.0


YEAR = 365.25 * 86400.0


def generate(people: int, messages: int, seed: int, years: float | None = None) -> list[tuple[int, int, float]]:
    """(sender, recipient, epoch seconds) rows, oldest first, from START (or `years` before
    END) to END."""
    if people <= COLLEAGUES:
        raise ValueError(f"needs more than {COLLEAGUES} people")
    rng = np.random.default_rng(seed)
    colleagues = np.stack(
        [rng.choice(np.delete(np.arange(people), p), COLLEAGUES, replace=False) for p in range(people)]
    )
    weights = rng.lognormal(0.0, WEIGHT_SIGMA, size=(people, COLLEAGUES))
    totals = weights.sum(axis=1)
    senders = rng.choice(people, size=messages, p=totals / totals.sum())
    start = START if years is None else END - years * YEAR
    if start >= END:
        raise ValueError("years must be more than 0")
    times = rng.uniform(start, END, size=messages)
    rows: list[tuple[int, int, float]] = []
    for s, t in zip(senders.tolist(), times.tolist()):
        r = int(colleagues[s][rng.choice(COLLEAGUES, p=weights[s] / totals[s])])
        rows.append((s, r, t))
        if rng.random() < REPLY_CHANCE:
            rows.append((r, s, t + rng.uniform(60.0, REPLY_WITHIN)))
    rows.sort(key=lambda row: row[2])
    return rows


def write(folder: Path, rows: list[tuple[int, int, float]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "edges.csv", "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["sender_id", "recipient_id", "time", "recipient_type", "topic"])
        for s, r, t in rows:
            when = datetime.fromtimestamp(int(t), tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
            out.writerow([s, r, when, "to", 0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--people", type=int, default=300)
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--years", type=float, help="the mail's span before January 2018 (default: from March 2015)")
    args = parser.parse_args(argv)
    rows = generate(args.people, args.messages, args.seed, args.years)
    write(args.folder, rows)
    print(f"{len(rows)} messages from {args.people} people written to {args.folder / 'edges.csv'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
