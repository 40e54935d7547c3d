"""The yardstick's table: each method's figures with 95% intervals from a bootstrap over people.

pooled AUC          all (ego, date, tie) rows together
per-person AUC      mean over egos of each ego's AUC (its dates pooled)
beats baselines     share of egos whose Kith AUC is >= 0.02 above the best of the three
                    baselines *for that ego*
precision@10        share of each snapshot's ten top-scored ties in two-way contact after
precision@10        what a ranking that knew the outcome would reach: a snapshot with fewer
  possible          than ten ties in contact after holds no perfect top ten, so this, not
                    1, is the most any method can score
cooling ratio       future two-way rate of active ties flagged cooling / of active ties
                    not flagged (active: two-way contact in the 180 days before as_of), for
                    the flags shown: at each date the deployment's gate (flag_gate.decide)
                    is replayed with the run's people as its users, with the checks of
                    their mail of the months before (yardstick.gate_by_date)
cooling criterion   the same for the criterion, shown or not
rate-drop ratio     the same for the rate test alone (cooling before it also had to be
                    silent > 8x its rhythm and >= 60 days; rhythm.py)
dormant ratio       future two-way rate of ties flagged dormant / the rate of the same
                    users' average tie at the same dates (flags shown; "criterion": all)
ECE                 expected calibration error of the 90-day probability, latest 3 dates
ECE if calibrated   the ECE Kith's probabilities would score on the same rows were they
                    exactly right (outcomes drawn from them; median and 95% range of 200
                    draws): ECE is never 0 on a finite sample, and on a small one this
                    floor alone can be near 0.03
strength ECE        the same for strength's own claim: its chance (Kith: strength / 100;
                    the logistic: its weekly chance over four independent weeks) against
                    personal two-way contact in the four weeks after
"""

from __future__ import annotations

from typing import Any
from collections.abc import Callable

import numpy as np

from analytics.metrics import auc, bootstrap, ece, per_person, precision_at
from analytics.yardstick import METHODS, Scored

MARGIN = 0.02
BASELINES = ("recency", "decayed", "logistic")

# statistic(rows, copy) -> value, as `metrics.bootstrap` calls it.
Statistic = Callable[[np.ndarray, np.ndarray], float]
Interval = tuple[float, float, float]  # (estimate, low, high)


def _rows(s: Scored, rows: np.ndarray, copy: np.ndarray) -> np.ndarray:
    """Snapshot ids that keep bootstrap copies of one person apart."""
    ids: np.ndarray = s.snapshot[rows] * (int(copy.max()) + 1) + copy
    return ids


def measures(s: Scored) -> dict[str, Statistic]:
    """name -> statistic(rows, copy) for the bootstrap."""
    y = s.label

    def per_method(m: str) -> dict[str, Statistic]:
        score = s.score[m]
        return {
            f"auc {m}": lambda r, c: auc(score[r], y[r]),
            f"person auc {m}": lambda r, c: _mean_person(score[r], y[r], s.ego[r] * 1000 + c),
            f"precision@10 {m}": lambda r, c: precision_at(score[r], y[r], _rows(s, r, c), ego=s.ego[r] * 1000 + c),
        }

    def ece_of(p: np.ndarray) -> Statistic:
        return lambda r, c: ece(p[r][latest[r]], y[r][latest[r]])

    out: dict[str, Statistic] = {}
    for m in METHODS:
        out.update(per_method(m))
    out["beats baselines"] = lambda r, c: _share_beating(s, r, s.ego[r] * 1000 + c)
    known = y.astype(float)  # the outcome itself as the score: the ceiling of precision@10
    out["precision@10 possible"] = lambda r, c: precision_at(known[r], y[r], _rows(s, r, c), ego=s.ego[r] * 1000 + c)
    # The flags as shown (the deployment gate replayed, yardstick.gate_by_date); the
    # criteria's own ratios beside them, shown or not.
    cooling, dormant = s.shown_flag("cooling"), s.shown_flag("dormant")
    active_clear = s.active & ~cooling & ~dormant
    out["cooling rate"] = lambda r, c: _rate(y[r], (cooling & s.active)[r])
    out["active unflagged rate"] = lambda r, c: _rate(y[r], active_clear[r])
    out["cooling ratio"] = lambda r, c: _rate(y[r], (cooling & s.active)[r]) / _rate(y[r], active_clear[r])
    raw_clear = s.active & ~s.cooling & ~s.dormant
    out["cooling criterion ratio"] = lambda r, c: _rate(y[r], (s.cooling & s.active)[r]) / _rate(y[r], raw_clear[r])
    drop_clear = s.active & ~s.rate_drop & ~s.dormant
    out["rate-drop ratio"] = lambda r, c: _rate(y[r], (s.rate_drop & s.active)[r]) / _rate(y[r], drop_clear[r])
    out["dormant ratio"] = lambda r, c: _dormant_ratio(y[r], dormant[r], _rows(s, r, c))
    out["dormant criterion ratio"] = lambda r, c: _dormant_ratio(y[r], s.dormant[r], _rows(s, r, c))
    latest = s.date >= s.n_dates - 3
    for m, p in s.prob.items():
        out[f"ece {m}"] = ece_of(p)
    for m, p in s.prob4.items():  # strength's own claim: the next four weeks
        out[f"strength ece {m}"] = (lambda q: lambda r, c: ece(q[r][latest[r]], s.label4[r][latest[r]]))(p)
    return out


def _rate(y: np.ndarray, sel: np.ndarray) -> float:
    return float(y[sel].mean()) if sel.any() else float("nan")


def _mean_person(score: np.ndarray, y: np.ndarray, ego: np.ndarray) -> float:
    values = [v for v in per_person(score, y, ego).values() if np.isfinite(v)]
    return float(np.mean(values)) if values else float("nan")


