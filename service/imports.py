"""Importing mbox and .ics files: the file connectors run through the same sync engine,
and people are refreshed after (`service.people.refresh_after`), as after a sync."""

from __future__ import annotations

from pathlib import Path

from ingest.connector import Connector
from ingest.errors import InputError
from ingest.sync import run_sync

from .db import Database, analyze, scalar
from .people import add_own_addresses, own_addresses, refresh_after, senders
from .store import ensure_account
from .sync_store import AccountSyncStore


MBOX_PAGE = 2000
# After an import that wrote this many rows the planner is told of them (ANALYZE) before
# people are refreshed: on tables that autovacuum has not analysed yet it guesses a handful
# of rows and joins the whole mailbox in nested loops (at a million messages, minutes).
ANALYZE_AFTER = 10_000


def file_resource(kind: str, path: Path) -> str:
    # One cursor per file, so an interrupted import resumes where it stopped.
    return f"{kind}:{path.resolve()}"


def import_file(
    db: Database,
    user_id: int,
    kind: str,
    path: str | Path,
    *,
    addresses: list[str] | None = None,
    progress=None,
    restart: bool = False,
):
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if path.is_dir():
        raise InputError(f"{path} is a directory, not a {kind} file")
    with db.tx() as conn:
        user_email = scalar(conn.execute("SELECT email FROM users WHERE id = %s", (user_id,)))
        account_id = ensure_account(conn, user_id, kind, user_email)
        if addresses:
            add_own_addresses(conn, user_id, addresses, "given")
        own = own_addresses(conn, user_id)
    resource = file_resource(kind, path)
    connector: Connector
    if kind == "mbox":
        from ingest.mbox import MboxConnector
        from ingest.read_ahead import ProcessReadAhead

        # Pages of 2,000: a commit per page is most of the store's fixed cost. The next page
        # is parsed in a process of its own while the last one is written (ProcessReadAhead):
        # a big mbox takes about the longer of the two, not their sum, and parsing never
        # holds the interpreter lock the store needs between round trips.
        connector = ProcessReadAhead(MboxConnector(path, resource=resource, own=own, page_size=MBOX_PAGE))
    elif kind == "ics":
        from ingest.ics import IcsConnector

        connector = IcsConnector(path, resource=resource)
    else:
        raise InputError(f"unknown file kind {kind!r} (mbox or ics)")
    store = AccountSyncStore(db, account_id)
    if restart:
        store.reset(resource, "initial")

    def run():
        reports = run_sync(store, connector, progress=progress)
        if sum(r.written for r in reports) >= ANALYZE_AFTER:
            with db.tx() as conn:
                analyze(conn, "interactions", "participants")
        return reports

    reports = refresh_after(db, user_id, run)
    if kind == "mbox":
        with db.tx() as conn:
            senders.learn_aliases(conn, user_id)
    return reports
