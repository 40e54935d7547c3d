"""The `kith` command line (typer + rich). Settings are built here, once, and passed down."""
from __future__ import annotations

import atexit
import json
import logging
import os
import sys
from datetime import date, datetime
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console

from ingest.errors import KithError

from . import providers
from .output import terminal_text
from .ties.as_of import BadMoment, to_utc

app = typer.Typer(help="Kith: relationship health from email and calendar metadata.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
user_app = typer.Typer(help="Users and their API tokens.", no_args_is_help=True)
import_app = typer.Typer(help="Import mail and calendar files.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(import_app, name="import")

# No :emoji: codes: text from mail is printed with them, and they would turn into pictures.
out = Console(emoji=False)
err = Console(stderr=True, soft_wrap=True, emoji=False)


class Runtime:
    """What every command needs: settings with URLs resolved, migrations applied, a pool."""

    def __init__(self):
        from . import db as kdb, embedded
        from .config import load_settings

        self.settings = embedded.resolve(load_settings())
        kdb.migrate(self.settings.database_url)
        self.db = kdb.Database(self.settings.database_url)
        # Closed before the interpreter tears down: a pool collected late warns on stderr.
        atexit.register(self.db.close)

    def user_id(self, email: str) -> int:
        from .store import require_user

        with self.db.tx() as conn:
            return require_user(conn, email)["id"]


def _parse_as_of(value: Optional[str]) -> Optional[datetime]:
    try:
        return to_utc(value)
    except BadMoment as exc:
        raise KithError(f"--as-of {exc} Use YYYY-MM-DD or an ISO time.") from None


def _progress_sink(progress, task_ids):
    def report(resource, total, page):
        # A calendar's id comes from the provider: it is printed like any text from mail.
        label = terminal_text(resource.split("/")[-1][:40])
        task = task_ids.get(resource)
        if task is None:
            task = task_ids[resource] = progress.add_task(label, total=None)
        done, whole = page.progress if page.progress else (None, None)
        progress.update(task, completed=done if done is not None else total.written,
                        total=whole, description=f"{label[:30]}: "
                        f"{total.written} kept, {total.quarantined} quarantined")
    return report


def run_with_progress(fn, *args, **kwargs):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err, transient=False) as progress:
        return fn(*args, progress=_progress_sink(progress, {}), **kwargs)


@app.command()
def demo(port: int = typer.Option(8000, help="Port suggested for `kith serve`."),
         seed: int = typer.Option(7, help="Seed of the synthetic world.")):
    """The main job on embedded defaults: a synthetic year in, ties to deepen out."""
    from .demo import run_demo

    run_demo(Runtime(), out, err, seed=seed, port=port)


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000):
    """Run the JSON API and the dashboard."""
    import uvicorn

    from .api.app import create_app
    from .api.logs import LOG_CONFIG

    rt = Runtime()
    rt.db.close()
    # JSON log lines; the access log names route templates, never paths (they hold addresses).
    uvicorn.run(create_app(rt.settings), host=host, port=port, log_config=LOG_CONFIG, access_log=False,
                timeout_graceful_shutdown=10)


@app.command()
def worker(processes: int = typer.Option(1, help="Worker processes."),
           threads: int = typer.Option(4, help="Threads per process."),
           queues: Optional[List[str]] = typer.Option(None, "--queue", help="Only these queues.")):
    """Run dramatiq workers for syncs, imports, scoring and email."""
    import dramatiq.cli

    rt = Runtime()
    # Child processes read their settings from the environment: hand them resolved URLs.
    os.environ["KITH_DATABASE_URL"] = rt.settings.database_url
    os.environ["KITH_REDIS_URL"] = rt.settings.redis_url
    # Prefetch no more than the threads can start: a worker must not sit on long syncs
    # that another worker could run now (dramatiq's default is twice the threads).
    os.environ.setdefault("dramatiq_queue_prefetch", str(threads))
    # Each thread's sync holds a connection for its lock and takes another to write: the
    # children size their pools from this (service.context.pool_size).
    os.environ["KITH_WORKER_THREADS"] = str(threads)
    rt.db.close()
    args = ["service.jobs.worker:setup", "--processes", str(processes), "--threads", str(threads)]
    if queues:
        args += ["--queues", *queues]
    # dramatiq.cli.main takes parsed arguments (it parses sys.argv only when given none).
    sys.exit(dramatiq.cli.main(dramatiq.cli.make_argument_parser().parse_args(args)))


