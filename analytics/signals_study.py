"""Each candidate signal's lift on the yardstick: Kith with it against Kith without it.

Same egos, dates and rows; the fold priors and the users' models are refitted with the
extra feature (its coefficient held to the sign in signals.SIGNAL_SIGNS or features.SIGNS).
Differences are paired, with intervals from the bootstrap over people. A signal is worth
keeping when its pooled and per-person AUC lifts are both above zero.
"""

from __future__ import annotations

from analytics.features import MODEL_FEATURES
from analytics.scorecard import lift, lift_line
from analytics.signals import SIGNAL_FEATURES, SIGNAL_SIGNS
from analytics.yardstick import Study

VARIANTS: tuple[tuple[str, tuple[str, ...]], ...] = tuple((s, (s,)) for s in SIGNAL_FEATURES) + (
    ("recency", ("recency",)),  # a Kith feature the model did not read
    ("recency+silence_ratio", ("recency", "silence_ratio")),
    ("all six signals", SIGNAL_FEATURES),
)


def print_lifts(study: Study, *, n_boot: int = 200) -> None:
    SIGNAL_SIGNS.setdefault("recency", -1)  # more silence never strengthens a tie
    base = study.evaluate()
    print("lift over Kith (variant - Kith), 95% intervals over people:")
    for name, extra in VARIANTS:
        features = MODEL_FEATURES + tuple(f for f in extra if f not in MODEL_FEATURES)
        print(lift_line(name, lift(base, study.evaluate(features), n_boot=n_boot)), flush=True)
