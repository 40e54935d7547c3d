"""`kith` commands that bring mail in and show what was left out: connect, sync,
import mbox|ics, quarantine. Registered on the app in service.cli.

Which providers can be connected and synced is asked of service.providers; file sources
(mbox, ics) are imported, never synced. Every sync or import ends by scoring the users it
touched, so `kith ties` right after shows the new mail.
"""

from __future__ import annotations

from pathlib import Path

import typer

from ingest.errors import KithError

from .. import providers
from ..output import terminal_text
from .runtime import Runtime, err, out, run_with_progress


def connect(
    provider: str = typer.Argument(..., help=" or ".join(providers.names())),
    user: str = typer.Option(..., "--user"),
    no_browser: bool = typer.Option(False, "--no-browser", help="Print the URL and wait."),
):
    """Connect a Google or Microsoft account through OAuth in the browser."""
    chosen = providers.get(provider)
    rt = Runtime()
    rt.user_id(user)
    account_id = chosen.connect_cli(rt.settings, rt.db, user, no_browser=no_browser)
    err.print(f"connected {terminal_text(provider)} account {account_id}; syncing...")
    from ..sync import sync_account

    run_with_progress(sync_account, rt.settings, rt.db, account_id)


def sync(user: str | None = typer.Option(None, "--user")):
    """Incremental sync of connected accounts (all users, or one)."""
    from ..sync import AlreadySyncing, sync_account
    from ..ties.scoring import score_user

    rt = Runtime()
    with rt.db.tx() as conn:
        if user:
            rows = conn.execute(
                "SELECT id, user_id, provider, address, status FROM accounts WHERE user_id = %s "
                "AND provider = ANY(%s) ORDER BY id",
                (rt.user_id(user), list(providers.names())),
            ).fetchall()
        else:
            rows = conn.execute(
                "SELECT id, user_id, provider, address, status FROM accounts WHERE provider = ANY(%s) ORDER BY id",
                (list(providers.names()),),
            ).fetchall()
    if not rows:
        err.print("no connected accounts: connect one with `kith connect google --user EMAIL`")
    users = set()
    for account_id, user_id, provider, address, status in rows:
        address = terminal_text(address)
        if status in ("auth_revoked", "disabled"):
            err.print(
                f"[yellow]{provider} {address}: {status}[/] — reconnect with `kith connect {provider} --user ...`"
            )
            continue
        try:
            # A first sync scores provisionally once the recent months are in (`kith ties` shows them).
            reports = run_with_progress(
                sync_account, rt.settings, rt.db, account_id, on_provisional=lambda uid: score_user(rt.db, uid)
            )
        except AlreadySyncing as exc:
            err.print(terminal_text(exc))
            continue
        except KithError as exc:
            err.print(f"[red]{provider} {address}: {terminal_text(exc)}[/]")
            continue
        for r in reports:
            err.print(
                f"{provider} {address} {terminal_text(r.resource)}: {r.written} written, {r.removed} removed, "
                f"{r.quarantined} quarantined"
            )
        users.add(user_id)
    for user_id in users:
        score_user(rt.db, user_id)


def _import(kind: str, path: Path, user: str, addresses: list[str] | None, restart: bool):
    from ..imports import import_file
    from ..ties.scoring import score_user

    from ingest.identity import canonical

    from ..people import own_addresses, senders
    from .reading import print_notice

    rt = Runtime()
    user_id = rt.user_id(user)
    with rt.db.tx() as conn:
        own_before = set(own_addresses(conn, user_id))
    reports = run_with_progress(import_file, rt.db, user_id, kind, path, addresses=addresses or [], restart=restart)
    for r in reports:
        if not (r.written or r.quarantined or r.removed):
            empty = "nothing in it to import" if r.full_sync else "nothing new since the last import"
            err.print(f"{terminal_text(path)}: {empty}")
            continue
        err.print(
            f"{terminal_text(path)}: {r.written} items imported, {r.quarantined} quarantined"
            + (f" (see `kith quarantine --user {terminal_text(user)}`)" if r.quarantined else "")
        )
    with rt.db.tx() as conn:
        learned = sorted(set(own_addresses(conn, user_id)) - own_before - {canonical(a) for a in addresses or ()})
        check = senders.check(conn, user_id)
    if learned:
        err.print(f"counted as you too (you send from them): {terminal_text(', '.join(learned))}")
    warning = check.warning(cli=True)
    if warning:
        err.print(f"[yellow]warning:[/] {terminal_text(warning)}")
    ties = score_user(rt.db, user_id)
    err.print(f"scored {len(ties)} ties")
    print_notice(rt, user_id)


def import_mbox(
    path: Path,
    user: str = typer.Option(..., "--user"),
    address: list[str] | None = typer.Option(
        None, "--address", help="An address you send from, e.g. me@example.org (repeatable)."
    ),
    restart: bool = typer.Option(False, help="Read the file again from the start."),
):
    """Import an mbox (Google Takeout or any), headers only."""
    _import("mbox", path, user, address, restart)


def import_ics(
    path: Path,
    user: str = typer.Option(..., "--user"),
    restart: bool = typer.Option(False, help="Read the file again from the start."),
):
    """Import an iCalendar (.ics) file."""
    _import("ics", path, user, None, restart)


def quarantine(user: str = typer.Option(..., "--user"), limit: int = 50):
    """Items that could not be read, with the reason."""
    from .. import output

    rt = Runtime()
    with rt.db.tx() as conn:
        rows = conn.execute(
            "SELECT resource, ref, reason FROM quarantine WHERE user_id = %s ORDER BY id LIMIT %s",
            (rt.user_id(user), limit),
        ).fetchall()
    output.quarantine_table(out, rows)
