"""The per-process context of workers: settings built once from the environment and a pool.

Actors get ids, not objects; each worker process builds its context once, at first use.
"""

from __future__ import annotations

import threading

from .config import Settings, load_settings
from .db import Database

_LOCK = threading.Lock()
_CONTEXT: Context | None = None


def pool_size() -> int:
    """Connections a process may need: a sync holds one for its account's lock (a session
    advisory lock) and takes another to write, so a worker with T threads needs 2T, plus a
    couple for credentials refreshed meanwhile. `kith worker` hands its children the thread
    count in KITH_WORKER_THREADS; with fewer connections than that, threads wait on each
    other's locks until the pool times out."""
    import os

    try:
        threads = int(os.environ.get("KITH_WORKER_THREADS", "0"))
    except ValueError:
        threads = 0
    return max(8, 2 * threads + 2)


class Context:
    def __init__(self, settings: Settings, db: Database | None = None):
        self.settings = settings
        self.db = db or Database(settings.db_url(), min_size=1, max_size=pool_size())


def install(settings: Settings, db: Database | None = None) -> Context:
    """Used by entry points (demo, tests) that already built their settings."""
    global _CONTEXT
    with _LOCK:
        _CONTEXT = Context(settings, db)
        return _CONTEXT


def get() -> Context:
    global _CONTEXT
    with _LOCK:
        if _CONTEXT is None:
            from . import embedded

            _CONTEXT = Context(embedded.resolve(load_settings()))
        return _CONTEXT


def reset() -> None:
    global _CONTEXT
    with _LOCK:
        if _CONTEXT is not None:
            _CONTEXT.db.close()
        _CONTEXT = None
