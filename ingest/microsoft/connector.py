"""Outlook mail and calendar metadata through Graph delta queries.

Resources: "mail:inbox", "mail:sentitems" (plus any folder the user adds, by well-known
name or id) and "calendar". A round follows `@odata.nextLink` to the `@odata.deltaLink`;
every page carries the link that continues after it, so a crash resumes where the last
committed page ended. Cursors are JSON: {"r": resource, "link": url, "full": bool} (and the
calendar window for "calendar"); a cursor made for another resource, or pointing at
another Graph root, is treated as expired rather than followed.

The calendar is a `calendarView/delta` over a window: two years back, ninety days ahead.
Graph binds a delta link to its window, so once the window's end lags the clock by more
than `window_step_days` (a week) the cursor counts as expired and the engine runs a full
pass over the current window: the window moves forward, a week at a time.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any
from collections.abc import Callable, Iterator, Mapping, Sequence

from ..audience import own_forms
from ..connector import Connector
from ..errors import ConfigError, CursorExpired, TransientError
from ..records import Item, Page
from .calendar import parse_event
from .graph import GraphClient
from .mail import MESSAGE_SELECT, normalise_address, parse_message

# The user's own mail first: the ties they keep up are read whole before the rest.
DEFAULT_FOLDERS = ("sentitems", "inbox")

# One Graph delta entry and the resource it came from -> the record kept.
Parser = Callable[[dict[str, Any], str], Item]


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _received(entry: Any) -> datetime | None:
    """A message entry's receivedDateTime, None when absent or unreadable (@removed rows)."""
    stamp = entry.get("receivedDateTime") if isinstance(entry, dict) else None
    try:
        return _parse(stamp) if isinstance(stamp, str) else None
    except ValueError:
        return None


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