def _share_beating(s: Scored, rows: np.ndarray, ego: np.ndarray, score: np.ndarray | None = None) -> float:
    """Share of people whose AUC with `score` (default: Kith's) is MARGIN above the best of
    the three baselines' for that person."""
    y = s.label[rows]
    kith = per_person((s.score["kith"] if score is None else score)[rows], y, ego)
    best: dict[int, float] = {}
    for m in BASELINES:
        for e, v in per_person(s.score[m][rows], y, ego).items():
            if np.isfinite(v):
                best[e] = max(best.get(e, -np.inf), v)
    egos = [e for e, v in kith.items() if np.isfinite(v) and np.isfinite(best.get(e, np.nan))]
    return float(np.mean([kith[e] >= best[e] + MARGIN for e in egos])) if egos else float("nan")


def _dormant_ratio(y: np.ndarray, dormant: np.ndarray, snap: np.ndarray) -> float:
    """Dormant ties' future rate against what the same snapshots' average tie did."""
    if not dormant.any():
        return float("nan")
    _, inv = np.unique(snap, return_inverse=True)
    mean = np.bincount(inv, weights=y.astype(float)) / np.bincount(inv)
    expected = mean[inv][dormant].sum()
    return float(y[dormant].sum() / expected) if expected > 0 else float("nan")


def summarise(s: Scored, *, n_boot: int = 200) -> dict[str, Any]:
    # Intervals by measure name, plus plain counts under "_counts": read by `table` only.
    out: dict[str, Any] = {name: bootstrap(s.ego, stat, n=n_boot) for name, stat in measures(s).items()}
    out["_counts"] = {
        "egos": int(len(np.unique(s.ego))),
        "rows": int(len(s.label)),
        "base rate": round(float(s.label.mean()), 3),
        "cooling flagged (active)": int((s.cooling & s.active).sum()),
        "cooling shown (active)": int((s.shown_flag("cooling") & s.active).sum()),
        "rate drop (active)": int((s.rate_drop & s.active).sum()),
        "dormant flagged": int(s.dormant.sum()),
        "dormant shown": int(s.shown_flag("dormant").sum()),
        "dormant revived": int((s.dormant & s.label).sum()),
    }
    latest = s.date >= s.n_dates - 3
    out["ece if calibrated"] = calibrated_ece(s.prob["kith"][latest])
    for flag in ("cooling", "dormant"):
        if flag in s.shown:
            out["_counts"][f"{flag} shown at dates"] = f"{int(s.shown[flag].sum())}/{len(s.shown[flag])}"
    return out


def calibrated_ece(prob: np.ndarray, *, n: int = 200, seed: int = 0) -> Interval:
    """(median, 2.5%, 97.5%) of the ECE of `prob` against outcomes drawn from `prob` itself:
    what an exactly calibrated forecast scores on rows like these, by chance alone."""
    if not len(prob):
        return (float("nan"),) * 3
    rng = np.random.default_rng(seed)
    draws = [ece(prob, rng.random(len(prob)) < prob) for _ in range(n)]
    return float(np.median(draws)), float(np.quantile(draws, 0.025)), float(np.quantile(draws, 0.975))


def lift(base: Scored, variant: Scored, *, n_boot: int = 200, method: str = "kith") -> dict[str, Interval]:
    """Paired AUC differences (variant - base) on the same rows, intervals over people."""
    y = base.label
    assert np.array_equal(y, variant.label) and np.array_equal(base.ego, variant.ego)
    a, b = base.score[method], variant.score[method]
    return {
        "pooled auc": bootstrap(base.ego, lambda r, c: auc(b[r], y[r]) - auc(a[r], y[r]), n=n_boot),
        "person auc": bootstrap(
            base.ego,
            lambda r, c: (
                _mean_person(b[r], y[r], base.ego[r] * 1000 + c) - _mean_person(a[r], y[r], base.ego[r] * 1000 + c)
            ),
            n=n_boot,
        ),
        "precision@10": bootstrap(
            base.ego,
            lambda r, c: (
                precision_at(b[r], y[r], _rows(base, r, c), ego=base.ego[r] * 1000 + c)
                - precision_at(a[r], y[r], _rows(base, r, c), ego=base.ego[r] * 1000 + c)
            ),
            n=n_boot,
        ),
    }


def fmt(value: Interval) -> str:
    est, lo, hi = value
    return f"{est:6.3f} [{lo:5.3f}, {hi:5.3f}]" if np.isfinite(est) else "   n/a"


def table(summary: dict[str, Any]) -> str:
    lines = [" ".join(f"{k} {v}" for k, v in summary["_counts"].items())]
    head = f"{'':16s}" + "".join(f"{m:>26s}" for m in METHODS)
    lines.append(head)
    for measure in ("auc", "person auc", "precision@10", "ece", "strength ece"):
        cells = [fmt(summary[f"{measure} {m}"]) if f"{measure} {m}" in summary else "n/a" for m in METHODS]
        lines.append(f"{measure:16s}" + "".join(f"{c:>26s}" for c in cells))
    for name in (
        "beats baselines",
        "precision@10 possible",
        "ece if calibrated",
        "cooling rate",
        "active unflagged rate",
        "cooling ratio",
        "cooling criterion ratio",
        "rate-drop ratio",
        "dormant ratio",
        "dormant criterion ratio",
    ):
        lines.append(f"{name:24s} {fmt(summary[name])}")
    return "\n".join(lines)


def lift_line(name: str, result: dict[str, Interval]) -> str:
    return f"{name:34s} " + "  ".join(f"{k} {fmt(v)}" for k, v in result.items())
