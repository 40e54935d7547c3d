"""The awaiting-reply signal's lift as a model feature, on the yardstick (development data).

Two definitions are measured against Kith without them, on the same egos, dates and rows
(analytics/yardstick.py; intervals from the bootstrap over people, scorecard.lift):

- `signals`: the column analytics/signals.py computes (the contact's last direct message
  went to at most three people, unanswered past the user's usual reply time);
- `awaiting`: analytics/awaiting.py's (the user on the To line, a conversation the contact
  opened, past the user's usual reply time for that person), from Enron's to/cc/bcc lines.

The second replaces the `awaiting_reply` column in every row the study scores and fits on
(the egos' rows, their own training sets and the pooled priors' rows); the baseline does
not read that column. The lockbox is never read here.

It also checks the ghosting guard's premise: active ties (two-way touch in the 180 days
before) where the user's last GUARD_RUN or more direct messages went unanswered, against
the other active ties and the active ties flagged cooling — their future two-way rate
(the yardstick's label), with intervals over people.

    .venv/bin/python -m analytics.awaiting_study [--data DIR] [--egos 30] [--boot 200]
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from analytics import lockbox as lb
from analytics.awaiting import GUARD_RUN, Timeline, awaiting_column
from analytics.corpus import Mail, data_folder, ego_exchanges, messages, people, prior_pool, sample_egos
from analytics.features import PRIOR_FEATURES, F
from analytics.frame import build_frame
from analytics.records import USER, Exchange
from analytics.metrics import bootstrap
from analytics.scorecard import fmt, lift, lift_line
from analytics.training import TrainingSet
from analytics.timeline import development_timeline
from analytics.yardstick import Study

Lines = dict[tuple[int, int], dict[int, str]]  # (sender, second) -> recipient -> to | cc | bcc


def load_lines(folder: Path) -> tuple[Mail, Lines]:
    """All mail (as backtest.load_edges and messages read it) and each recipient's line."""
    s: list[int] = []
    r: list[int] = []
    t: list[float] = []
    lines: Lines = {}
    with open(folder / "edges.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            at = datetime.fromisoformat(row["time"]).replace(tzinfo=timezone.utc).timestamp()
            sender, recipient = int(row["sender_id"]), int(row["recipient_id"])
            s.append(sender)
            r.append(recipient)
            t.append(at)
            line = lines.setdefault((sender, int(at)), {})
            if line.get(recipient) != "to":  # on To and Cc both: To
                line[recipient] = row["recipient_type"]
    return messages(np.array(s), np.array(r), np.array(t)), lines


def with_lines(exchanges: list[Exchange], ego: int, lines: Lines) -> list[Exchange]:
    """`ego_exchanges` output with `cc` set from the recipients' lines."""

    def employee(person: int) -> int:
        return ego if person == USER else person - 1

    out = []
    for x in exchanges:
        line = lines.get((employee(x.sender), int(x.at)), {})
        cc = tuple(p for p in x.recipients if line.get(employee(p), "to") != "to")
        out.append(replace(x, cc=cc))
    return out


def _set_column(ts: TrainingSet, contacts: np.ndarray, timeline: Timeline) -> None:
    """Overwrite the awaiting_reply column of a training set in place (rows: snapshot time,
    contact index into `contacts`)."""
    for s in np.unique(ts.time):
        rows = np.flatnonzero(ts.time == s)
        ts.X[rows, F["awaiting_reply"]] = awaiting_column(timeline, contacts[ts.contact[rows]].tolist(), float(s))


def install(study: Study, mail: Mail, lines: Lines) -> np.ndarray:
    """Replace the signals.py column with awaiting.py's everywhere the study reads it;
    return, per scored row (in `Study.evaluate` order), whether the tie is guarded."""
    guarded: list[np.ndarray] = []
    for d in study.data:
        exchanges = ego_exchanges(mail, d.ego)
        timeline = Timeline.of(with_lines(exchanges, d.ego, lines))
        rows_guarded = np.zeros(len(d.label), bool)
        for fit_at, ts in d.fits.items():
            _set_column(ts, build_frame(exchanges, fit_at).contacts, timeline)
        for j, t in enumerate(study.dates):
            rows = np.flatnonzero(d.date == j)
            if len(rows):
                contacts = build_frame(exchanges, t).contacts
                assert len(contacts) == len(rows)  # every contact seen before t has a row
                d.X[rows, F["awaiting_reply"]] = awaiting_column(timeline, contacts.tolist(), t)
                ghosted = timeline.guarded(t, GUARD_RUN)
                rows_guarded[rows] = [c in ghosted for c in contacts.tolist()]
        guarded.append(rows_guarded)
    cutoff = study.dates[0]
    for ego, ts in study.pool.items():
        exchanges = ego_exchanges(mail, ego)
        _set_column(ts, build_frame(exchanges, cutoff).contacts, Timeline.of(with_lines(exchanges, ego, lines)))
    return np.concatenate(guarded)


def _rate(y: np.ndarray, sel: np.ndarray) -> float:
    return float(y[sel].mean()) if sel.any() else float("nan")


def _rate_of(y: np.ndarray, sel: np.ndarray) -> Callable[[np.ndarray, np.ndarray], float]:
    """The bootstrap statistic: the label rate of the selected rows among those drawn."""
    return lambda rows, _copy: _rate(y[rows], sel[rows])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m analytics.awaiting_study")
    ap.add_argument("--data")
    ap.add_argument("--egos", type=int, default=30)
    ap.add_argument("--dates", type=int, default=10)
    ap.add_argument("--boot", type=int, default=200)
    args = ap.parse_args(argv)
    everything, lines = load_lines(data_folder(args.data))
    mail = lb.development_mail(everything)
    everyone = people(everything)
    dev = lb.development_egos(everyone)
    egos = sample_egos(mail, dev, args.egos)
    pool = prior_pool(mail, dev)
    dates = development_timeline(everything).development_dates()[-args.dates :]
    study = Study(mail, egos, dates, prior_egos=pool)
    with_feature = PRIOR_FEATURES + ("awaiting_reply",)
    base = study.evaluate()
    signals_variant = study.evaluate(with_feature)
    flagged = float(np.mean(np.concatenate([d.X[:, F["awaiting_reply"]] for d in study.data])))
    print(f"{len(study.data)} egos, {len(dates)} dates, prior pool {len(study.pool)} egos")
    print("lift over Kith (variant - Kith), 95% intervals over people:")
    print(
        lift_line("signals.awaiting_reply", lift(base, signals_variant, n_boot=args.boot)),
        f"(rows flagged {flagged:.3f})",
    )
    guarded = install(study, mail, lines)
    flagged = float(np.mean(np.concatenate([d.X[:, F["awaiting_reply"]] for d in study.data])))
    mine = study.evaluate(with_feature)
    print(lift_line("awaiting.awaiting_reply", lift(base, mine, n_boot=args.boot)), f"(rows flagged {flagged:.3f})")
    y, active, cooling = base.label, base.active, base.cooling
    g, other, cool = guarded & active, ~guarded & active, cooling & active
    print(
        f"ghosting guard: {int(g.sum())} active tie-months guarded (>= {GUARD_RUN} unanswered), "
        f"{int(other.sum())} other active, {int(cool.sum())} active flagged cooling; future two-way rate:"
    )
    for name, sel in (("guarded", g), ("other active", other), ("cooling", cool)):
        print(f"  {name:13s} {fmt(bootstrap(base.ego, _rate_of(y, sel), n=args.boot))}")
    ratio = bootstrap(base.ego, lambda r, c: _rate(y[r], g[r]) / max(_rate(y[r], other[r]), 1e-9), n=args.boot)
    print(f"  guarded / other active {fmt(ratio)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
