"""What each step of the strength model costs or earns, on the yardstick and in the world.

Issue 15, sixth pass. Every variant is scored on the same development rows as the shipped
model (analytics/yardstick.py: same egos, dates, fold priors) and its lift is the paired
difference, with 95% intervals from the bootstrap over people; the world's Spearman
(tests/unit/test_analytics_world.py's measure, six seeds) is taken with the shipped prior.
The world's Spearman for each variant was measured with the same models passed to
`score_ties` (analytics/STATUS.md records the figures). Variants:
- the pipeline's steps off: no recalibration, the prior alone, the user's model alone,
  other prior weights (`prior_rows`);
- a per-user layer fitted on the user's own past with the prior's score as offset
  (`OffsetLayer`: logit p = a + c prior + sum_j b_j x_j, x standardised over the user's rows,
  b_j held to the features' signs, ridge pulls a -> 0, c -> 1, b -> 0), on the model's
  features and on every signed feature.

    .venv/bin/python -m analytics.model_study --data ../shared/data/enron-igraph --boot 100
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import minimize

from analytics.features import FEATURES, MODEL_FEATURES, SIGNS
from analytics.logistic import _sigmoid
from analytics.model import PriorModel, PriorSpec, StrengthModel
from analytics.scorecard import lift, lift_line
from analytics.yardstick import Study

EXTRA = tuple(n for n in SIGNS if n not in MODEL_FEATURES)


class OffsetLayer:
    """The user's layer on the prior's score (see the module docstring); fit and predict
    as StrengthModel, so the yardstick and score_ties can use it."""

    def __init__(
        self,
        prior: PriorSpec | None = None,
        layer: tuple[str, ...] = MODEL_FEATURES,
        pen_a: float = 20.0,
        pen_c: float = 20.0,
        pen_b: float = 1000.0,
    ) -> None:
        self.prior, self.layer = prior, layer
        self.pen_a, self.pen_c, self.pen_b = pen_a, pen_c, pen_b

    def fit(
        self, X: ArrayLike, y: ArrayLike, sample_time: ArrayLike | None = None, sample_weight: ArrayLike | None = None
    ) -> OffsetLayer:
        X = np.asarray(X, float)
        labels = np.asarray(y).astype(int)
        w = np.ones(len(labels)) if sample_weight is None else np.asarray(sample_weight, float)
        prior = PriorModel(self.prior) if self.prior is not None else PriorModel.load()
        if prior is None:
            raise ValueError("the offset layer needs a prior")
        self.prior_ = prior
        self.cols_ = np.array([FEATURES.index(n) for n in self.layer], int)
        k = len(self.cols_)
        self.mu_, self.sd_ = np.zeros(k), np.ones(k)
        self.theta_ = np.r_[0.0, 1.0, np.zeros(k)]
        if len(labels) == 0 or len(np.unique(labels[w > 0])) < 2:
            return self
        Z = X[:, self.cols_]
        self.mu_ = np.average(Z, axis=0, weights=w)
        sd = np.sqrt(np.average((Z - self.mu_) ** 2, axis=0, weights=w))
        self.sd_ = np.where(sd > 1e-6, sd, 1.0)
        D = np.column_stack([np.ones(len(labels)), prior.decision(X), (Z - self.mu_) / self.sd_])
        t = (labels == 1).astype(float)
        pen = np.r_[self.pen_a, self.pen_c, np.full(k, self.pen_b)]
        target = self.theta_.copy()

        def objective(th: NDArray[np.float64]) -> tuple[float, NDArray[np.float64]]:
            u = D @ th
            loss = float(np.sum(w * (np.logaddexp(0.0, u) - t * u)) + np.sum(pen * (th - target) ** 2))
            return loss, D.T @ (w * (_sigmoid(u) - t)) + 2 * pen * (th - target)

        signs = [SIGNS[n] for n in self.layer]
        bounds = [(None, None), (0.05, None)] + [(0.0, None) if s > 0 else (None, 0.0) for s in signs]
        self.theta_ = minimize(objective, target, jac=True, method="L-BFGS-B", bounds=bounds).x
        return self

    def decision_function(self, X: ArrayLike) -> NDArray[np.float64]:
        X = np.asarray(X, float)
        S = (X[:, self.cols_] - self.mu_) / self.sd_
        z: NDArray[np.float64] = self.theta_[0] + self.theta_[1] * self.prior_.decision(X) + S @ self.theta_[2:]
        return z

    def predict_proba(self, X: ArrayLike) -> NDArray[np.float64]:
        p = _sigmoid(self.decision_function(X))
        return np.stack([1 - p, p], axis=1)

    def contributions(self, X: ArrayLike) -> NDArray[np.float64]:
        X = np.asarray(X, float)
        out: NDArray[np.float64] = self.theta_[1] * self.prior_.contributions(X)
        out[:, self.cols_] += (X[:, self.cols_] - self.mu_) / self.sd_ * self.theta_[2:]
        return out


Make = Callable[[PriorSpec | None], object]
INF = float("inf")

VARIANTS: dict[str, Make] = {
    "no recalibration": lambda spec: StrengthModel(prior=spec, recalibrate=False),
    "prior alone": lambda spec: StrengthModel(prior=spec, blend_evidence=INF),
    "prior alone, no recalibration": lambda spec: StrengthModel(prior=spec, blend_evidence=INF, recalibrate=False),
    "user's model alone": lambda spec: StrengthModel(prior=spec, prior_rows=0.0, blend_pull=INF, blend_evidence=None),
    "blend weight n / (n + 2500) only": lambda spec: StrengthModel(prior=spec, blend_pull=INF, blend_evidence=None),
    "no evidence asked (session 10)": lambda spec: StrengthModel(prior=spec, blend_evidence=None),
    "evidence over 3.84": lambda spec: StrengthModel(prior=spec, blend_evidence=3.84),
    "blend pulled by 50 rows": lambda spec: StrengthModel(prior=spec, blend_pull=50.0),
    "prior_rows 1000": lambda spec: StrengthModel(prior=spec, prior_rows=1000.0),
    "prior_rows 3000": lambda spec: StrengthModel(prior=spec, prior_rows=3000.0),
    "offset layer, a c only": lambda spec: OffsetLayer(spec, ()),
    "offset layer, a c held (2000)": lambda spec: OffsetLayer(spec, (), pen_a=2000.0, pen_c=2000.0),
    "offset layer, model features, b 10": lambda spec: OffsetLayer(spec, MODEL_FEATURES, pen_b=10.0),
    "offset layer, model features, b 1000": lambda spec: OffsetLayer(spec, MODEL_FEATURES, pen_b=1000.0),
    "offset layer, a c held, model features, b 30": lambda spec: OffsetLayer(
        spec, MODEL_FEATURES, pen_a=2000.0, pen_c=2000.0, pen_b=30.0
    ),
    "offset layer, every signed feature, b 100": lambda spec: OffsetLayer(spec, MODEL_FEATURES + EXTRA, pen_b=100.0),
}


def main(argv: list[str] | None = None) -> int:
    import argparse

    from analytics import lockbox as lb
    from analytics.corpus import data_folder, load_edges, messages, people, prior_pool, sample_egos
    from analytics.metrics import auc, ece
    from analytics.timeline import development_timeline

    ap = argparse.ArgumentParser(prog="python -m analytics.model_study")
    ap.add_argument("--data")
    ap.add_argument("--egos", type=int, default=30)
    ap.add_argument("--boot", type=int, default=100)
    args = ap.parse_args(argv)
    everything = messages(*load_edges(data_folder(args.data)))
    span = development_timeline(everything)
    mail = lb.development_mail(everything)
    everyone = people(everything)
    dev = lb.development_egos(everyone)
    egos = sample_egos(mail, dev, args.egos)
    study = Study(
        mail,
        egos,
        span.development_dates(),
        prior_egos=prior_pool(mail, dev),
    )
    shipped = study.evaluate()
    latest = shipped.date >= shipped.n_dates - 3
    y = shipped.label
    print(
        f"shipped: pooled AUC {auc(shipped.score['kith'], y):.3f}, ECE {ece(shipped.prob['kith'][latest], y[latest]):.3f}"
    )
    print("lift of each variant over the shipped model (variant - shipped), 95% intervals over people:")
    for name, make in VARIANTS.items():
        scored = study.evaluate(user_model=lambda spec, feats, make=make: make(spec))  # type: ignore[misc]
        e = ece(scored.prob["kith"][latest], y[latest])
        print(f"{lift_line(name, lift(shipped, scored, n_boot=args.boot))}  ECE {e:.3f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
