"""Fit the shipped prior on real Enron mail and write `analytics/prior.json`.

Each even-numbered employee in turn is the user (the odd ones are kept for the backtest),
with self-labelled snapshots whose 90-day label window ends before the timeline's prior
cutoff (analytics/timeline.py; Enron: 1 April 2001, the first date `analytics.backtest.run`
scores). The older snapshots fit StandardScaler +
LogisticRegression, the newer quarter fits the isotonic calibration curve. Only numbers
go into the JSON: means, scales, coefficients, the curve's knots and a few facts.

    .venv/bin/python -m analytics.prior [path/to/enron-igraph | --data DIR]
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from typing import Any
from collections.abc import Iterable
from itertools import pairwise

import numpy as np

from analytics.corpus import Mail, data_folder, ego_exchanges, load_edges, messages, people
from analytics.features import FEATURES, PRIOR_FEATURES
from analytics.frame import build_frame
from analytics.horizon import any_within, fit_dispersion, weeks_of_rows
from analytics.lockbox import development_egos
from analytics.logistic import _sigmoid, recalibration, young_recalibration
from analytics.model import PRIOR_PATH, PriorModel, PriorSpec, Young, _fit, additive_spec, base_pipeline, prior_spec
from analytics.timeline import development_timeline, timeline
from analytics.training import PERIODS, TrainingSet, pooled, training_set, young_set

PRIOR_C = 1.0  # inverse strength of the L2 pull on the prior's coefficients
# The prior is a monotone additive model (analytics/monotone.py): each feature's shape has
# up to PRIOR_KNOTS linear pieces, cut at quantiles of the pooled rows (0: a linear prior).
PRIOR_KNOTS = 6


def training_rows(mail: Mail, egos: Iterable[int], cutoff: float) -> TrainingSet:
    exchanges = (ego_exchanges(mail, int(e)) for e in egos)
    return pooled(
        [training_set(build_frame(ex, cutoff), cutoff, max_snapshots=18) for ex in exchanges if len(ex) >= 20]
    )


def young_rows(mail: Mail, egos: Iterable[int], cutoff: float) -> TrainingSet:
    """training.young_set's rows of each ego, pooled (labels end before `cutoff`; the
    prior's features only)."""
    exchanges = (ego_exchanges(mail, int(e)) for e in egos)
    sets = [young_set(ex, cutoff, only=PRIOR_FEATURES) for ex in exchanges if len(ex) >= 20]
    return pooled(sets)


def fit_prior(
    mail: Mail,
    egos: list[int],
    cutoff: float | None = None,
    calibration_share: float = 0.25,
    *,
    source: str = "enron-igraph",
) -> PriorSpec:
    cutoff = timeline(mail).prior_cutoff if cutoff is None else cutoff
    rows = training_rows(mail, egos, cutoff)
    meta: dict[str, Any] = {
        "source": source,
        "egos": len(egos),
        "cutoff": datetime.fromtimestamp(cutoff, timezone.utc).isoformat(),
    }
    spec = prior_from_rows(
        rows.X, rows.y, rows.weight, rows.time, meta, calibration_share=calibration_share, touched=rows.touched
    )
    return with_young(spec, young_rows(mail, egos, cutoff))


def prior_from_rows(
    X: np.ndarray,
    y: np.ndarray,
    w: np.ndarray,
    t: np.ndarray,
    meta: dict[str, Any],
    *,
    features: tuple[str, ...] = PRIOR_FEATURES,
    calibration_share: float = 0.25,
    C: float | None = None,
    knots: int = PRIOR_KNOTS,
    touched: np.ndarray | None = None,
) -> PriorSpec:
    """The prior spec from pooled training rows: the older snapshots fit the linear model,
    the newest `calibration_share` of them the isotonic curve, the dispersion of the weeks
    and (given each row's `touched`, TrainingSet.touched) the calibration of the 90-day
    chance of touch."""
    times = np.unique(t)
    cut = times[-max(1, int(round(len(times) * calibration_share)))]
    train, cal = t < cut, t >= cut
    cols = [FEATURES.index(n) for n in features]
    meta = {
        **meta,
        "rows": int(len(y)),
        "positive_weight": round(float(w[y == 1].sum()), 1),
        "total_weight": round(float(w.sum()), 1),
        "train_rows": int(train.sum()),
        "calibration_rows": int(cal.sum()),
    }
    if knots:
        spec = additive_spec(X, y, w, train, meta, features, PRIOR_C if C is None else C, knots)
    else:
        pipe = _fit(
            base_pipeline(C=PRIOR_C if C is None else C, features=features), X[train][:, cols], y[train], w[train]
        )
        spec = prior_spec(pipe, X[cal], y[cal], w[cal], meta, features=features)
    return with_horizon(spec, X[cal], y[cal], w[cal], None if touched is None else touched[cal])