class MicrosoftConnector(Connector):
    provider = "microsoft"
    catches_up_after_full_sync = True

    def __init__(
        self,
        client: GraphClient,
        *,
        folders: Sequence[str] = DEFAULT_FOLDERS,
        calendar: bool = True,
        page_size: int = 1000,
        past_days: int = 730,
        future_days: int = 90,
        window_step_days: int = 7,
        now: Callable[[], datetime] = lambda: datetime.now(timezone.utc),
    ) -> None:
        self.client = client
        self.folders = tuple(dict.fromkeys(f.strip() for f in folders if f.strip()))
        self.calendar = calendar
        self.page_size = page_size
        self.past = timedelta(days=past_days)
        self.future = timedelta(days=future_days)
        self.window_step = timedelta(days=window_step_days)
        self.now = now
        self._own: list[str] | None = None

    # -- Connector ---------------------------------------------------------------------------
    def resources(self) -> list[str]:
        # The calendar first (a few pages): provisional scores then have the meetings too.
        return (["calendar"] if self.calendar else []) + [f"mail:{folder}" for folder in self.folders]

    def pages(self, resource: str, cursor: str | None) -> Iterator[Page]:
        if resource.startswith("mail:") and resource[5:] in self.folders:
            return self._mail_pages(resource, cursor)
        if resource == "calendar" and self.calendar:
            return self._calendar_pages(cursor)
        raise ConfigError(f"not a resource of this Microsoft account: {resource}")

    def own_addresses(self) -> list[str]:
        if self._own is None:
            me = self.client.get("me", params={"$select": "mail,userPrincipalName,proxyAddresses"})
            found = [me.get("mail"), me.get("userPrincipalName")]
            found += [
                p[5:] for p in me.get("proxyAddresses") or () if isinstance(p, str) and p.lower().startswith("smtp:")
            ]
            addresses = (normalise_address(a) for a in found)
            self._own = list(dict.fromkeys(a for a in addresses if a and "@" in a and not a.startswith("/")))
        return list(self._own)

    def close(self) -> None:
        self.client.close()

    # -- cursors -------------------------------------------------------------------------------
    def _decode(self, resource: str, cursor: str | None) -> dict[str, Any] | None:
        if cursor is None:
            return None
        try:
            state = json.loads(cursor)
        except ValueError:
            raise CursorExpired(f"unreadable cursor for {resource}") from None
        if not isinstance(state, dict) or state.get("r") != resource or not isinstance(state.get("link"), str):
            raise CursorExpired(f"the stored cursor belongs to another resource than {resource}")
        if not self.client.owns(state["link"]):
            raise CursorExpired(f"the stored link for {resource} points at another Graph root")
        return state

    @staticmethod
    def _encode(resource: str, link: str, full: bool, **extra: str | None) -> str:
        return json.dumps({"r": resource, "link": link, "full": full, **extra}, separators=(",", ":"))

    def _prefer(self) -> str:
        # ImmutableId keeps a message's id when it moves between folders.
        return f'odata.maxpagesize={self.page_size}, IdType="ImmutableId", outlook.timezone="UTC"'

    # -- rounds ----------------------------------------------------------------------------------
    def _round(
        self,
        resource: str,
        url: str,
        params: dict[str, str] | None,
        full: bool,
        parse: Parser,
        total: int | None,
        extra: Mapping[str, str | None],
    ) -> Iterator[Page]:
        done = 0
        covered: datetime | None = None
        own = tuple(self.own_addresses()) if full else ()
        while True:
            data = self.client.get(url, params=params, prefer=self._prefer())
            params = None  # links carry their own query
            entries = data.get("value") or ()
            items = tuple(parse(entry, resource) for entry in entries)
            done += len(items)
            if full and extra.get("newest"):  # newest first: all after this page's oldest is in
                dated = [d for d in map(_received, entries) if d is not None]
                covered = min(dated) if dated else covered
            progress = (done, max(total, done) if total is not None else None)
            next_link, delta_link = data.get("@odata.nextLink"), data.get("@odata.deltaLink")
            if next_link:
                yield Page(
                    items,
                    self._encode(resource, next_link, full, **extra),
                    complete=False,
                    full_sync=full,
                    own_addresses=own,
                    progress=progress,
                    covered_since=covered,
                )
                url = next_link
            elif delta_link:
                yield Page(
                    items,
                    self._encode(resource, delta_link, False, **extra),
                    complete=True,
                    full_sync=full,
                    own_addresses=own,
                    progress=(done, done),
                )
                return
            else:
                raise TransientError(f"Graph page for {resource} had neither nextLink nor deltaLink")

    def _mail_pages(self, resource: str, cursor: str | None) -> Iterator[Page]:
        folder = resource[5:]
        state = self._decode(resource, cursor)
        if state is not None:
            newest = {"newest": "1"} if state.get("newest") else {}
            yield from self._round(
                resource, state["link"], None, bool(state.get("full")), self._mail_parser(), None, newest
            )
            return
        total = self.client.get(f"me/mailFolders/{folder}", params={"$select": "totalItemCount"}).get("totalItemCount")
        yield from self._round(
            resource,
            f"me/mailFolders/{folder}/messages/delta",
            # Newest first (the one $orderby message delta takes): recent months whole early.
            {"$select": ",".join(MESSAGE_SELECT), "$orderby": "receivedDateTime desc"},
            True,
            self._mail_parser(),
            total if isinstance(total, int) else None,
            {"newest": "1"},
        )

    def _mail_parser(self) -> Parser:
        # The mailbox's addresses are kept with their role on a broadcast (ingest.audience).
        own = own_forms(self.own_addresses())
        return lambda entry, resource: parse_message(entry, resource, own)

    def _calendar_pages(self, cursor: str | None) -> Iterator[Page]:
        resource = "calendar"
        state = self._decode(resource, cursor)
        now = self.now()
        if state is not None:
            end = state.get("end")
            settled = state.get("full") is False and "$deltatoken" in state["link"]
            if settled and isinstance(end, str) and now + self.future - _parse(end) > self.window_step:
                # A delta link is bound to its window; a new window is a new full pass, under a
                # new generation so that what left the window (or vanished meanwhile) goes.
                raise CursorExpired("the calendar window moved forward: full pass over the new window")
            yield from self._round(
                resource,
                state["link"],
                None,
                bool(state.get("full")),
                parse_event,
                None,
                {"start": state.get("start"), "end": end},
            )
            return
        window = {"start": _iso(now - self.past), "end": _iso(now + self.future)}
        yield from self._round(
            resource,
            "me/calendarView/delta",
            {"startDateTime": window["start"], "endDateTime": window["end"]},
            True,
            parse_event,
            None,
            window,
        )
