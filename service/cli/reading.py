"""`kith` commands that answer a user: score, ties, digest; and the user's own account:
user add, delete. Registered on the app in service.cli.

Ties are printed in the shape service.ties.shape gives the API (`--json`): each is the
API's tie, so a script reading `kith ties --json` reads what `GET /v1/ties` returns.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import typer

from ingest.errors import KithError

from ..output import terminal_text
from .runtime import Reader, Runtime, err, out, parse_as_of


def user_add(
    email: str,
    timezone_: str = typer.Option("UTC", "--timezone", help="IANA time zone, e.g. Europe/Madrid."),
    name: str | None = typer.Option(None, "--name", help="How the user is named in the weekly email."),
):
    """Create a user (or update one) and print a new API token."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from ..auth import create_token
    from ..store import create_user

    try:
        ZoneInfo(timezone_)
    except (ZoneInfoNotFoundError, ValueError):
        raise KithError(f"unknown time zone {timezone_!r} (use an IANA name such as Europe/Madrid)") from None
    if "@" not in email:
        raise KithError(f"{email!r} is not an email address")
    rt = Runtime()
    with rt.db.tx() as conn:
        user_id = create_user(conn, email, name=name, timezone=timezone_)
        conn.execute("UPDATE users SET timezone = %s WHERE id = %s", (timezone_, user_id))
        token = create_token(conn, user_id)
    print(token)


AS_OF_HELP = "YYYY-MM-DD or an ISO date-time (UTC unless it has an offset): as things stood then."


def score(
    user: str = typer.Option(..., "--user", help="Email of the user."),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP + " Default: now."),
):
    """Score every tie of a user and keep a snapshot."""
    from ..ties.scoring import score_user

    rt = Runtime()
    user_id = rt.user_id(user)
    moment = parse_as_of(as_of)
    ties = score_user(rt.db, user_id, moment)
    err.print(f"scored {len(ties)} ties")
    if moment is None:
        print_notice(rt, user_id)


def print_notice(rt: Runtime | Reader, user_id: int) -> None:
    """Say so when the user's mail ended long ago and ties are scored as of its end."""
    from ..ties.horizon import horizon

    with rt.db.tx() as conn:
        notice = horizon(conn, user_id).notice()
    if notice:
        err.print(f"[yellow]note:[/] {terminal_text(notice)}")


def ties(
    user: str = typer.Option(..., "--user", help="Email of the user."),
    as_of: str | None = typer.Option(None, "--as-of", help=AS_OF_HELP + " Default: the latest scoring."),
    limit: int = typer.Option(20, "--limit", min=1, max=10000, help="How many ties to show."),
    as_json: bool = typer.Option(False, "--json", help="One JSON array of ties, each shaped as the API's tie."),
    excluded: bool = typer.Option(False, "--excluded", help="Show what was left out, and why."),
):
    """Show a user's ties (strongest first), or what was excluded."""
    from .. import output
    from ..ties.shape import public
    from ..ties.snapshots import list_ties

    rt = Reader()
    user_id = rt.user_id(user)
    with rt.db.tx() as conn:
        if excluded:
            from ..people import exclusion_pages  # people and noise rules: not for reading ties

            rows = exclusion_pages.exclusion_page(conn, user_id, limit=limit).items
            if as_json:
                print(json.dumps(rows, default=str))
            else:
                output.exclusions_table(out, rows)
            return
        result = list_ties(conn, user_id, as_of=parse_as_of(as_of), limit=limit)
        note = _coverage_note(conn, user_id, parse_as_of(as_of))
    if note:  # on stderr: `--json` stays the one document on stdout
        err.print(f"Provisional: {terminal_text(note)}.")
    if as_json:
        print(json.dumps([public(t) for t in result]))
    else:
        output.ties_table(out, result, title=f"Ties of {user}")
        if as_of is None:
            print_notice(rt, user_id)


def _coverage_note(conn, user_id: int, as_of) -> str | None:
    from .. import coverage
    from ..ties import as_of as moments
    from ..ties.snapshots import pick_snapshot

    moment = moments.to_utc(as_of)
    snap = pick_snapshot(conn, user_id, moment)
    if snap is None and moment is None:
        return coverage.live(conn, user_id).note()  # computed from the mail stored now
    return coverage.of_snapshot(conn, user_id, snap).note()


def digest(
    user: str = typer.Option(..., "--user", help="Email of the user."),
    week: str | None = typer.Option(
        None, "--week", help="YYYY-MM-DD: any day of the week wanted (weeks start on Monday). Default: this week."
    ),
    preview: Path | None = typer.Option(None, "--preview", help="Write the email as an HTML file here."),
    send: bool = typer.Option(False, "--send", help="Send the week's email, unless it was already sent."),
    resend: bool = typer.Option(False, "--resend", help="Send the week's email even if it was already sent."),
):
    """Preview the weekly email into a file, or send it now (once per week; --resend for again)."""
    from .. import digest as kdigest

    if sum((bool(preview), send, resend)) != 1:
        raise KithError("give exactly one of --preview FILE, --send or --resend")
    if preview:
        check_writable(preview)
    week_date = None
    if week:
        try:
            week_date = date.fromisoformat(week)
        except ValueError:
            raise KithError(f"--week {week!r} is not a date (YYYY-MM-DD)") from None
    rt = Runtime()
    user_id = rt.user_id(user)
    if preview:
        with rt.db.tx() as conn:
            html = kdigest.render_preview(rt.settings, conn, user_id, week_date)
        try:
            preview.write_text(html)
        except OSError as exc:
            raise KithError(f"cannot write {preview}: {exc.strerror or exc}") from None
        err.print(f"wrote {terminal_text(preview)}")
        return
    with rt.db.tx() as conn:
        target = kdigest.target_week(conn, user_id, week_date)
    outcome = kdigest.send_digest(rt.settings, rt.db, user_id, target, force=True, resend=resend)
    label = f"{target.day} {target:%b %Y}"
    if outcome == "already_sent":
        with rt.db.tx() as conn:
            sent_at = conn.execute(
                "SELECT sent_at FROM outbox WHERE user_id = %s AND week = %s", (user_id, target)
            ).fetchone()
        when = f" on {sent_at[0]:%Y-%m-%d %H:%M} UTC" if sent_at and sent_at[0] else ""
        err.print(
            f"the digest for the week of {label} was already sent{when}; nothing sent (pass --resend to send it again)"
        )
    elif outcome == "sent":
        err.print(f"sent the digest for the week of {label} to {terminal_text(user)}")
    elif outcome == "provisional":
        raise KithError("digest not sent: the scores are provisional until older mail has arrived")
    else:
        err.print(f"nothing to send for the week of {label}")


def check_writable(path: Path) -> None:
    """Refuse before any work when the preview cannot be written there."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise KithError(f"{path} is a directory: give a file name such as {path / 'digest.html'}")
    if not parent.is_dir():
        raise KithError(f"cannot write {path}: the directory {parent} does not exist")


def delete(
    user: str = typer.Option(..., "--user", help="Email of the user."),
    yes: bool = typer.Option(False, "--yes", help="Do not ask (needed when there is no terminal to ask on)."),
):
    """Erase everything held for a user."""
    if not yes and not sys.stdin.isatty():
        raise KithError(f"not erasing {user}: there is no terminal to ask on; pass --yes to erase without asking")
    rt = Runtime()
    user_id = rt.user_id(user)
    if not yes:
        typer.confirm(f"Erase every row held for {user}?", abort=True)
    from ..erasure import erase_user

    erase_user(rt.db, rt.settings, user_id)
    err.print(f"erased {terminal_text(user)}")
