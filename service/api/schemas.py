"""The API's request and response shapes (pydantic), with the examples the schema shows.

Request models forbid unknown fields and bound every string and list, so a client learns
at once about a typo and nobody can post a megabyte of addresses.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

# Request bodies take JSON's own types: 0 is not false, "4" is not 4 (the schema says so).
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StringConstraints
from pydantic.config import JsonDict

from .coverage import CoverageOut


Address = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+$"),
]
Domain = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, min_length=1, max_length=253, pattern=r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$"
    ),
]
Tier = Literal["strong", "medium", "weak", "fading"]
Flag = Literal["cooling", "dormant", "one_sided_you", "one_sided_them"]
SortKey = Literal[
    "-strength",
    "strength",
    "-reciprocity",
    "reciprocity",
    "-last_interaction",
    "last_interaction",
    "name",
    "-name",
    "deepen",
    "-deepen",
]

TIE_EXAMPLE: JsonDict = {
    "person_id": 42,
    "contact": "ana@example.org",
    "name": "Ana Ruiz",
    "addresses": ["ana@example.org", "ana.ruiz@work.example"],
    "strength": 74,
    "tier": "strong",
    "reciprocity": -31,
    "flags": ["cooling"],
    "last_interaction": "2026-10-02T14:03:00Z",
    "explanation": ["4 one-to-one meetings in the last 90 days"],
    "ledger": {"initiated_by_you": 5, "initiated_by_them": 9},
    "suggestion": "Ana has started most of your exchanges lately; write first this week.",
    "deepen_rank": 1,
    "colleague": False,
    "last_two_way": "2026-09-18T09:41:00Z",
    "two_way_rate": 1.4,
}


class Request_(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Tie(BaseModel):
    """A tie in the DESIGN shape, plus the person's id and the deepen suggestion."""

    model_config = ConfigDict(extra="allow", json_schema_extra={"examples": [TIE_EXAMPLE]})
    person_id: int
    contact: str
    name: str | None = None
    addresses: list[str]
    strength: float = Field(
        ge=0,
        le=100,
        description=(
            "The chance, in percent, of at least one personal two-way exchange (an answered message, "
            "or a meeting, with at most two people in it besides the two of you) with this person in the next four weeks"
        ),
    )
    tier: str
    reciprocity: int = Field(ge=-100, le=100)
    flags: list[str]
    last_interaction: str | None = Field(None, description="ISO 8601, UTC")
    explanation: list[str] = Field(
        description="Sentences about the tie. A tie to deepen (deepen_rank set) gives the reason it was "
        "picked first; then what its strength rests on, the largest part first; then its change over 30 days, the "
        "silence a cooling or dormant flag rests on, and what your feedback changed, when there are."
    )
    ledger: dict[str, Any]
    suggestion: str | None = Field(None, description="What to do about a tie to deepen; null for the others.")
    deepen_rank: int | None = Field(
        None, description="1 for the first tie to deepen this week; null when not on the list."
    )
    colleague: bool = False
    last_two_way: str | None = Field(
        None,
        description="ISO 8601, UTC: the last answer either way, or meeting of at most five people; "
        "null when there has been none (or the scoring predates this field).",
    )
    two_way_rate: float | None = Field(
        None,
        description="Personal two-way contacts a month (answered conversations and meetings), over the "
        "longest recent stretch, up to two years, in which the tie has kept a steady pace; null when the "
        "scoring predates this field.",
    )


class TiePage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [TIE_EXAMPLE],
                    "next_cursor": "eyJrIjoiNzQiLCJwIjo0Mn0",
                    "as_of": "2026-11-23T06:00:00Z",
                    "source": "snapshot",
                }
            ]
        }
    )
    items: list[Tie]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last.")
    as_of: datetime | None = Field(None, description="When these scores were computed for.")
    source: Literal["snapshot", "computed"]
    notice: str | None = Field(
        None,
        description="Set when your newest mail or meeting is more than 90 days old: the ties are then scored "
        "as of that day, not today, and this sentence says so.",
    )
    coverage: CoverageOut | None = Field(None, description="Provisional or final, and on what mail.")


