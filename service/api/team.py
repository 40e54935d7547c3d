"""Routes for teams (`/v1/team/...`): teams and members, invitations, sharing, who knows
whom, an organisation's reach, key-person risk, introduction requests.

Decisions live in `service.teams`; this module maps its errors to statuses: LookupError
404 (a team the caller is not in, or does not share in, is not found), PermissionError
403, FileExistsError 409, ValueError 422, InvitationRefused its own 4xx. `install` adds
these routes and the dashboard's team page to the app (one line in app.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Literal, TypeVar

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Path, Query as Q
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StrictBool

from ..teams import answers, introductions, invitations, membership, ranking
from .deps import Config, Db, User, known_query_only, reading
from .errors import documented

router = APIRouter(prefix="/v1/team", tags=["team"])
TeamId = Annotated[int, Path(ge=1, le=2**62)]
T = TypeVar("T")
Band = Literal["strong", "medium", "weak"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TeamIn(Strict):
    name: str = Field(min_length=1, max_length=80)


class InviteIn(Strict):
    email: str = Field(min_length=3, max_length=320)


class JoinIn(Strict):
    token: str = Field(min_length=1, max_length=200)


class SharingIn(Strict):
    share: StrictBool


class AskIn(Strict):
    member: int = Field(ge=1, le=2**62, description="The teammate asked (a user_id from who-knows).")
    contact: str = Field(min_length=3, max_length=320)
    note: str = Field(default="", max_length=1000)


class Member(BaseModel):
    user_id: int
    name: str
    email: str


class Known(BaseModel):
    member: Member
    band: Band = Field(description=ranking.BAND_MEANING)
    month: str | None = Field(description="YYYY-MM of the last two-way contact; null when none is known.")


class WhoKnows(BaseModel):
    kind: Literal["address", "domain", "person"]
    value: str = Field(description="The address or domain asked about, or the person id.")
    known_by: list[Known]


class Reachable(BaseModel):
    contact: str
    ask: Member
    band: Band = Field(description=ranking.BAND_MEANING)
    month: str | None


class Reach(BaseModel):
    domain: str
    people: list[Reachable]


class Risk(BaseModel):
    domain: str
    only: Member
    band: Literal["strong"] = Field(description=ranking.BAND_MEANING)
    month: str | None


class Risks(BaseModel):
    organisations: list[Risk]


class Invitation(BaseModel):
    team_id: int
    email: str
    token: str
    expires_at: datetime


def _fail(status: int, exc: Exception) -> HTTPException:
    return HTTPException(status, str(exc) or "Not allowed.")


@contextmanager
def _mapped() -> Iterator[None]:
    try:
        yield
    except invitations.InvitationRefused as exc:
        raise _fail(exc.status, exc) from None
    except LookupError as exc:
        raise _fail(404, exc) from None
    except PermissionError as exc:
        raise _fail(403, exc) from None
    except FileExistsError as exc:
        raise _fail(409, exc) from None
    except ValueError as exc:
        raise _fail(422, exc) from None


def _run(db, fn: Callable[..., T], *args, **kwargs) -> T:
    with _mapped(), db.tx() as conn:
        return fn(conn, *args, **kwargs)


def _read(db, fn: Callable[..., T], *args, **kwargs) -> T:
    """A read in autocommit: each statement its own snapshot, no BEGIN/COMMIT round trips."""
    with _mapped(), reading(db) as conn:
        return fn(conn, *args, **kwargs)


@router.post("", status_code=201, summary="Create a team (you are its owner; sharing starts off)")
def create(body: TeamIn, user: User, db: Db) -> dict:
    team_id = _run(db, membership.create_team, user, body.name)
    return _run(db, membership.team, team_id, user)


@router.get("", summary="Your teams")
def mine(user: User, db: Db) -> list[dict]:
    return _run(db, membership.my_teams, user)


@router.get("/{team_id:int}", responses=documented(404), summary="A team: its roster and your sharing")
def one(team_id: TeamId, user: User, db: Db) -> dict:
    return _run(db, membership.team, team_id, user)


@router.post(
    "/{team_id:int}/invitations",
    status_code=201,
    response_model=Invitation,
    responses=documented(403, 404),
    summary="Invite an address (owner only): a signed token, valid 7 days, single use",
)
def invite(team_id: TeamId, body: InviteIn, user: User, db: Db, settings: Config) -> dict:
    return _run(db, invitations.invite, settings.secret(), team_id, user, body.email)


@router.post("/join", responses=documented(400, 403, 410), summary="Join a team with an invitation token")
def join(body: JoinIn, user: User, db: Db, settings: Config) -> dict:
    team_id = _run(db, invitations.accept, settings.secret(), body.token, user)
    return _run(db, membership.team, team_id, user)


@router.put(
    "/{team_id:int}/sharing", responses=documented(404), summary="Share your ties' bands with the team, or stop"
)
def sharing(team_id: TeamId, body: SharingIn, user: User, db: Db) -> dict:
    shared = _run(db, membership.set_sharing, team_id, user, body.share)
    return {"team_id": team_id, "sharing": body.share, "shared_ties": shared}


@router.delete("/{team_id:int}/members/me", responses=documented(404), summary="Leave (what the team held goes)")
def leave(team_id: TeamId, user: User, db: Db) -> dict:
    _run(db, membership.leave, team_id, user)
    return {"team_id": team_id, "left": True}


@router.delete(
    "/{team_id:int}/members/{member_id:int}", responses=documented(403, 404), summary="Remove a member (owner only)"
)
def remove(team_id: TeamId, member_id: Annotated[int, Path(ge=1, le=2**62)], user: User, db: Db) -> dict:
    _run(db, membership.remove, team_id, user, member_id)
    return {"team_id": team_id, "removed": member_id}


@router.get(
    "/{team_id:int}/who-knows",
    response_model=WhoKnows,
    responses=documented(404),
    summary="Sharing teammates who know an address, a person of yours, or someone at a domain",
)
def who_knows(
    team_id: TeamId,
    user: User,
    db: Db,
    address: Annotated[str | None, Q(max_length=320)] = None,
    domain: Annotated[str | None, Q(max_length=253)] = None,
    person: Annotated[int | None, Q(ge=1, le=2**62, description="A person id of your own book")] = None,
) -> dict:
    return _read(db, answers.who_knows, team_id, user, address=address, domain=domain, person=person)


@router.get(
    "/{team_id:int}/orgs/{domain}",
    response_model=Reach,
    responses=documented(404),
    summary="An organisation's people reachable through the team, and who to ask for each",
)
def org(team_id: TeamId, domain: Annotated[str, Path(max_length=253)], user: User, db: Db) -> Response | Reach:
    # Sent as PostgreSQL renders it: 500 people validated and serialised here cost the
    # single worker more than the query (tests/bench/bench_team.py).
    return Response(_read(db, answers.org_reach_json, team_id, user, domain), media_type="application/json")


@router.get(
    "/{team_id:int}/key-person-risk",
    response_model=Risks,
    responses=documented(404),
    summary="Organisations where only one teammate holds a strong tie",
)
def risk(team_id: TeamId, user: User, db: Db) -> dict:
    return _read(db, answers.key_person_risk, team_id, user)


@router.post(
    "/{team_id:int}/introductions",
    status_code=201,
    responses=documented(404, 409),
    summary="Ask a teammate for an introduction (Kith never writes to the contact)",
)
def ask(team_id: TeamId, body: AskIn, user: User, db: Db) -> dict:
    request_id = _run(db, introductions.ask, team_id, user, body.member, body.contact, body.note)
    return {"id": request_id, "status": "pending"}


@router.get("/{team_id:int}/introductions", responses=documented(404), summary="Introductions asked of you and by you")
def intros(team_id: TeamId, user: User, db: Db) -> dict:
    return _run(db, introductions.listing, team_id, user)


@router.post(
    "/{team_id:int}/introductions/{request_id:int}/{decision}",
    responses=documented(404, 409),
    summary="Accept (returns a draft to send from your own mail) or decline a request asked of you",
)
def decide(
    team_id: TeamId,
    request_id: Annotated[int, Path(ge=1, le=2**62)],
    decision: Literal["accept", "decline"],
    user: User,
    db: Db,
) -> dict:
    return _run(db, introductions.decide, team_id, user, request_id, decision == "accept")


def install(app: FastAPI) -> None:
    from ..dashboard import team_page

    app.include_router(router, responses=documented(400, 401, 413, 422), dependencies=[Depends(known_query_only)])
    app.include_router(team_page.router)
