"""Each candidate signal's lift on the yardstick, with intervals from the bootstrap over people.

Same egos, dates and rows; the fold priors and the users' models are refitted for each
variant (coefficients held to the signs in features.SIGNS or signals.SIGNAL_SIGNS).
For a signal the model reads, the lift is Kith against Kith without it; for one it does
not read, Kith with it against Kith. Differences are paired (same rows). A signal earns
its place when its pooled and per-person AUC lifts are above zero — and, for the model,
when it does not cost the synthetic world its Spearman (tests/unit/test_analytics_world.py).
"""

from __future__ import annotations

from analytics.features import PRIOR_FEATURES
from analytics.scorecard import Interval, lift, lift_line
from analytics.yardstick import Study

# name -> the features that make up the signal
CANDIDATES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("silence ratio + burstiness", ("silence_ratio", "burstiness")),
    ("silence cap (two_way_kept)", ("two_way_kept",)),
    ("contact pace cap (contact_kept)", ("contact_kept",)),
    ("decayed mail counts 30/90/365 d", ("mail_30", "mail_90", "mail_365")),
    ("recency (any contact)", ("recency",)),
    ("inbound recency", ("inbound_recency",)),
    ("attention share", ("attention_share",)),
    ("network overlap", ("network_overlap",)),
    ("introductions given+received", ("introductions_given", "introductions_received")),
    ("awaiting reply", ("awaiting_reply",)),
)


def lifts(study: Study, *, n_boot: int = 200) -> list[tuple[str, bool, dict[str, Interval]]]:
    """(signal, in the model?, lift intervals) for every candidate."""
    base = study.evaluate()
    out = []
    for name, feats in CANDIDATES:
        inside = set(feats) <= set(PRIOR_FEATURES)
        if inside:
            fewer = tuple(f for f in PRIOR_FEATURES if f not in feats)
            res = lift(study.evaluate(fewer), base, n_boot=n_boot)
        else:
            more = PRIOR_FEATURES + tuple(f for f in feats if f not in PRIOR_FEATURES)
            res = lift(base, study.evaluate(more), n_boot=n_boot)
        out.append((name, inside, res))
    return out


def print_lifts(study: Study, *, n_boot: int = 200) -> None:
    print("lift of each signal (with - without), 95% intervals over people; * = in the model:")
    for name, inside, res in lifts(study, n_boot=n_boot):
        print(lift_line(("* " if inside else "  ") + name, res), flush=True)
