"""The `kith` command line (typer + rich): the app, its command table, and `main`.

The commands live by what they do: ops (run Kith: demo, serve, worker, scheduler, migrate,
rotate-key), mailboxes (bring mail in: connect, sync, import, quarantine) and reading
(answer a user: user add, score, ties, digest, delete); runtime holds what they share
(consoles, settings resolved once and passed down, progress bars). They are registered
here, in one table, in the order `kith --help` lists them.
"""

from __future__ import annotations

import logging
import os
import sys

import typer

from ingest.errors import KithError

from ..output import terminal_text
from . import insight, mailboxes, ops, reading, team, users
from .runtime import err, out

app = typer.Typer(
    help="Kith: relationship health from email and calendar metadata.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
user_app = typer.Typer(help="Users and their API tokens.", no_args_is_help=True)
import_app = typer.Typer(help="Import mail and calendar files.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(import_app, name="import")
app.add_typer(team.team_app, name="team")

for command in (
    ops.demo,
    ops.serve,
    ops.worker,
    ops.scheduler,
    mailboxes.connect,
    mailboxes.sync,
    reading.score,
    reading.ties,
    reading.digest,
    insight.backtest,
    insight.flags,
    reading.delete,
    mailboxes.quarantine,
    ops.migrate,
    ops.stop,
):
    app.command()(command)
app.command("rotate-key")(ops.rotate_key)
user_app.command("add")(reading.user_add)
user_app.command("list")(users.user_list)
user_app.command("revoke-token")(users.revoke_token)
import_app.command("mbox")(mailboxes.import_mbox)
import_app.command("ics")(mailboxes.import_ics)


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("KITH_LOG_LEVEL", "WARNING"), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        app()
    except KithError as exc:
        err.print(f"[red]error:[/] {terminal_text(exc)}")
        sys.exit(1)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


__all__ = ["app", "main", "out", "err"]