@app.command()
def scheduler():
    """Run the weekly schedule (digests, nightly syncs and scoring)."""
    from .jobs.scheduler import run

    rt = Runtime()
    run(rt.settings)


@user_app.command("add")
def user_add(email: str, timezone_: str = typer.Option("UTC", "--timezone"),
             name: Optional[str] = typer.Option(None, "--name")):
    """Create a user (or update one) and print a new API token."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from .auth import create_token
    from .store import create_user

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


@app.command()
def connect(provider: str = typer.Argument(..., help=" or ".join(providers.names())),
            user: str = typer.Option(..., "--user"),
            no_browser: bool = typer.Option(False, "--no-browser", help="Print the URL and wait.")):
    """Connect a Google or Microsoft account through OAuth in the browser."""
    chosen = providers.get(provider)
    rt = Runtime()
    rt.user_id(user)
    account_id = chosen.connect_cli(rt.settings, rt.db, user, no_browser=no_browser)
    err.print(f"connected {terminal_text(provider)} account {account_id}; syncing...")
    from .sync import sync_account
    run_with_progress(sync_account, rt.settings, rt.db, account_id)


@app.command()
def sync(user: Optional[str] = typer.Option(None, "--user")):
    """Incremental sync of connected accounts (all users, or one)."""
    from .sync import AlreadySyncing, sync_account
    from .ties.scoring import score_user

    rt = Runtime()
    with rt.db.tx() as conn:
        if user:
            rows = conn.execute("SELECT id, user_id, provider, address, status FROM accounts WHERE user_id = %s "
                                "AND provider = ANY(%s) ORDER BY id",
                                (rt.user_id(user), list(providers.names()))).fetchall()
        else:
            rows = conn.execute("SELECT id, user_id, provider, address, status FROM accounts "
                                "WHERE provider = ANY(%s) ORDER BY id", (list(providers.names()),)).fetchall()
    if not rows:
        err.print("no connected accounts: connect one with `kith connect google --user EMAIL`")
    users = set()
    for account_id, user_id, provider, address, status in rows:
        address = terminal_text(address)
        if status in ("auth_revoked", "disabled"):
            err.print(f"[yellow]{provider} {address}: {status}[/] — reconnect with "
                      f"`kith connect {provider} --user ...`")
            continue
        try:
            reports = run_with_progress(sync_account, rt.settings, rt.db, account_id)
        except AlreadySyncing as exc:
            err.print(terminal_text(exc))
            continue
        except KithError as exc:
            err.print(f"[red]{provider} {address}: {terminal_text(exc)}[/]")
            continue
        for r in reports:
            err.print(f"{provider} {address} {terminal_text(r.resource)}: {r.written} written, {r.removed} removed, "
                      f"{r.quarantined} quarantined")
        users.add(user_id)
    for user_id in users:
        score_user(rt.db, user_id)


def _import(kind: str, path: Path, user: str, addresses: Optional[List[str]], restart: bool):
    from .imports import import_file
    from .ties.scoring import score_user

    rt = Runtime()
    user_id = rt.user_id(user)
    reports = run_with_progress(import_file, rt.db, user_id, kind, path, addresses=addresses or [],
                                restart=restart)
    for r in reports:
        err.print(f"{terminal_text(path)}: {r.written} items imported, {r.quarantined} quarantined"
                  + (" (see `kith quarantine --user ...`)" if r.quarantined else ""))
    score_user(rt.db, user_id)


@import_app.command("mbox")
def import_mbox(path: Path, user: str = typer.Option(..., "--user"),
                address: Optional[List[str]] = typer.Option(None, "--address", help="Your own address (repeatable)."),
                restart: bool = typer.Option(False, help="Read the file again from the start.")):
    """Import an mbox (Google Takeout or any), headers only."""
    _import("mbox", path, user, address, restart)


@import_app.command("ics")
def import_ics(path: Path, user: str = typer.Option(..., "--user"),
               restart: bool = typer.Option(False, help="Read the file again from the start.")):
    """Import an iCalendar (.ics) file."""
    _import("ics", path, user, None, restart)


@app.command()
def score(user: str = typer.Option(..., "--user"), as_of: Optional[str] = typer.Option(None, "--as-of")):
    """Score every tie of a user and keep a snapshot."""
    from .ties.scoring import score_user

    rt = Runtime()
    ties = score_user(rt.db, rt.user_id(user), _parse_as_of(as_of))
    err.print(f"scored {len(ties)} ties")


@app.command()
def ties(user: str = typer.Option(..., "--user"), as_of: Optional[str] = typer.Option(None, "--as-of"),
         limit: int = typer.Option(20, "--limit", min=1, max=10000), as_json: bool = typer.Option(False, "--json"),
         excluded: bool = typer.Option(False, "--excluded", help="Show what was left out, and why.")):
    """Show a user's ties (strongest first), or what was excluded."""
    from . import output
    from .people import exclusion_pages
    from .ties.shape import design
    from .ties.snapshots import list_ties

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
        result = list_ties(conn, user_id, as_of=_parse_as_of(as_of))[:limit]
    if as_json:
        public = [design(t) for t in result]
        print(json.dumps(public))
    else:
        output.ties_table(out, result, title=f"Ties of {user}")