class TimelineWeek(BaseModel):
    week: date = Field(description="Monday of the week (UTC)")
    email_out: int = 0
    email_in: int = 0
    meeting_out: int = 0
    meeting_in: int = 0


class HistoryPoint(BaseModel):
    as_of: str
    strength: float
    tier: str
    reciprocity: int
    flags: list[str]


class TieDetail(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "tie": TIE_EXAMPLE,
                    "timeline": [
                        {"week": "2026-09-28", "email_out": 2, "email_in": 3, "meeting_out": 0, "meeting_in": 1}
                    ],
                    "history": [
                        {
                            "as_of": "2026-11-23T06:00:00Z",
                            "strength": 74,
                            "tier": "strong",
                            "reciprocity": -31,
                            "flags": ["cooling"],
                        }
                    ],
                }
            ]
        }
    )
    tie: Tie
    timeline: list[TimelineWeek] = Field(
        description="One row per week, oldest first, kind x direction (out: the user sent or organised it)."
    )
    history: list[HistoryPoint]


class FeedbackIn(Request_):
    model_config = ConfigDict(json_schema_extra={"examples": [{"kind": "snooze", "until": "2027-01-15"}]})
    kind: Literal["not_relationship", "matters", "snooze"]
    until: date | None = Field(
        None, description="For `snooze`: hide the tie until this date (from today to a year ahead, in your time zone)."
    )


class FeedbackOut(BaseModel):
    id: int
    person_id: int
    kind: str
    until: date | None
    created_at: datetime


class Person(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"id": 42, "display_name": "Ana Ruiz", "addresses": [{"address": "ana@example.org", "source": "auto"}]}
            ]
        }
    )
    id: int
    display_name: str | None
    addresses: list[dict[str, str]]


class MergeIn(Request_):
    model_config = ConfigDict(json_schema_extra={"examples": [{"person_ids": [42, 57]}]})
    person_ids: list[StrictInt] = Field(min_length=2, max_length=50)


class SplitIn(Request_):
    model_config = ConfigDict(json_schema_extra={"examples": [{"addresses": ["ana.ruiz@work.example"]}]})
    addresses: list[Address] = Field(min_length=1, max_length=100)


class PersonRef(BaseModel):
    person_id: int


class Rule(Request_):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"kind": "domain", "value": "newsletters.example", "action": "block"}]},
    )
    kind: Literal["address", "domain"]
    value: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1, max_length=320)]
    action: Literal["allow", "block"]


class OrgDomains(Request_):
    model_config = ConfigDict(json_schema_extra={"examples": [{"domains": ["example.org"]}]})
    domains: list[Domain] = Field(max_length=50)


class DigestSettings(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "timezone": "Europe/Madrid",
                    "weekday": 0,
                    "hour": 8,
                    "enabled": True,
                    "quiet_mode": "note",
                    "snooze_until": None,
                }
            ]
        }
    )
    timezone: str
    weekday: int = Field(ge=0, le=6, description="0 = Monday")
    hour: int = Field(ge=0, le=23)
    enabled: bool
    quiet_mode: Literal["note", "skip"]
    snooze_until: date | None


class DigestSettingsIn(Request_):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"timezone": "Europe/Madrid", "weekday": 4, "hour": 17}]}
    )
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    weekday: StrictInt | None = Field(None, ge=0, le=6)
    hour: StrictInt | None = Field(None, ge=0, le=23)
    enabled: StrictBool | None = None
    quiet_mode: Literal["note", "skip"] | None = None
    snooze_until: date | None = None


class TokenIn(Request_):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "grafana"}]})
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] = "default"


class TokenInfo(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewToken(TokenInfo):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 7,
                    "name": "grafana",
                    "prefix": "kith_Q2x9aB",
                    "created_at": "2026-11-25T10:00:00Z",
                    "last_used_at": None,
                    "revoked_at": None,
                    "token": "kith_Q2x9aB...",
                }
            ]
        }
    )
    token: str = Field(description="Shown once; only its hash is kept.")


class Deleted(BaseModel):
    deleted: Literal[True]
    rows: dict[str, int] = Field(description="Rows removed, per table.")
