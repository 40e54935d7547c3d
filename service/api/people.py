"""Routes for people (merge, split, suggestions), exclusions, allow/block rules and org domains.

Decisions live in `service.people`; this module checks ownership, maps its LookupError to
404 and ValueError to 422, and asks for a re-scoring so the change shows up in the ties.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query as Q
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from .. import people
from ..people import exclusion_pages
from .jobs import Queue
from .errors import documented
from .deps import Db, User
from .schemas import MergeIn, OrgDomains, Person, PersonRef, Rule, SplitIn

router = APIRouter(prefix="/v1", tags=["people"])

NOT_FOUND = documented(404)


class SuggestionDecision(BaseModel):
    accept: StrictBool


class RuleOut(BaseModel):
    kind: str
    value: str
    action: str
    created_at: Any = None


def _person(conn, user: int, person_id: int) -> dict:
    row = conn.execute(
        "SELECT id, display_name FROM people WHERE id = %s AND user_id = %s", (person_id, user)
    ).fetchone()
    if row is None:
        raise HTTPException(404, f"No person {person_id}.")
    addrs = conn.execute(
        "SELECT address, source FROM person_addresses WHERE user_id = %s AND person_id = %s ORDER BY address",
        (user, person_id),
    ).fetchall()
    return {"id": row[0], "display_name": row[1], "addresses": [{"address": a, "source": s} for a, s in addrs]}


@router.get("/people", response_model=list[Person], summary="People, by id")
def list_people(
    user: User, db: Db, after: Annotated[int, Q(ge=0, le=2**62)] = 0, limit: Annotated[int, Q(ge=1, le=200)] = 50
) -> list[dict]:
    with db.tx() as conn:
        rows = conn.execute(
            "SELECT p.id, p.display_name, coalesce(json_agg(json_build_object('address', a.address, 'source',"
            " a.source) ORDER BY a.address) FILTER (WHERE a.address IS NOT NULL), '[]') FROM people p"
            " LEFT JOIN person_addresses a ON a.person_id = p.id AND a.user_id = p.user_id"
            " WHERE p.user_id = %s AND p.id > %s GROUP BY p.id ORDER BY p.id LIMIT %s",
            (user, after, limit),
        ).fetchall()
    return [{"id": r[0], "display_name": r[1], "addresses": r[2]} for r in rows]


@router.get(
    "/people/merge-suggestions",
    response_model=list[dict[str, Any]],
    summary="Open suggestions to merge addresses into one person",
)
def merge_suggestions(user: User, db: Db, status: Literal["open", "accepted", "rejected"] = "open") -> list[dict]:
    with db.tx() as conn:
        return people.merge_suggestions(conn, user, status)[:200]


@router.post(
    "/people/merge-suggestions/{suggestion_id:int}",
    response_model=PersonRef | None,
    responses=NOT_FOUND,
    summary="Accept or reject a merge suggestion",
)
def decide_suggestion(
    suggestion_id: Annotated[int, Path(ge=1, le=2**62)], body: SuggestionDecision, user: User, db: Db, jobs: Queue
) -> dict | None:
    with db.tx() as conn:
        try:
            merged = people.resolve_suggestion(conn, user, suggestion_id, body.accept)
        except LookupError:
            raise HTTPException(404, f"No suggestion {suggestion_id}.") from None
    jobs.rescore(user)
    return {"person_id": merged} if merged is not None else None


@router.post(
    "/people/merge", response_model=PersonRef, responses=NOT_FOUND, summary="Merge people into one (the first id stays)"
)
def merge(body: MergeIn, user: User, db: Db, jobs: Queue) -> dict:
    ids = list(dict.fromkeys(body.person_ids))
    if len(ids) < 2:
        raise HTTPException(422, "Merge needs at least two different person ids.")
    with db.tx() as conn:
        for pid in ids:
            _person(conn, user, pid)
        target = people.merge_people(conn, user, ids)
    jobs.rescore(user)
    return {"person_id": target}


@router.get("/people/{person_id:int}", response_model=Person, responses=NOT_FOUND, summary="One person")
def get_person(person_id: Annotated[int, Path(ge=1, le=2**62)], user: User, db: Db) -> dict:
    with db.tx() as conn:
        return _person(conn, user, person_id)


@router.post(
    "/people/{person_id:int}/split",
    response_model=PersonRef,
    status_code=201,
    responses=NOT_FOUND,
    summary="Move some addresses of a person into a new person",
)
def split(person_id: Annotated[int, Path(ge=1, le=2**62)], body: SplitIn, user: User, db: Db, jobs: Queue) -> dict:
    with db.tx() as conn:
        _person(conn, user, person_id)
        try:
            new_id = people.split_person(conn, user, person_id, list(body.addresses))
        except LookupError as exc:
            raise HTTPException(422, f"Person {person_id} does not have all of these addresses.") from exc
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
    jobs.rescore(user)
    return {"person_id": new_id}


class Exclusion(BaseModel):
    address: str = Field(description="The address left out (or the sender of the mail left out).")
    person_id: int = Field(description="Its person; 0 for the user's own mail (a draft, a cancelled meeting).")
    reason: str = Field(description="Why, in words: a noise filter or one of your rules.")
    count: int = Field(description="How many interactions this reason left out for this address.")
    tie_kept: bool = Field(description="The person is still a tie through other interactions.")


class ExclusionPage(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "items": [
                        {
                            "address": "news@shop.example",
                            "person_id": 7,
                            "reason": "mailing list (List-Id header)",
                            "count": 12,
                            "tie_kept": False,
                        }
                    ],
                    "next_cursor": "WzEyLCJuZXdzQHNob3AuZXhhbXBsZSJd",
                }
            ]
        }
    )
    items: list[Exclusion]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last.")


@router.get(
    "/exclusions",
    response_model=ExclusionPage,
    responses=documented(400),
    summary="Contacts left out of the ties, and why (noise filters or your rules)",
    description="Biggest first (count, then address and reason), paged with a cursor as the ties are.",
)
def exclusions(
    user: User,
    db: Db,
    limit: Annotated[int, Q(ge=1, le=exclusion_pages.MAX_LIMIT)] = 50,
    cursor: Annotated[str | None, Q(max_length=2800, description="`next_cursor` of the previous page.")] = None,
) -> dict:
    with db.tx() as conn:
        try:
            page = exclusion_pages.exclusion_page(conn, user, limit=limit, cursor=cursor)
        except exclusion_pages.BadCursor as exc:
            raise HTTPException(400, str(exc)) from exc
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/rules", response_model=list[RuleOut], summary="Allow and block rules")
def list_rules(user: User, db: Db) -> list[dict]:
    with db.tx() as conn:
        return people.list_rules(conn, user)


@router.put(
    "/rules",
    response_model=RuleOut,
    summary="Allow or block an address or a domain",
    description="The user's word wins over every noise filter; applies from the next scoring.",
)
def put_rule(body: Rule, user: User, db: Db, jobs: Queue) -> dict:
    if "\x00" in body.value:
        raise HTTPException(422, "value: must not contain NUL characters.")
    with db.tx() as conn:
        try:
            rule = people.set_rule(conn, user, body.kind, body.value, body.action)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
    jobs.rescore(user)
    return rule


@router.delete("/rules/{kind}/{value}", status_code=204, responses=NOT_FOUND, summary="Remove a rule")
def delete_rule(
    kind: Literal["address", "domain"],
    value: Annotated[str, Path(max_length=320, pattern=r"^[^\x00]+$")],
    user: User,
    db: Db,
    jobs: Queue,
) -> None:
    with db.tx() as conn:
        if not people.delete_rule(conn, user, kind, value):
            raise HTTPException(404, f"No {kind} rule for {value!r}.")
    jobs.rescore(user)


@router.get("/org-domains", response_model=OrgDomains, summary="Your organisation's domains (colleagues)")
def get_org_domains(user: User, db: Db) -> dict:
    with db.tx() as conn:
        return {"domains": people.org_domains(conn, user)}


@router.put("/org-domains", response_model=OrgDomains, summary="Set your organisation's domains")
def put_org_domains(body: OrgDomains, user: User, db: Db, jobs: Queue) -> dict:
    with db.tx() as conn:
        try:
            domains = people.set_org_domains(conn, user, body.domains)
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from exc
    jobs.rescore(user)
    return {"domains": domains}
