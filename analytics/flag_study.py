"""Do the flags predict? Cooling and dormant against the issue's bars, on development mail.

The flags need no strength model, so this reads every development employee with enough
mail (108 of the 145) at the 19 latest monthly development dates of the mail's timeline
(analytics/timeline.py; Enron: April 2000 to October 2001; each outcome window ends before
the lockbox months) — the yardstick's 30 people x 10 dates hold one tie
flagged dormant, too few to measure. Rows: (person, date, tie seen before the date).

- cooling ratio: future two-way rate (the next 90 days) of *active* ties (two-way in the
  180 days before) flagged cooling, over that of active ties flagged neither cooling nor
  dormant (scorecard.py's definition). Bar: <= 0.5.
- dormant ratio: revivals (two-way in the next 90 days) of ties flagged dormant, over the
  revivals expected if each had the average rate of the ties of the same person and date.
  Bar: <= 0.2. With few flags the ratio is not a measurement: it is reported with the
  expected count and an exact Poisson upper bound beside the bootstrap over people.

Every variant tried for the issue is in VARIANTS (each a criterion on the same rows).

    .venv/bin/python -m analytics.flag_study [--data DIR] [--boot 200]
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import numpy as np
from scipy.stats import chi2

from analytics import lockbox as lb
from analytics.corpus import Mail, ego_exchanges, people, sample_egos
from analytics.features import two_way_between
from analytics.frame import DAY, build_frame, seen_before
from analytics.metrics import bootstrap
from analytics.timeline import HORIZON, development_timeline, timeline
from analytics.rhythm import COOLING_QUIET_DAYS, COOLING_SILENCE, DORMANT_PEAK_DAYS, DORMANT_SILENCE, rhythm

ACTIVE = 180 * DAY
MIN_EXCHANGES = 50
COLUMNS = ("cooling", "rate_drop", "dormant", "silence", "ratio", "peak")


STUDY_DATES = 19


def study_dates(mail: Mail) -> list[float]:
    """The latest 19 monthly dates whose outcome windows end before the lockbox months."""
    return timeline(mail).development_dates(STUDY_DATES)


@dataclass
class Rows:
    ego: np.ndarray
    date: np.ndarray  # index into the dates
    label: np.ndarray  # two-way contact in the 90 days after
    active: np.ndarray
    col: dict[str, np.ndarray]  # COLUMNS, from rhythm()

    def take(self, rows: np.ndarray) -> Rows:
        return Rows(
            self.ego[rows],
            self.date[rows],
            self.label[rows],
            self.active[rows],
            {k: v[rows] for k, v in self.col.items()},
        )


def collect(mail: Mail, egos: Sequence[int], dates: Sequence[float]) -> Rows:
    lb.check_development(mail, egos, dates, HORIZON)
    parts: list[dict[str, np.ndarray]] = []
    for e in egos:
        exchanges = ego_exchanges(mail, int(e))
        if len(exchanges) < MIN_EXCHANGES:
            continue
        full = build_frame(exchanges, float("inf"))
        for j, t in enumerate(dates):
            frame = build_frame(exchanges, t)
            present = seen_before(frame, t)
            idx = np.flatnonzero(present)
            if not len(idx):
                continue
            rh = rhythm(frame, t, present)
            where = np.searchsorted(full.contacts, frame.contacts[idx])
            values = dict(cooling=rh.cooling, rate_drop=rh.rate_drop, dormant=rh.dormant)
            values.update(silence=rh.silence_days, ratio=rh.silence_ratio, peak=rh.peak_days)
            part = {k: np.asarray(v)[idx] for k, v in values.items()}
            part["ego"] = np.full(len(idx), int(e))
            part["date"] = np.full(len(idx), j)
            part["label"] = two_way_between(full, t, t + HORIZON)[where]
            part["active"] = two_way_between(frame, t - ACTIVE, t)[idx]
            parts.append(part)
    cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    return Rows(
        cat["ego"], cat["date"], cat["label"].astype(bool), cat["active"].astype(bool), {k: cat[k] for k in COLUMNS}
    )


def cooling_ratio(r: Rows, flag: np.ndarray, sel: np.ndarray) -> float:
    """Future rate of active flagged rows over active rows flagged neither this nor dormant."""
    f = flag[sel] & r.active[sel]
    ref = r.active[sel] & ~flag[sel] & ~r.col["dormant"][sel].astype(bool)
    if not f.any() or not ref.any():
        return float("nan")
    return float(r.label[sel][f].mean() / r.label[sel][ref].mean())


def dormant_counts(r: Rows, flag: np.ndarray, sel: np.ndarray, copy: np.ndarray | None = None) -> tuple[int, float]:
    """(revived, expected at the average tie's rate of the same person, date and draw)."""
    snap = (r.ego[sel] * 100 + r.date[sel]) * 1000 + (0 if copy is None else copy)
    _, inv = np.unique(snap, return_inverse=True)
    y = r.label[sel].astype(float)
    mean = np.bincount(inv, weights=y) / np.bincount(inv)
    d = flag[sel]
    return int(y[d].sum()), float(mean[inv][d].sum())


def poisson_upper(k: int, level: float = 0.95) -> float:
    return float(chi2.ppf(1 - (1 - level) / 2, 2 * (k + 1)) / 2)


@dataclass(frozen=True)
class Measure:
    flagged: int  # active flagged rows (cooling) or flagged rows (dormant)
    estimate: float
    low: float
    high: float
    revived: int = 0  # dormant only
    expected: float = 0.0  # dormant only: revivals expected at the average tie's rate


def measure_cooling(r: Rows, flag: np.ndarray, *, n_boot: int = 200) -> Measure:
    est, lo, hi = bootstrap(r.ego, lambda rows, c: cooling_ratio(r, flag, rows), n=n_boot)
    return Measure(int((flag & r.active).sum()), est, lo, hi)


def measure_dormant(r: Rows, flag: np.ndarray, *, n_boot: int = 200) -> Measure:
    def ratio(rows: np.ndarray, copy: np.ndarray) -> float:
        k, exp = dormant_counts(r, flag, rows, copy)
        return k / exp if exp > 0 else float("nan")

    est, lo, hi = bootstrap(r.ego, ratio, n=n_boot)
    k, exp = dormant_counts(r, flag, np.arange(len(r.label)))
    return Measure(int(flag.sum()), est, lo, hi, k, exp)


def variants(r: Rows) -> dict[str, tuple[str, np.ndarray]]:
    """name -> (kind, flag): the shipped criteria and every alternative tried."""
    c = r.col
    drop, sil, ratio, peak = c["rate_drop"].astype(bool), c["silence"], c["ratio"], c["peak"]
    out: dict[str, tuple[str, np.ndarray]] = {"cooling (shipped)": ("cooling", c["cooling"].astype(bool))}
    out["rate test alone (before)"] = ("cooling", drop)
    for x in (3.0, 8.0):
        out[f"rate test & ratio > {x:g}"] = ("cooling", drop & (ratio > x))
    for d in (60.0, 90.0):
        out[f"rate test & silent >= {d:g} days"] = ("cooling", drop & (sil >= d))
    out["rate test & ratio > 8 & silent >= 45 days"] = ("cooling", drop & (ratio > 8) & (sil >= 45))
    out["dormant (shipped)"] = ("dormant", c["dormant"].astype(bool))
    for days, pk in ((365.0, DORMANT_PEAK_DAYS), (365.0, 3.0), (180.0, DORMANT_PEAK_DAYS)):
        name = f"silent >= {days:g} days, peak >= {pk:g}, ratio > {DORMANT_SILENCE:g}"
        out[name] = ("dormant", (sil >= days) & (peak >= pk) & (ratio > DORMANT_SILENCE))
    return out


def slices(r: Rows, dates: Sequence[float]) -> dict[str, np.ndarray]:
    """Row selections for stability: time slices (each calendar year, the last one in
    halves; Enron: 2000 Apr-Dec, 2001 Jan-Jun, 2001 Jul-Oct) and two hashed halves of the
    people."""
    when = [datetime.fromtimestamp(d, timezone.utc) for d in dates]
    last = max(w.year for w in when)
    part = [str(w.year) if w.year < last else f"{w.year} {'H1' if w.month <= 6 else 'H2'}" for w in when]
    out: dict[str, np.ndarray] = {}
    for name in dict.fromkeys(part):  # in date order
        months = [w for w, p in zip(when, part) if p == name]
        label = f"{months[0].year} {months[0]:%b}-{months[-1]:%b}"
        out[label] = np.isin(r.date, [j for j, p in enumerate(part) if p == name])
    half = np.array([int(hashlib.sha256(f"kith-half-v1:{e}".encode()).hexdigest()[:8], 16) % 2 for e in r.ego])
    out["people A"] = half == 0
    out["people B"] = half == 1
    return out


def report(r: Rows, dates: Sequence[float], *, n_boot: int = 200) -> str:
    lines = [
        f"{len(np.unique(r.ego))} people, {len(dates)} dates, {len(r.label)} rows; "
        f"cooling = rate test & silence > {COOLING_SILENCE:g}x rhythm & >= {COOLING_QUIET_DAYS:g} days"
    ]
    cuts = slices(r, dates)
    for name, (kind, flag) in variants(r).items():
        if kind == "cooling":
            m = measure_cooling(r, flag, n_boot=n_boot)
            head = f"{name:44s} cooling ratio {m.estimate:.3f} [{m.low:.3f}, {m.high:.3f}] n={m.flagged}"
            parts = [f"{k} {cooling_ratio(r, flag, np.flatnonzero(v)):.2f}" for k, v in cuts.items()]
        else:
            m = measure_dormant(r, flag, n_boot=n_boot)
            bound = poisson_upper(m.revived) / m.expected if m.expected > 0 else float("nan")
            head = (
                f"{name:44s} dormant ratio {m.estimate:.3f} [{m.low:.3f}, {m.high:.3f}] n={m.flagged} "
                f"people={len(np.unique(r.ego[flag]))} revived={m.revived} expected={m.expected:.1f} "
                f"Poisson 95% upper {bound:.2f}"
            )
            parts = []
            for k, v in cuts.items():
                got, exp = dormant_counts(r, flag, np.flatnonzero(v))
                parts.append(f"{k} {got}/{exp:.1f}")
        lines.append(head + "\n" + " " * 46 + " | ".join(parts))
    return "\n".join(lines)


def development_rows(mail: Mail) -> tuple[Rows, list[float]]:
    dev_mail = lb.development_mail(mail)
    everyone = people(mail)
    egos = sample_egos(dev_mail, lb.development_egos(everyone), len(everyone), min_exchanges=MIN_EXCHANGES)
    dates = study_dates(mail)
    return collect(dev_mail, egos, dates), dates


Criterion = Callable[[Rows], np.ndarray]


def main(argv: list[str] | None = None) -> int:
    import argparse

    from analytics.corpus import data_folder, load_edges, messages

    ap = argparse.ArgumentParser(prog="python -m analytics.flag_study")
    ap.add_argument("--data")
    ap.add_argument("--boot", type=int, default=200)
    args = ap.parse_args(argv)
    everything = messages(*load_edges(data_folder(args.data)))
    development_timeline(everything)  # stops with the reason on a corpus too short for one
    rows, dates = development_rows(everything)
    print(report(rows, dates, n_boot=args.boot))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
