"""The provider-neutral half of an OAuth callback route.

Both /v1/connect/<provider>/callback routes hand the redirect's query to their provider's
complete_flow, then look up the connected address and queue a first sync (through
the app's `Jobs`, `app.state.jobs`). What differs is
only the response (Google answers a browser with a page, Microsoft with JSON), so `finish`
returns a `Connected` on success and raises `CallbackRefused` carrying the HTTP status to
answer with: 400 for a sign-in the person can retry (unknown, replayed, refused), 503 when
the provider is not configured or not reachable.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from ingest.errors import ConfigError, InputError, TransientError

from ..config import Settings
from ..db import Database
from ..jobs import Jobs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Connected:
    account_id: int
    address: str
    sync_queued: bool


class CallbackRefused(Exception):
    """The flow did not complete; `status` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def finish(complete_flow: Callable[[Settings, Database, dict], int], settings: Settings, db: Database,
           answer: dict, jobs: Jobs) -> Connected:
    """Complete the flow `answer` (the redirect's query) belongs to and queue the first sync."""
    try:
        account_id = complete_flow(settings, db, answer)
    except InputError as exc:
        raise CallbackRefused(400, str(exc)) from None
    except (ConfigError, TransientError) as exc:
        raise CallbackRefused(503, str(exc)) from None
    with db.tx() as conn:
        address = conn.execute("SELECT address FROM accounts WHERE id = %s", (account_id,)).fetchone()[0]
    return Connected(account_id, address, jobs.queue_first_sync(account_id))


__all__ = ["Connected", "CallbackRefused", "finish"]
