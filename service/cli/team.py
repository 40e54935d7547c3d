"""`kith team ...`: teams from the command line, over the same service.teams calls as the
API (registered on the app in service.cli as the `team` group).

    kith team create NAME --user EMAIL            kith team invite TEAM ADDRESS --user EMAIL
    kith team join TOKEN --user EMAIL             kith team share TEAM --user EMAIL [--off]
    kith team who-knows TEAM (QUERY | --person ID) --user EMAIL
    kith team org TEAM DOMAIN --user EMAIL
    kith team risk TEAM --user EMAIL              kith team intros TEAM --user EMAIL
    kith team ask TEAM MEMBER_ID CONTACT --user EMAIL [--note TEXT]
    kith team answer TEAM REQUEST_ID accept|decline --user EMAIL
    kith team leave TEAM --user EMAIL

Every command takes `--json` (one JSON document on stdout) where it answers something.
Refusals (not a member, not sharing, a forged token) are errors with a plain sentence.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TypeVar

import typer

from ingest.errors import KithError

from ..output import terminal_text
from ..teams import answers, introductions, invitations, membership, ranking
from .runtime import Runtime, err, out

team_app = typer.Typer(help="Teams: who on your team knows them best.", no_args_is_help=True)
T = TypeVar("T")
USER = typer.Option(..., "--user", help="Your own account's address.")
JSON = typer.Option(False, "--json")


def _call(fn: Callable[..., T], *args, **kwargs) -> tuple[Runtime, int, T]:
    rt = Runtime()
    user_id = rt.user_id(kwargs.pop("user"))
    try:
        with rt.db.tx() as conn:
            return rt, user_id, fn(conn, *args[:1], user_id, *args[1:], **kwargs)
    except (LookupError, PermissionError, FileExistsError, ValueError) as exc:
        raise KithError(str(exc)) from None


def _print_json(value) -> None:
    print(json.dumps(value, default=str))


def _known_line(name: str, band: str, month: str | None) -> str:
    when = f", last two-way contact {month}" if month else ", no two-way contact on record"
    return terminal_text(f"{name}: {band}{when}")


@team_app.command("create")
def create(name: str, user: str = USER):
    """Create a team; you are its owner (sharing starts off)."""
    rt = Runtime()
    user_id = rt.user_id(user)
    try:
        with rt.db.tx() as conn:
            team_id = membership.create_team(conn, user_id, name)
    except ValueError as exc:
        raise KithError(str(exc)) from None
    err.print(f"created team {team_id}")
    print(team_id)


@team_app.command("invite")
def invite(team: int, address: str, user: str = USER):
    """Invite an address (owner only); prints the token to hand them."""
    rt = Runtime()
    user_id = rt.user_id(user)
    try:
        with rt.db.tx() as conn:
            made = invitations.invite(conn, rt.settings.secret(), team, user_id, address)
    except (LookupError, PermissionError, ValueError) as exc:
        raise KithError(str(exc)) from None
    err.print(f"invitation for {terminal_text(made['email'])}, valid until {made['expires_at']:%Y-%m-%d %H:%M} UTC")
    print(made["token"])


@team_app.command("join")
def join(token: str, user: str = USER):
    """Join a team with the invitation token you were given."""
    rt = Runtime()
    user_id = rt.user_id(user)
    try:
        with rt.db.tx() as conn:
            team_id = invitations.accept(conn, rt.settings.secret(), token, user_id)
    except invitations.InvitationRefused as exc:
        raise KithError(str(exc)) from None
    err.print(f"joined team {team_id}; sharing is off until you turn it on (kith team share {team_id})")


@team_app.command("share")
def share(team: int, user: str = USER, off: bool = typer.Option(False, "--off", help="Stop sharing.")):
    """Share your ties' bands and months with the team (or stop, with --off)."""
    _, _, count = _call(membership.set_sharing, team, not off, user=user)
    err.print("sharing off: the team holds nothing of yours" if off else f"sharing on: {count} ties shared")