@app.command()
def digest(user: str = typer.Option(..., "--user"), week: Optional[str] = typer.Option(None, "--week"),
           preview: Optional[Path] = typer.Option(None, "--preview"), send: bool = typer.Option(False, "--send")):
    """Preview the weekly email into a file, or send it now."""
    from . import digest as kdigest

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
        err.print(f"digest: {terminal_text(outcome)}")


@app.command()
def delete(user: str = typer.Option(..., "--user"), yes: bool = typer.Option(False, "--yes", help="Do not ask.")):
    """Erase everything held for a user."""
    rt = Runtime()
    user_id = rt.user_id(user)
    if not yes and sys.stdin.isatty():
        typer.confirm(f"Erase every row held for {user}?", abort=True)
    from .erasure import erase_user

    erase_user(rt.db, rt.settings, user_id)
    err.print(f"erased {terminal_text(user)}")


@app.command()
def quarantine(user: str = typer.Option(..., "--user"), limit: int = 50):
    """Items that could not be read, with the reason."""
    from . import output

    rt = Runtime()
    with rt.db.tx() as conn:
        rows = conn.execute("SELECT resource, ref, reason FROM quarantine WHERE user_id = %s "
                            "ORDER BY id LIMIT %s", (rt.user_id(user), limit)).fetchall()
    output.quarantine_table(out, rows)


@app.command()
def migrate():
    """Apply database migrations (also done by every command)."""
    rt = Runtime()
    from .db import current_revision

    err.print(f"database at revision {current_revision(rt.settings.database_url)}")


@app.command("rotate-key")
def rotate_key():
    """Re-encrypt stored credentials under the first key of KITH_SECRET_KEY ("new,old")."""
    from .providers.credentials import rotate_all

    rt = Runtime()
    with rt.db.tx() as conn:
        count = rotate_all(conn, rt.settings)
    err.print(f"re-encrypted {count} credentials")


def main() -> None:
    logging.basicConfig(level=os.environ.get("KITH_LOG_LEVEL", "WARNING"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        app()
    except KithError as exc:
        err.print(f"[red]error:[/] {terminal_text(exc)}")
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()
