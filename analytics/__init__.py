"""Kith's relationship model: pure functions and estimators over exchanges and `as_of`.

    score_ties(exchanges, as_of) -> [TieScore]   strength, tier, reciprocity, flags, why
    ties_to_deepen(scores, limit) -> [TieScore]  the short list, with a suggested action

No database, HTTP or settings imports here; nothing at or after `as_of` is read.

The records are imported at once; the model and scoring (scikit-learn, SciPy: over a
second to import) on first use, so a reader of stored scores that only needs the records
never pays for them.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

from analytics.records import USER, Exchange, TieScore

if TYPE_CHECKING:
    from analytics.model import PriorModel, StrengthModel
    from analytics.scoring import score_ties, ties_to_deepen

__all__ = ["Exchange", "TieScore", "USER", "StrengthModel", "PriorModel", "score_ties", "ties_to_deepen"]

_LAZY = {
    "PriorModel": "analytics.model",
    "StrengthModel": "analytics.model",
    "score_ties": "analytics.scoring",
    "ties_to_deepen": "analytics.scoring",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'analytics' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
