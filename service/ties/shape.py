"""The shape of a tie: the one declaration of its fields, from which Python and SQL are made.

A tie reaches its readers by two roads. The scorer builds it in Python (`tie_dict`, from an
analytics TieScore and the person's entry in the book of people) and keeps it whole as a
snapshot's payload. The API pages snapshots inside PostgreSQL, which renders each tie's
JSON itself (`TIE_TEXT`) so a page costs one statement and no per-tie parsing in Python
(tests/bench/bench_api.py measures it). Both roads are generated from FIELDS, so they
cannot drift apart; tests/db/test_ties_shape.py checks they agree on the same snapshot.

The first ten keys are the tie of DESIGN.md ("A tie, as the API and `kith ties --json`
report it", `DESIGN_KEYS`); the API adds person_id, suggestion, deepen_rank and colleague
(`KEYS`, service/api/schemas.py `Tie`), and `kith ties --json` prints the same (`public`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

from analytics import TieScore


def _rate(log1p_rate: float | None) -> float | None:
    """The model's `two_way_rate` feature (log1p of a monthly rate) as contacts a month."""
    if log1p_rate is None:
        return None
    return round(math.expm1(float(log1p_rate)), 2)


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# The whole strength a person is shown, from a score_snapshots row `s`. The column holds the
# model's strength unrounded, in double precision (migration 0016; whole numbers before), so
# that ties showing the same strength keep the model's order rather than person-id order.
SHOWN_STRENGTH = "round(coalesce((s.payload->>'strength')::numeric, s.strength::numeric))::int"


class Tie(dict):
    """A tie dict (its keys are the JSON) that also carries `exact`, the strength before
    rounding: it orders ties that show the same strength and is kept in
    score_snapshots.strength, never in what a reader is sent."""

    exact: float


@dataclass(frozen=True)
class Field:
    key: str
    python: Callable[[TieScore, Mapping], object]  # from the score and the person's entry
    sql: str  # from a score_snapshots row `s`: a column, or the payload (an older row may lack it)


FIELDS: tuple[Field, ...] = (
    Field(
        "contact",
        lambda s, p: p.get("primary") or (p.get("addresses") or [""])[0],
        "coalesce(s.payload->>'contact', '')",
    ),
    Field("name", lambda s, p: p.get("name"), "s.payload->'name'"),
    Field("addresses", lambda s, p: list(p.get("addresses") or []), "coalesce(s.payload->'addresses', '[]'::jsonb)"),
    Field("strength", lambda s, p: int(round(s.strength)), SHOWN_STRENGTH),
    Field("tier", lambda s, p: s.tier, "s.tier"),
    Field("reciprocity", lambda s, p: int(s.reciprocity), "s.reciprocity"),
    Field("flags", lambda s, p: list(s.flags), "to_jsonb(s.flags)"),
    Field("last_interaction", lambda s, p: _iso(s.last_interaction), "s.payload->'last_interaction'"),
    Field("explanation", lambda s, p: list(s.explanation), "coalesce(s.payload->'explanation', '[]'::jsonb)"),
    Field("ledger", lambda s, p: dict(s.ledger), "coalesce(s.payload->'ledger', '{}'::jsonb)"),
    Field("person_id", lambda s, p: s.contact, "s.person_id"),
    Field("suggestion", lambda s, p: s.suggestion, "s.payload->'suggestion'"),
    Field("deepen_rank", lambda s, p: s.deepen_rank, "s.payload->'deepen_rank'"),
    Field("colleague", lambda s, p: bool(p.get("colleague")), "coalesce((s.payload->>'colleague')::boolean, false)"),
    # The last answer either way or meeting of at most five (teams share its month).
    Field("last_two_way", lambda s, p: _iso(s.last_two_way), "s.payload->'last_two_way'"),
    # Personal two-way contacts a month over the longest stretch the tie has been steady
    # (teams band a tie by it: service/teams/ranking.py).
    Field("two_way_rate", lambda s, p: _rate(s.features.get("two_way_rate")), "s.payload->'two_way_rate'"),
)

KEYS: tuple[str, ...] = tuple(f.key for f in FIELDS)
DESIGN_KEYS: tuple[str, ...] = KEYS[:10]


def tie_dict(score: TieScore, person: Mapping) -> Tie:
    """The tie as the scorer keeps it in a snapshot and the API sends it."""
    tie = Tie((f.key, f.python(score, person)) for f in FIELDS)
    tie.exact = float(score.strength if score.strength_exact is None else score.strength_exact)
    return tie


def exact_strength(tie: Mapping) -> float:
    """The strength that orders ties: unrounded where the tie carries it, else as shown."""
    exact = getattr(tie, "exact", None)
    return float(exact if exact is not None else tie.get("strength") or 0)


def public(tie: Mapping) -> dict:
    """A tie dict cut to the API's keys (a payload may carry others), colleague as a bool."""
    return {k: tie.get(k) for k in KEYS} | {"colleague": bool(tie.get("colleague"))}


def design(tie: Mapping) -> dict:
    """The tie of DESIGN.md, in its order: what `kith ties --json` prints."""
    return {k: tie.get(k) for k in DESIGN_KEYS}


# The tie rebuilt from a score_snapshots row `s`.
TIE_JSON = "jsonb_build_object(\n    " + ",\n    ".join(f"'{f.key}', {f.sql}" for f in FIELDS) + ")"

# Payloads written by `tie_dict` already have every key: sent as stored, they cost Postgres
# half as much as rebuilding them. A payload missing a key (an older or hand-written row)
# is rebuilt from the row instead.
TIE_TEXT = (
    "(CASE WHEN s.payload ?& ARRAY[" + ", ".join(f"'{k}'" for k in KEYS) + "]"
    f" THEN s.payload ELSE {TIE_JSON} END)::text"
)
