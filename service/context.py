"""The per-process context of workers: settings built once from the environment and a pool.

Actors get ids, not objects; each worker process builds its context once, at first use.
"""
from __future__ import annotations

import threading

from .config import Settings, load_settings
from .db import Database

_LOCK = threading.Lock()
_CONTEXT: "Context | None" = None


class Context:
    def __init__(self, settings: Settings, db: Database | None = None):
        self.settings = settings
        self.db = db or Database(settings.database_url, min_size=1, max_size=8)


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
