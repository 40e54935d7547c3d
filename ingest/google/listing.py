"""The Gmail full listing's pieces: work units and their batches under the quota, the
state of one listed page, and the sent stage's edge (see ingest.google.connector)."""

from __future__ import annotations

import json
from collections import OrderedDict
from typing import Any, Literal, TypedDict
from collections.abc import Iterable

from ingest.errors import CursorExpired

from .quota import GMAIL_COSTS

# One fetch: ("thread", thread id, the listed ids in it) or ("message", id, [id]).
Unit = tuple[Literal["thread", "message"], str, list[str]]


class Listing(TypedDict):
    """One messages.list page of a full sync, and how much of it is stored."""

    stage: str  # "sent" (the user's own mail, recent first) or "all"
    token: str | None  # the page token that listed it
    next: str | None  # its nextPageToken
    after: str | None  # the id after which this run started on the page
    listed: list[tuple[str, str]]  # (message id, thread id) still to fetch
    positions: dict[str, int]  # message id -> its place in `listed`
    covered: set[int]  # places fetched
    prefix: int  # every place before this one is fetched
    dates: dict[str, int]  # message id -> internalDate (ms) of the listed ids fetched
    stop: bool  # the sent stage ends with this listing


class SentEdge:
    """How far back the sent stage has read: it ends once its mail is older than the
    horizon (the recent months that provisional scores need whole)."""

    def __init__(self, horizon_ms: int | None) -> None:
        self.horizon_ms = horizon_ms
        self.oldest: int | None = None

    def saw(self, dates: Iterable[int]) -> None:
        for value in dates:
            if value and (self.oldest is None or value < self.oldest):
                self.oldest = value

    def passed(self) -> bool:
        return self.horizon_ms is None or (self.oldest is not None and self.oldest < self.horizon_ms)


# internalDate values a message can really have (1970-01-02 .. 9000-01-01, as gmail.py
# bounds dates); anything else is a hostile or broken value and counts as unknown (0).
_EARLIEST_MS = 86_400_000
_LATEST_MS = 221_845_392_000_000


def millis(value: Any) -> int:
    try:
        ms = int(value)
    except (TypeError, ValueError):
        return 0
    return ms if _EARLIEST_MS <= ms <= _LATEST_MS else 0


def plan(listed: list[tuple[str, str]], threads_from: int, replies: bool = False) -> list[Unit]:
    """Work units in list order: ("thread", tid, ids) when `threads_from` or more ids
    of one thread are listed together, else ("message", id, [id]). With `replies`, also
    the thread of a listed id that is not its thread's first message (Gmail names a
    thread after its first message): a thread of two or more, whole for one call."""
    by_thread: OrderedDict[str, list[str]] = OrderedDict()
    for message_id, thread_id in listed:
        by_thread.setdefault(thread_id or message_id, []).append(message_id)
    units: list[Unit] = []
    emitted: set[str] = set()
    for message_id, thread_id in listed:
        key = thread_id or message_id
        ids = by_thread[key]
        if thread_id and (len(ids) >= threads_from or (replies and any(i != thread_id for i in ids))):
            if key not in emitted:
                emitted.add(key)
                units.append(("thread", key, ids))
        else:
            units.append(("message", message_id, [message_id]))
    return units


def batches(units: list[Unit], max_calls: int, max_units: int) -> list[list[Unit]]:
    """Units in batches of at most `max_calls` calls and `max_units` quota units."""
    out: list[list[Unit]] = []
    current: list[Unit] = []
    cost = 0
    for unit in units:
        unit_cost = GMAIL_COSTS["users.threads.get" if unit[0] == "thread" else "users.messages.get"]
        if current and (len(current) >= max_calls or cost + unit_cost > max_units):
            out.append(current)
            current, cost = [], 0
        current.append(unit)
        cost += unit_cost
    if current:
        out.append(current)
    return out


def load_cursor(cursor: str | None) -> dict[str, Any] | None:
    """A stored cursor's state (None: start afresh); unreadable ones expire."""
    if not cursor:
        return None
    try:
        state = json.loads(cursor)
    except ValueError:
        raise CursorExpired("unreadable cursor") from None
    if not isinstance(state, dict):
        raise CursorExpired("unreadable cursor")
    return state
