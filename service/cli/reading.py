"""`kith` commands that answer a user: score, ties, digest; and the user's own account:
user add, delete. Registered on the app in service.cli.

Ties are printed in the shape service.ties.shape gives the API (`--json`), so a script
reading `kith ties --json` reads what `GET /v1/ties` returns.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import typer

from ingest.errors import KithError

from ..output import terminal_text
from .runtime import Runtime, err, out, parse_as_of


def user_add(
    email: str, timezone_: str = typer.Option("UTC", "--timezone"), name: str | None = typer.Option(None, "--name")
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


def score(user: str = typer.Option(..., "--user"), as_of: str | None = typer.Option(None, "--as-of")):
    """Score every tie of a user and keep a snapshot."""
    from ..ties.scoring import score_user

    rt = Runtime()
    ties = score_user(rt.db, rt.user_id(user), parse_as_of(as_of))
    err.print(f"scored {len(ties)} ties")


def ties(
    user: str = typer.Option(..., "--user"),
    as_of: str | None = typer.Option(None, "--as-of"),
    limit: int = typer.Option(20, "--limit", min=1, max=10000),
    as_json: bool = typer.Option(False, "--json"),
    excluded: bool = typer.Option(False, "--excluded", help="Show what was left out, and why."),
):
    """Show a user's ties (strongest first), or what was excluded."""
    from .. import output
    from ..people import exclusion_pages
    from ..ties.shape import design
    from ..ties.snapshots import list_ties

    rt = Runtime()
    user_id = rt.user_id(user)
    with rt.db.tx() as conn:
        if excluded:
            rows = exclusion_pages.exclusion_page(conn, user_id, limit=limit).items
            if as_json:
                print(json.dumps(rows, default=str))
            else:
                output.exclusions_table(out, rows)
            return
        result = list_ties(conn, user_id, as_of=parse_as_of(as_of))[:limit]
        note = _coverage_note(conn, user_id, parse_as_of(as_of))
    if note:  # on stderr: `--json` stays the one document on stdout
        err.print(f"Provisional: {terminal_text(note)}.")
    if as_json:
        public = [design(t) for t in result]
        print(json.dumps(public))
    else:
        output.ties_table(out, result, title=f"Ties of {user}")


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
    user: str = typer.Option(..., "--user"),
    week: str | None = typer.Option(None, "--week"),
    preview: Path | None = typer.Option(None, "--preview"),
    send: bool = typer.Option(False, "--send"),
):
    """Preview the weekly email into a file, or send it now."""
    from .. import digest as kdigest

    if bool(preview) == bool(send):
        raise KithError("give exactly one of --preview FILE or --send")
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
        preview.write_text(html)
        err.print(f"wrote {terminal_text(preview)}")
    else:
        outcome = kdigest.send_digest(rt.settings, rt.db, user_id, week_date, force=True)
        if outcome == "provisional":
            raise KithError("digest not sent: the scores are provisional until older mail has arrived")
        err.print(f"digest: {terminal_text(outcome)}")


def delete(user: str = typer.Option(..., "--user"), yes: bool = typer.Option(False, "--yes", help="Do not ask.")):
    """Erase everything held for a user."""
    rt = Runtime()
    user_id = rt.user_id(user)
    if not yes and sys.stdin.isatty():
        typer.confirm(f"Erase every row held for {user}?", abort=True)
    from ..erasure import erase_user

    erase_user(rt.db, rt.settings, user_id)
    err.print(f"erased {terminal_text(user)}")
