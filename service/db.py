"""The database: a psycopg 3 connection pool and Alembic migrations."""

from __future__ import annotations

import logging
import re
from abc import ABC, abstractmethod
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any, Protocol
from collections.abc import Iterator

import psycopg
from psycopg import sql
from psycopg.rows import dict_row, tuple_row

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # Any libpq URL or conninfo string; the connection itself is made by psycopg.
    cfg.attributes["conninfo"] = url
    return cfg


def migrate(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


_REVISION = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(?:\"([^\"]+)\"|'([^']+)'|None)", re.M)


def head_revision() -> str | None:
    """The head of the migration chain, read from the version files' own `revision` and
    `down_revision` lines without importing Alembic (a second of every command otherwise);
    None when the files do not name exactly one head (then Alembic decides)."""
    revisions, parents = set(), set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = {m.group(1): m.group(2) or m.group(3) for m in _REVISION.finditer(path.read_text())}
        if found.get("revision"):
            revisions.add(found["revision"])
            if found.get("down_revision"):
                parents.add(found["down_revision"])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def ensure_migrated(url: str, conn: psycopg.Connection | None = None) -> None:
    """Migrate to head unless the database already says it is there: one cheap query on
    the usual path (on `conn` when given), Alembic only when there is something to do (or
    the head is unclear)."""
    head = head_revision()
    if head is None or current_revision(url, conn) != head:
        migrate(url)


def current_revision(url: str, conn: psycopg.Connection | None = None) -> str | None:
    if conn is None:
        with psycopg.connect(url) as own:
            return current_revision(url, own)
    with conn.transaction():
        if not scalar(conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL")):
            return None
        rev = conn.execute("SELECT version_num FROM alembic_version").fetchone()
        return rev[0] if rev else None


class _Cursors(ABC):
    """`cursor()` for a class with `tx()`: one transaction, rows as dicts or tuples."""

    @abstractmethod
    def tx(self) -> AbstractContextManager[psycopg.Connection]: ...

    @contextmanager
    def cursor(self, dict_rows: bool = True) -> Iterator[psycopg.Cursor[Any]]:
        with self.tx() as conn:
            with conn.cursor(row_factory=dict_row if dict_rows else tuple_row) as cur:
                yield cur


class Database(_Cursors):
    """A pool of connections; `tx()` gives a connection inside one transaction."""

    def __init__(self, url: str, min_size: int = 1, max_size: int = 8):
        from psycopg_pool import ConnectionPool  # imported here: a command that reads needs none

        self.url = url
        self.pool = ConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            open=True,
            kwargs={"autocommit": False},
            name="kith",
        )

    @contextmanager
    def tx(self) -> Iterator[psycopg.Connection]:
        with self.pool.connection() as conn:
            with conn.transaction():
                yield conn

    def close(self) -> None:
        self.pool.close()


# The planner's statistics are refreshed once this share of a table changed since its last
# ANALYZE (PostgreSQL's own autoanalyze uses 10% + 50 rows, but autovacuum may be off, as
# on the CI machines, or not have come round yet right after a sync wrote 200,000 mails: a
# table the planner still takes for empty gets nested loops that turn a minute into hours).
STALE_SHARE = 0.1
STALE_MIN_ROWS = 1000


def analyze_if_stale(conn, tables: tuple[str, ...] = ("interactions", "participants")) -> list[str]:
    """ANALYZE those of `tables` that changed by more than STALE_SHARE (and STALE_MIN_ROWS
    rows) since they were last analysed; returns their names. One catalog query when none
    did. A role that does not own a table gets PostgreSQL's warning, not an error."""
    stale = [
        name
        for (name,) in rows(
            conn,
            "SELECT relname FROM pg_stat_user_tables WHERE relname = ANY(%s) AND schemaname = current_schema()"
            " AND n_mod_since_analyze >= greatest(%s, %s * n_live_tup)",
            (list(tables), STALE_MIN_ROWS, STALE_SHARE),
        )
    ]
    if stale:
        analyze(conn, *stale)
    return stale


def analyze(conn, *tables: str) -> None:
    """ANALYZE `tables` inside the caller's transaction (in a savepoint of its own); a failure
    is logged and leaves the transaction usable: the statistics only make plans better."""
    try:
        with conn.transaction():
            conn.execute(sql.SQL("ANALYZE {}").format(sql.SQL(", ").join(map(sql.Identifier, tables))))
    except psycopg.Error as exc:
        log.warning("%s not analysed: %s", ", ".join(tables), type(exc).__name__)


class Transactions(Protocol):
    """What readers need of a database: a connection inside one transaction."""

    def tx(self) -> AbstractContextManager[psycopg.Connection]: ...


class OneConnection(_Cursors):
    """`Database`'s interface on one connection, for a command that runs a few queries one
    after the other and exits (`kith ties`): no pool to import, no threads to start. Not
    for threads, nor for anything that holds a connection while it asks for another."""

    def __init__(self, url: str):
        self.url = url
        self.conn = psycopg.connect(url, autocommit=True)  # transactions are tx()'s

    @contextmanager
    def tx(self) -> Iterator[psycopg.Connection]:
        with self.conn.transaction():
            yield self.conn

    def close(self) -> None:
        self.conn.close()


def scalar(cursor: psycopg.Cursor[Any]) -> Any:
    """The first column of the row a query always returns (a count, EXISTS, an advisory
    lock, INSERT ... RETURNING); a query that returned none is a bug, said so plainly."""
    row = cursor.fetchone()
    if row is None:
        raise LookupError("the query returned no row")
    return row[0]


def rows(conn, query: str, params=()) -> list[tuple]:
    """All rows of `query` as tuples, whatever row factory the caller's connection has."""
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(query, params)
        return cur.fetchall()
