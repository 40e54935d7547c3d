"""Kith's relationship model: pure functions and estimators over exchanges and `as_of`.

    score_ties(exchanges, as_of) -> [TieScore]   strength, tier, reciprocity, flags, why
    ties_to_deepen(scores, limit) -> [TieScore]  the short list, with a suggested action

No database, HTTP or settings imports here; nothing at or after `as_of` is read.
"""

from analytics.model import PriorModel, StrengthModel
from analytics.records import USER, Exchange, TieScore
from analytics.scoring import score_ties, ties_to_deepen

__all__ = ["Exchange", "TieScore", "USER", "StrengthModel", "PriorModel", "score_ties", "ties_to_deepen"]