@team_app.command("who-knows", epilog=ranking.BAND_MEANING)
def who_knows(
    team: int,
    query: str | None = typer.Argument(None, help="An address (with @) or an organisation's domain."),
    user: str = USER,
    person: int | None = typer.Option(
        None, "--person", help="A person of your own book instead, by id (person_id in `kith ties --json`)."
    ),
    as_json: bool = JSON,
):
    """Who on the team knows an address (with @), someone at a domain, or a person of yours."""
    if (query is None) == (person is None):
        raise KithError("Give an address, a domain or --person ID: exactly one.")
    asked: dict[str, str | int | None] = {"person": person}
    if query is not None:
        asked = {"address" if "@" in query else "domain": query}
    _, _, found = _call(answers.who_knows, team, user=user, **asked)
    if as_json:
        return _print_json(found)
    if not found["known_by"]:
        whom = f"person {found['value']}" if found["kind"] == "person" else found["value"]
        out.print(terminal_text(f"Nobody who shares in team {team} knows {whom}."))
    for k in found["known_by"]:
        out.print(_known_line(k["member"]["name"], k["band"], k["month"]))


@team_app.command("org", epilog=ranking.BAND_MEANING)
def org(team: int, domain: str, user: str = USER, as_json: bool = JSON):
    """An organisation's people reachable through the team, and who to ask for each."""
    _, _, reach = _call(answers.org_reach, team, domain, user=user)
    if as_json:
        return _print_json(reach)
    if not reach["people"]:
        out.print(terminal_text(f"Nobody who shares in team {team} knows anyone at {reach['domain']}."))
    for p in reach["people"]:
        out.print(terminal_text(f"{p['contact']}: ask ") + _known_line(p["ask"]["name"], p["band"], p["month"]))


@team_app.command("risk")
def risk(team: int, user: str = USER, as_json: bool = JSON):
    """Organisations where only one teammate holds a strong tie."""
    _, _, found = _call(answers.key_person_risk, team, user=user)
    if as_json:
        return _print_json(found)
    if not found["organisations"]:
        out.print("No organisation rests on a single teammate's strong tie.")
    for o in found["organisations"]:
        out.print(terminal_text(f"{o['domain']}: only {o['only']['name']} holds a strong tie"))


@team_app.command("ask")
def ask(team: int, member: int, contact: str, user: str = USER, note: str = typer.Option("", "--note")):
    """Ask a teammate (a user id from who-knows) to introduce you to a contact."""
    _, _, request_id = _call(introductions.ask, team, member, contact, note, user=user)
    err.print(f"asked: request {request_id} waits for an answer")


@team_app.command("intros")
def intros(team: int, user: str = USER, as_json: bool = JSON):
    """Introductions asked of you and by you."""
    _, _, found = _call(introductions.listing, team, user=user)
    if as_json:
        return _print_json(found)
    for r in found["asked_of_me"]:
        out.print(terminal_text(f"#{r['id']} {r['asked_by']['name']} asks to meet {r['contact']} ({r['status']})"))
    for r in found["asked_by_me"]:
        out.print(terminal_text(f"#{r['id']} you asked {r['asked_of']['name']} about {r['contact']} ({r['status']})"))
    if not found["asked_of_me"] and not found["asked_by_me"]:
        out.print("No introductions asked of you or by you.")


@team_app.command("answer")
def answer(team: int, request: int, decision: str, user: str = USER, as_json: bool = JSON):
    """Accept (prints the draft to send from your own mail) or decline a request."""
    if decision not in ("accept", "decline"):
        raise KithError("the decision is accept or decline")
    _, _, done = _call(introductions.decide, team, request, decision == "accept", user=user)
    if as_json:
        return _print_json(done)
    err.print(f"request {request}: {done['status']}")
    if "draft" in done:
        d = done["draft"]
        out.print(terminal_text(f"To: {d['to']}\nCc: {d['cc']}\nSubject: {d['subject']}\n\n{d['body']}"))
        err.print("Kith sends nothing: send this from your own mail if you wish.")


@team_app.command("leave")
def leave(team: int, user: str = USER):
    """Leave the team: everything it held of you is erased."""
    _call(membership.leave, team, user=user)
    err.print(f"left team {team}; it holds nothing of yours")
