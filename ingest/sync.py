"""The sync engine: drives a Connector and a store through explicit sync states.

States of an account's resource, and the events that move them:

    initial ──page(complete)──> incremental ──CursorExpired──> full_resync
       ^                           │  ^                            │
       │                           │  └────────page(complete)──────┘
    reconnect <──AuthRevoked── auth_revoked        disabled (never synced)

A page of items and the cursor after it are committed together (`store.commit_page`), so
a crash repeats at most one page and never skips one. A full (re)sync runs under a new
generation number; when it completes, rows of the resource from older generations (gone at
the provider while we were not looking) are removed in that same last transaction. A
connector that reads a live source (`catches_up_after_full_sync`) gets one incremental
round right after its full sync completes, so what changed while it read is in too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol
from collections.abc import Callable, Iterable

from .connector import Connector
from .errors import AuthRevoked, CursorExpired
from .records import Page, SyncReport

log = logging.getLogger(__name__)

STATES = ("initial", "incremental", "full_resync", "auth_revoked", "disabled")
EVENTS = ("page", "complete", "cursor_expired", "auth_revoked", "reconnect", "disable", "enable")


def next_state(state: str, event: str) -> str:
    """The sync state machine, as a pure function (property-tested)."""
    if state not in STATES or event not in EVENTS:
        raise ValueError(f"unknown state/event {state!r}/{event!r}")
    if event == "disable":
        return "disabled"
    if state == "disabled":
        return "initial" if event == "enable" else "disabled"
    if event == "auth_revoked":
        return "auth_revoked"
    if state == "auth_revoked":
        return "initial" if event == "reconnect" else "auth_revoked"
    if event == "cursor_expired":
        return "full_resync"
    if event == "complete":
        return "incremental"
    return state  # page, reconnect/enable on a live resource: no change


@dataclass
class ResourceState:
    cursor: str | None
    state: str
    generation: int


class SyncStore(Protocol):
    def load(self, resource: str) -> ResourceState: ...

    def commit_page(self, resource: str, page: Page, state: str, generation: int) -> SyncReport: ...

    def reset(self, resource: str, state: str) -> None: ...

    def set_account_state(self, state: str, error: str | None = None) -> None: ...


Progress = Callable[[str, SyncReport, Page], None]


def run_sync(
    store: SyncStore,
    connector: Connector,
    resources: Iterable[str] | None = None,
    progress: Progress | None = None,
    max_resyncs: int = 2,
) -> list[SyncReport]:
    """Sync every resource of `connector` from its stored cursor; returns one report each.

    RateLimited and TransientError propagate (the caller retries with backoff; the cursor
    of the last committed page is where the retry starts). AuthRevoked marks the account
    and propagates. CursorExpired restarts the resource as a full resync.
    """
    reports = []
    try:
        for resource in list(resources) if resources is not None else connector.resources():
            reports.append(_sync_resource(store, connector, resource, progress, max_resyncs))
    except AuthRevoked as exc:
        store.set_account_state("auth_revoked", str(exc) or "access was revoked; reconnect the account")
        raise
    store.set_account_state("incremental", None)
    return reports


def _sync_resource(
    store: SyncStore, connector: Connector, resource: str, progress: Progress | None, max_resyncs: int
) -> SyncReport:
    total = SyncReport(resource=resource)
    resyncs = 0
    caught_up = not getattr(connector, "catches_up_after_full_sync", False)
    while True:
        current = store.load(resource)
        state = current.state if current.state in ("initial", "full_resync", "incremental") else "initial"
        generation = current.generation + 1 if current.cursor is None else current.generation
        try:
            finished_full = False
            for page in connector.pages(resource, current.cursor):
                new_state = next_state(state, "complete" if page.complete else "page")
                report = store.commit_page(resource, page, new_state, generation)
                total = _add(total, report)
                state = new_state
                finished_full = page.complete and page.full_sync
                if progress:
                    progress(resource, total, page)
            if finished_full and not caught_up:
                caught_up = True  # one incremental round: what changed while the full sync read
                continue
            return total
        except CursorExpired as exc:
            resyncs += 1
            log.warning("cursor for %s expired (%s): full resync", resource, exc)
            if resyncs > max_resyncs:
                raise
            store.reset(resource, next_state(state, "cursor_expired"))


def _add(a: SyncReport, b: SyncReport) -> SyncReport:
    return SyncReport(
        resource=a.resource,
        written=a.written + b.written,
        quarantined=a.quarantined + b.quarantined,
        removed=a.removed + b.removed,
        pages=a.pages + b.pages,
        full_sync=a.full_sync or b.full_sync,
    )
