"""How high issue 15's margin goals sit: what models that know the scored months' outcomes reach.

None of these can be deployed: each is fitted on the outcomes of the rows it scores (grouped
by person, five folds), which Kith never sees. If they do not reach a goal, no model on these
features will:

- **logistic**: a plain logistic regression on all of Kith's features;
- **boosting**: gradient-boosted trees on them (interactions and thresholds included);
- **boosting + scores**: the same, also given Kith's and the three baselines' scores;
- **personal**: per person, a logistic on the pooled logistic's score and the features, fitted
  on that person's own rows at the other dates (their neighbouring months' outcomes overlap
  the scored one's).

Each row gives the pooled AUC and its lead over the best baseline, the share of people whose
AUC is 0.02 above their own best baseline, and precision@10 against the decayed count's.

    .venv/bin/python -m analytics.backtest --data ../shared/data/enron-igraph --ceiling
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from analytics.metrics import auc, precision_at
from analytics.scorecard import BASELINES, _share_beating
from analytics.yardstick import FOLDS, Scored, Study

Row = tuple[str, float, float, float, float, float]  # name, AUC, lead, share of people, p@10, lead


def _logistic(C: float = 1.0) -> Pipeline:
    return make_pipeline(StandardScaler(), LogisticRegression(C=C, max_iter=3000))


def _boosting() -> HistGradientBoostingClassifier:
    return HistGradientBoostingClassifier(max_iter=300, learning_rate=0.05, random_state=0)


def _out_of_fold(make: Callable[[], object], X: np.ndarray, y: np.ndarray, ego: np.ndarray) -> np.ndarray:
    out = np.zeros(len(y))
    for train, test in GroupKFold(FOLDS).split(X, y, ego):
        model = make().fit(X[train], y[train])  # type: ignore[attr-defined]
        out[test] = model.predict_proba(X[test])[:, 1]
    return out


def _personal(base: np.ndarray, X: np.ndarray, y: np.ndarray, ego: np.ndarray, date: np.ndarray) -> np.ndarray:
    """Log-odds: the person's own fit where their other dates hold both outcomes, else the
    pooled chance `base` as log-odds (one scale for every row)."""
    p = np.clip(base, 1e-12, 1 - 1e-12)
    out: np.ndarray = np.log(p / (1 - p))
    F = np.column_stack([out, X])
    for e in np.unique(ego):
        mine = np.flatnonzero(ego == e)
        for d in np.unique(date[mine]):
            test, train = mine[date[mine] == d], mine[date[mine] != d]
            if len(np.unique(y[train])) == 2:
                out[test] = _logistic(0.1).fit(F[train], y[train]).decision_function(F[test])
    return out


def oracles(study: Study, s: Scored) -> dict[str, np.ndarray]:
    """Each oracle's score on the scored rows (in the order of `s`)."""
    X = np.concatenate([d.X for d in study.data])
    y, ego = s.label.astype(int), s.ego
    scores = np.column_stack([s.score[m] for m in ("kith", "recency", "decayed", "logistic")])
    with threadpool_limits(limits=1):
        logistic = _out_of_fold(_logistic, X, y, ego)
        out = {
            "logistic": logistic,
            "boosting": _out_of_fold(_boosting, X, y, ego),
            "boosting + scores": _out_of_fold(_boosting, np.column_stack([X, scores]), y, ego),
            "personal": _personal(logistic, X, y, ego, s.date),
        }
    return out


def rows(s: Scored, scores: dict[str, np.ndarray]) -> list[Row]:
    """Kith's row, then one per score in `scores`: the goals' three figures on the same rows."""
    y, every = s.label, np.arange(len(s.label))
    best = max(auc(s.score[m], y) for m in BASELINES)
    decayed = precision_at(s.score["decayed"], y, s.snapshot, ego=s.ego)
    out: list[Row] = []
    for name, score in {"Kith": s.score["kith"], **scores}.items():
        a, p = auc(score, y), precision_at(score, y, s.snapshot, ego=s.ego)
        out.append((name, a, a - best, _share_beating(s, every, s.ego, score), p, p - decayed))
    return out


def table(s: Scored, found: list[Row]) -> str:
    y = s.label
    best = max(BASELINES, key=lambda m: auc(s.score[m], y))
    possible = precision_at(y.astype(float), y, s.snapshot, ego=s.ego)
    lines = [
        "What knowing the outcome reaches (not deployable: fitted on the scored months' own outcomes)",
        f"best baseline {best} AUC {auc(s.score[best], y):.3f}; precision@10 decayed "
        f"{precision_at(s.score['decayed'], y, s.snapshot, ego=s.ego):.3f}, possible {possible:.3f}",
        f"{'':20s}{'AUC':>7s}{'lead':>8s}{'people +0.02':>14s}{'p@10':>7s}{'lead':>8s}",
    ]
    for name, a, lead, share, p, plead in found:
        lines.append(f"{name:20s}{a:7.3f}{lead:+8.3f}{share:14.0%}{p:7.3f}{plead:+8.3f}")
    return "\n".join(lines)