def with_horizon(
    spec: PriorSpec, X: np.ndarray, y: np.ndarray, w: np.ndarray, touched: np.ndarray | None = None
) -> PriorSpec:
    """`spec` with what carries its weekly chance to longer horizons, fitted on its
    calibration rows (training.py's encoding) against the weekly chance a user's model gives
    them from the prior alone (the score recalibrated on those rows, as a user's newest
    snapshots recalibrate it): the concentration of the weekly chance across a tie's weeks
    (analytics/horizon.py; left out when the weeks come out independent) and, given
    `touched`, the calibration of the 90-day chance of touch (model.Touch). Rows not in
    that encoding add neither."""
    units = weeks_of_rows(y, w)
    if units is None:
        return spec
    unit, weeks = units
    z = PriorModel(spec).decision(X)
    recal = recalibration(_sigmoid(z), y, w)
    if recal is not None:
        z = recal[0] + recal[1] * z
    p = _sigmoid(z[unit])
    phi = fit_dispersion(p, weeks[unit])
    out: PriorSpec = {**spec, "meta": {**spec["meta"], "horizon_units": int(unit.sum())}}
    if np.isfinite(phi):
        out["dispersion"] = round(phi, 4)
    if touched is not None:
        fitted = recalibration(any_within(p, PERIODS, phi), touched[unit].astype(int), np.ones(int(unit.sum())))
        if fitted is not None:
            out["touch"] = {"a": round(fitted[0], 6), "b": round(fitted[1], 6)}
    return out


def with_young(spec: PriorSpec, young: TrainingSet) -> PriorSpec:
    """`spec` with its calibration for mailboxes too young to recalibrate on (PriorSpec.young),
    fitted on `young` (training.young_set's rows of the same people as the prior's)."""
    if not len(young.y):
        return spec
    p = _sigmoid(PriorModel(spec).decision(young.X))
    if young.history is None:
        plain = recalibration(p, young.y, young.weight)
        fitted = None if plain is None else (plain[0], plain[1], 0.0, 0.0)
    else:
        fitted = young_recalibration(p, young.history, young.y, young.weight)
    if fitted is None:
        return spec
    a, b, c, e = (round(v, 6) for v in fitted)
    young_spec: Young = {"a": a, "b": b, "c": c, "e": e}
    return {**spec, "young": young_spec, "meta": {**spec["meta"], "young_rows": int(len(young.y))}}


def feature_effects(spec: PriorSpec) -> list[float]:
    """Per feature: the coefficient of a linear prior, or the full rise (sum of its ramps'
    coefficients) of an additive one."""
    if "knots" not in spec:
        return list(spec["coef"])
    sizes = [max(len(k) - 1, 0) for k in spec["knots"]]
    ends = np.cumsum([0] + sizes)
    return [float(np.sum(spec["coef"][a:b])) for a, b in pairwise(ends.tolist())]


def main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m analytics.prior")
    ap.add_argument("folder", nargs="?", help="the corpus's folder (as --data)")
    ap.add_argument("--data", help="the corpus's folder (default: ../shared/data/enron-igraph)")
    args = ap.parse_args(sys.argv[1:] if argv is None else argv)
    folder = data_folder(args.data or args.folder)
    mail = messages(*load_edges(folder))
    development_timeline(mail)  # stops with the reason on a corpus too short for a prior cutoff
    # Even employees outside the lockbox (analytics/lockbox.py): the lockbox stays unread.
    spec = fit_prior(mail, [e for e in development_egos(people(mail)) if e % 2 == 0], source=folder.name)
    PRIOR_PATH.write_text(json.dumps(spec, indent=1) + "\n")
    print(f"wrote {PRIOR_PATH}: {spec['meta']}")
    print("  each feature's effect on the score, lowest value to highest (logit units):")
    for name, effect in sorted(zip(spec["features"], feature_effects(spec)), key=lambda p: -abs(p[1])):
        print(f"  {name:26s} {effect:+.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
