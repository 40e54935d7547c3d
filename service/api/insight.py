"""Insight routes: how right Kith has been on the user's own mail (service/ties/evidence.py).

GET /v1/insight/accuracy[?as_of=...]   Kith's calls 90 days before, checked since
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from fastapi import APIRouter

from ..ties import evidence
from .deps import Db, User, reading
from .ties import AsOf, parse_as_of

router = APIRouter(prefix="/v1/insight", tags=["insight"])


class StrongShare(BaseModel):
    ties: int = Field(description="Ties behind the claim.")
    in_touch: int = Field(description="Of them, ties you were in two-way touch with since.")
    share: float = Field(description="in_touch / ties.")
    expected: float | None = Field(
        None,
        description="How many of them Kith expected you to be in touch with: the sum of each tie's "
        "chance of two-way touch in the 90 days, as Kith gave it then (null for the recency list).",
    )


class QuietShare(BaseModel):
    ties: int = Field(description="Ties behind the claim.")
    went_quiet: int = Field(description="Of them, ties with no two-way touch since.")
    share: float = Field(description="went_quiet / ties.")


class StrongClaim(BaseModel):
    called: int = Field(description="Ties Kith called strong then (its tier).")
    kith: StrongShare | None = Field(
        description="The ties Kith called strong, or its 10 strongest when it called fewer; "
        "null when there is too little to judge."
    )
    recency: StrongShare | None = Field(description="As many ties, most recent first.")


class CoolingClaim(BaseModel):
    called: int = Field(description="Ties Kith flagged cooling then (shares only from 5 on).")
    kith: QuietShare | None = Field(description="Kith's cooling ties; null when too few to judge.")
    recency: QuietShare | None = Field(
        description="As many of the ties active in the 180 days before, longest silent first."
    )


class Accuracy(BaseModel):
    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "as_of": "2026-12-06T00:00:00Z",
                    "calls_as_of": "2026-09-07T00:00:00Z",
                    "enough_history": True,
                    "verdict": "ok",
                    "history_days": 612.5,
                    "ties_scored": 84,
                    "strong": {
                        "called": 10,
                        "kith": {"ties": 10, "in_touch": 8, "share": 0.8, "expected": 7.4},
                        "recency": {"ties": 10, "in_touch": 6, "share": 0.6},
                    },
                    "cooling": {"called": 2, "kith": None, "recency": None},
                    "summary": [
                        "Of the 10 ties Kith called strong on 7 September 2026, you were in touch with 8 since; "
                        "Kith had expected about 7. "
                        "A plain most-recent-first list got 6 of 10.",
                        "Kith flagged only 2 ties cooling on 7 September 2026: too few to tell how right that was.",
                        "In touch means mail both ways, or a meeting of at most five people.",
                    ],
                }
            ]
        }
    }
    as_of: str = Field(description="The moment asked about (now unless `as_of` is given).")
    calls_as_of: str = Field(description="When Kith's calls were made: 90 days before, from the mail before it.")
    enough_history: bool = Field(description="False when there is too little to judge; `summary` says why.")
    verdict: str = Field(description="ok | short_history | few_ties | no_mail_since")
    history_days: float = Field(description="Days of mail before calls_as_of.")
    ties_scored: int
    strong: StrongClaim
    cooling: CoolingClaim
    summary: list[str] = Field(description="The same, in plain sentences.")


@router.get(
    "/accuracy",
    response_model=Accuracy,
    summary="How right Kith has been on your mail",
    description="Kith's calls as of 90 days before `as_of` (default: now), made from the mail before "
    "then only, checked against what happened since, beside a plain most-recent-first ranking.",
)
def accuracy(user: User, db: Db, as_of: AsOf = None) -> dict:
    moment = parse_as_of(as_of)
    with reading(db) as conn:
        return evidence.as_json(evidence.accuracy(conn, user, moment))
