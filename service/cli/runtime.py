"""What every `kith` command shares: the consoles, `Runtime` (settings resolved once,
migrations applied, a pool) and the progress bars of a sync or an import.

Settings are built here, once per command, and passed down; nothing below the CLI reads
the environment on its own.
"""

from __future__ import annotations

import atexit
from datetime import datetime
from typing import TYPE_CHECKING

from rich.console import Console

from ingest.errors import KithError

from ..output import terminal_text
from ..ties.as_of import BadMoment, to_utc

if TYPE_CHECKING:
    from ..config import Settings
    from ..db import Database, OneConnection, Transactions

# No :emoji: codes: text from mail is printed with them, and they would turn into pictures.
out = Console(emoji=False)
err = Console(stderr=True, soft_wrap=True, emoji=False)


class _Commands:
    """What every command has: settings with URLs resolved, and its database (`db`)."""

    settings: Settings
    db: Transactions

    def user_id(self, email: str) -> int:
        # One query, not service.store: that module's writers pull in people and providers,
        # which a command that only reads does not need.
        with self.db.tx() as conn:
            row = conn.execute("SELECT id FROM users WHERE email = %s", (email.strip().lower(),)).fetchone()
        if row is None:
            raise KithError(f"no user {email!r}: create one with `kith user add {email}`")
        return row[0]


class Runtime(_Commands):
    """What every command needs: settings, migrations applied (checked with one query when
    there are none to apply), a pool."""

    db: Database

    def __init__(self):
        from .. import db as kdb, embedded
        from ..config import load_settings

        self.settings = embedded.resolve(load_settings())
        kdb.ensure_migrated(self.settings.db_url())
        self.db = kdb.Database(self.settings.db_url())
        # Closed before the interpreter tears down: a pool collected late warns on stderr.
        atexit.register(self.db.close)


class Reader(_Commands):
    """Runtime for a command that only reads (`kith ties`): one connection (no pool to
    import, no threads to start), on which the migrations are checked too."""

    db: OneConnection

    def __init__(self):
        from .. import db as kdb, embedded
        from ..config import load_settings

        self.settings = embedded.resolve(load_settings())
        self.db = kdb.OneConnection(self.settings.db_url())
        atexit.register(self.db.close)
        kdb.ensure_migrated(self.settings.db_url(), self.db.conn)


def parse_as_of(value: str | None) -> datetime | None:
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
        progress.update(
            task,
            completed=done if done is not None else total.written,
            total=whole,
            description=f"{label[:30]}: {total.written} kept, {total.quarantined} quarantined",
        )

    return report


def run_with_progress(fn, *args, **kwargs):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as progress:
        return fn(*args, progress=_progress_sink(progress, {}), **kwargs)
