"""The Google connector: Gmail (resource "gmail") and calendars ("calendar:<id>").

Gmail cursor (JSON, opaque to everyone else):

    {"phase": "full", "history_id": H0, "page_token": T, "after": ID, "done_threads": [...]}
        a full sync under way: H0 came from getProfile before the first list call, T is
        the messages.list page being worked on, ID the last listed id before which every
        id of that page is stored, done_threads the threads already fetched whole.
    {"phase": "incr", "history_id": H}
        incremental from H with history.list.

A full sync lists ids 500 at a time and fetches metadata in batches of <= 50 calls and
<= 250 units. Ids of one thread that appear together on a list page are fetched with one
threads.get (10 units for the whole thread, against 5 per message), single ones with
messages.get. Changes made while the full sync runs are after H0, so the incremental
round that follows replays them: nothing is missed between the two. Batches run a few at
a time (the account's concurrency cap) and pages are yielded in list order, so a cursor
never claims what is not stored.

Calendar cursor: {"page_token": T} during a full listing, {"sync_token": S} after it.
Incremental pages carry the old sync token until the last, so a crash repeats, never skips.
"""

from __future__ import annotations

import json
import logging
import time
from collections import OrderedDict
from datetime import datetime, timezone
from functools import partial
from typing import TYPE_CHECKING, Any
from collections.abc import Callable, Iterable, Iterator, Set

from ingest.audience import own_forms
from ingest.connector import Connector
from ingest.records import Item, Page, Removed

from .calendar_pages import calendar_pages
from .dispatch import Dispatcher
from .gmail import METADATA_HEADERS, parse_message
from .listing import Listing, SentEdge, Unit, batches, load_cursor, millis, plan
from .quota import Quota
from .transport import Transport

if TYPE_CHECKING:
    from google.auth.credentials import Credentials
    from googleapiclient.http import HttpRequest

log = logging.getLogger(__name__)
LIST_PAGE = 500
BATCH_CALLS = 50
BATCH_UNITS = 250
KEEP_DONE_THREADS = 5000
Fetch = Callable[[], list[Item]]
SENT_PAGE = 50  # the sent stage lists in small pages: it stops at the horizon, a page or two late
RECENT_DAYS = 180  # the months read first, whole: what provisional scores stand on


class GoogleConnector(Connector):
    provider = "google"
    catches_up_after_full_sync = True

    def __init__(
        self,
        credentials: Credentials,
        *,
        api_base: str,
        calendars: Iterable[str] = ("primary",),
        quota: Quota | None = None,
        list_page: int = LIST_PAGE,
        batch_calls: int = BATCH_CALLS,
        batch_units: int = BATCH_UNITS,
        sleep: Callable[[float], None] = time.sleep,
        address: str | None = None,
        recent_days: int = RECENT_DAYS,
    ) -> None:
        self.recent_days = recent_days
        self.transport = Transport(credentials, api_base)
        self.calendars = [c.strip() for c in calendars if c.strip()]
        self.quota = quota or Quota()
        self.list_page = list_page
        self.batch_calls = min(batch_calls, 100)
        # A batch lands at Google all at once: keep it within half a second of budget.
        self.batch_units = max(10, min(batch_units, int(self.quota.units_per_second / 2)))
        self.sleep = sleep
        self.address = address
        self._own: list[str] = []
        self._forms_of: tuple[str, ...] = ()
        self._forms: frozenset[str] = frozenset()
        self.calls = Dispatcher(self.transport, self.quota, sleep)

    # --- Connector ----------------------------------------------------------------

    def resources(self) -> list[str]:
        # Calendars first (a few cheap pages): provisional scores then have the meetings too.
        return [f"calendar:{c}" for c in self.calendars] + ["gmail"]

    def own_addresses(self) -> list[str]:
        return list(self._own)

    def pages(self, resource: str, cursor: str | None) -> Iterator[Page]:
        if resource == "gmail":
            state = load_cursor(cursor)
            if state is None or state.get("phase") == "full":
                return self._gmail_full(state)
            return self._gmail_incremental(state)
        if resource.startswith("calendar:"):
            return calendar_pages(self.calls, self.transport, resource.split(":", 1)[1], load_cursor(cursor))
        raise ValueError(f"unknown resource {resource!r}")

    def close(self) -> None:
        self.calls.close()

    # --- Gmail ----------------------------------------------------------------------

    def _gmail_get(self, message_id: str) -> HttpRequest:
        return self.transport.gmail_users("messages").get(
            userId="me", id=message_id, format="metadata", metadataHeaders=list(METADATA_HEADERS)
        )

    def _gmail_thread(self, thread_id: str) -> HttpRequest:
        return self.transport.gmail_users("threads").get(
            userId="me", id=thread_id, format="metadata", metadataHeaders=list(METADATA_HEADERS)
        )

    def _gmail_list(self, token: str | None, sent: bool = False) -> HttpRequest:
        # labelIds works under the gmail.metadata scope (q does not); both list newest first.
        return self.transport.gmail_users("messages").list(
            userId="me",
            maxResults=min(self.list_page, SENT_PAGE) if sent else self.list_page,
            includeSpamTrash=True,
            **({"labelIds": ["SENT"]} if sent else {}),
            **({"pageToken": token} if token else {}),
        )

    def _send_as(self) -> list[str]:
        body = self.calls.call(
            "gmail", "users.settings.sendAs.list", lambda: self.transport.gmail_users("sendAs").list(userId="me")
        )
        found = [str(s.get("sendAsEmail", "")).lower() for s in body.get("sendAs", [])]
        self._own = sorted({a for a in found if "@" in a} | ({self.address} if self.address else set()))
        return self._own

    def _own_forms(self) -> frozenset[str]:
        """The user's addresses as parse_message compares them (sendAs once listed, else the
        account's), worked out once per set rather than once per message."""
        known = tuple(self._own) or ((self.address,) if self.address else ())
        if known != self._forms_of:
            self._forms_of, self._forms = known, own_forms(known)
        return self._forms

    def _plan(self, listed: list[tuple[str, str]], threads_from: int) -> list[Unit]:
        return plan(listed, threads_from)

    def _batches(self, units: list[Unit]) -> list[list[Unit]]:
        return batches(units, self.batch_calls, self.batch_units)

    def _fetch(self, batch: list[Unit]) -> list[Item]:
        return self._fetch_dated(batch)[0]

    def _fetch_dated(self, batch: list[Unit], stored: Set[str] = frozenset()) -> tuple[list[Item], dict[str, int]]:
        """Fetch one batch of units: the items in the units' order (but for the messages of
        a thread that are in `stored`), and Gmail's internalDate (epoch ms) of every
        message fetched, by id."""
        calls: dict[str, tuple[str, Callable[[], HttpRequest]]] = {}
        for index, (kind, key, _ids) in enumerate(batch):
            rid = f"{kind[0]}{index}"
            if kind == "thread":
                calls[rid] = ("users.threads.get", partial(self._gmail_thread, key))
            else:
                calls[rid] = ("users.messages.get", partial(self._gmail_get, key))
        bodies = self.calls.batch("gmail", calls)
        own = self._own_forms()
        items: list[Item] = []
        dates: dict[str, int] = {}
        for index, (kind, _key, ids) in enumerate(batch):
            body = bodies.get(f"{kind[0]}{index}")
            if body is None:
                items.extend(Removed(i) for i in ids)  # deleted since it was listed
                continue
            messages = body.get("messages", []) if kind == "thread" else [body]
            dates.update((str(m.get("id")), millis(m.get("internalDate"))) for m in messages)
            if kind == "thread":
                messages = [m for m in messages if m.get("id") not in stored]
            items.extend(parse_message(m, own=own) for m in messages)
            if kind == "thread":
                fetched = {m.get("id") for m in body.get("messages", [])}
                items.extend(Removed(i) for i in ids if i not in fetched)
        return items, dates

    def _gmail_full(self, state: dict[str, Any] | None) -> Iterator[Page]:
        self.transport.ensure_token()
        if state is None:
            profile = self.calls.call(
                "gmail", "users.getProfile", lambda: self.transport.gmail_users("users").getProfile(userId="me")
            )
            self.address = self.address or str(profile.get("emailAddress", "")).lower() or None
            state = {
                "phase": "full",
                "stage": "sent",
                "horizon_ms": int((time.time() - self.recent_days * 86_400) * 1000),
                "history_id": int(profile["historyId"]),
                "page_token": None,
                "after": None,
                "done_threads": [],
                # What the sent stage stored, kept whole to the end of the full sync: the all
                # stage never fetches these threads again, nor stores these messages twice.
                "sent_threads": [],
                "sent_ids": [],
                "seen": 0,
                "total": int(profile.get("messagesTotal") or 0) or None,
                "covered_ms": None,
            }
        own = tuple(self._send_as())
        # Threads planned for a whole fetch in this run; the cursor keeps only those stored.
        state.setdefault("sent_threads", [])
        state.setdefault("sent_ids", [])
        claimed = set(state["done_threads"]) | set(state["sent_threads"])
        sent_ids = set(state["sent_ids"])
        edge = SentEdge(state.get("horizon_ms"))
        jobs = self._full_jobs(
            state.get("stage", "all"), state["page_token"], state.get("after"), claimed, sent_ids, edge
        )
        for (listing, batch, last_of_listing), (items, dates) in self.calls.pipelined(jobs):
            sent = listing["stage"] == "sent"
            for kind, key, ids in batch:
                listing["covered"].update(listing["positions"][i] for i in ids)
                listing["dates"].update((i, dates[i]) for i in ids if i in dates)
                if sent:
                    state["sent_threads" if kind == "thread" else "sent_ids"].append(key)
                elif kind == "thread":
                    state["done_threads"].append(key)
            while listing["prefix"] in listing["covered"]:
                listing["prefix"] += 1
            state["done_threads"] = state["done_threads"][-KEEP_DONE_THREADS:]
            state["seen"] += sum(1 for i in items if not isinstance(i, Removed))
            if sent:
                edge.saw(listing["dates"].values())
            elif listing["prefix"]:
                # Newest first: every message down to the stored prefix's last is in.
                last = listing["dates"].get(listing["listed"][listing["prefix"] - 1][0])
                if last:  # 0: an unknown or impossible internalDate says nothing of coverage
                    state["covered_ms"] = min(last, state.get("covered_ms") or last)
            final = last_of_listing and listing["next"] is None and not sent
            state["stage"] = listing["stage"]
            if final:
                cursor = {"phase": "incr", "history_id": state["history_id"]}
            elif last_of_listing and sent and (listing["next"] is None or listing["stop"]):
                state.update(stage="all", page_token=None, after=None)
                cursor = state
            elif last_of_listing:
                state.update(page_token=listing["next"], after=None)
                cursor = state
            else:
                prefix = listing["prefix"]
                state.update(
                    page_token=listing["token"], after=listing["listed"][prefix - 1][0] if prefix else listing["after"]
                )
                cursor = state
            covered = state.get("covered_ms")
            yield Page(
                items=tuple(items),
                cursor=json.dumps(cursor),
                complete=final,
                full_sync=True,
                own_addresses=own,
                progress=(state["seen"], state["total"]),
                covered_since=datetime.fromtimestamp(covered / 1000, timezone.utc) if covered else None,
            )

    def _full_jobs(
        self, stage: str, token: str | None, after: str | None, claimed: set[str], sent_ids: set[str], edge: SentEdge
    ) -> Iterator[tuple[tuple[Listing, list[Unit], bool], Callable[[], tuple[list[Item], dict[str, int]]]]]:
        """Batches of the full listing, listing the next page as soon as the pipeline wants
        more work: ((listing, batch, last_of_listing), job) pairs. The "sent" stage lists the
        user's own mail newest first, whole threads, until it passes the horizon; the "all"
        stage then lists everything newest first, skipping threads already fetched, and the
        messages the sent stage fetched alone (also inside a thread fetched later)."""
        while True:
            sent = stage == "sent"
            body = self.calls.call("gmail", "users.messages.list", partial(self._gmail_list, token, sent))
            listed = [(m["id"], m.get("threadId", "")) for m in body.get("messages", [])]
            if after:
                ids = [m for m, _ in listed]
                if after in ids:  # else it is gone: the whole page again, stored rows are upserts
                    listed = listed[ids.index(after) + 1 :]
            listed = [(m, t) for m, t in listed if t not in claimed and m not in sent_ids]
            # The sent stage fetches a reply's thread whole (the answers too, for one call).
            units = plan(listed, threads_from=2, replies=sent)
            if not sent:
                claimed.update(key for kind, key, _ in units if kind == "thread")
            listing: Listing = {
                "stage": stage,
                "token": token,
                "next": body.get("nextPageToken"),
                "after": after,
                "listed": listed,
                "positions": {m: i for i, (m, _) in enumerate(listed)},
                "covered": set(),
                "prefix": 0,
                "dates": {},
                "stop": False,
            }
            batches = self._batches(units) or [[]]
            for number, batch in enumerate(batches):
                if sent and edge.passed():
                    # Past the horizon: the rest of the page waits for the all stage. An
                    # empty batch closes the stage, so the cursor moves on with it.
                    listing["stop"] = True
                    yield (listing, [], True), partial(self._fetch_dated, [])
                    break
                if sent:  # claimed only once asked for: the all stage fetches what was not
                    claimed.update(key for kind, key, _ in batch if kind == "thread")
                    sent_ids.update(key for kind, key, _ in batch if kind == "message")
                yield (listing, batch, number == len(batches) - 1), partial(self._fetch_dated, batch, sent_ids)
            if sent and (listing["next"] is None or edge.passed()):
                listing["stop"] = True
                stage, token, after = "all", None, None
                continue
            if listing["next"] is None:
                return
            token, after = listing["next"], None

    def _gmail_incremental(self, state: dict[str, Any]) -> Iterator[Page]:
        self.transport.ensure_token()
        start = int(state["history_id"])
        token: str | None = None
        latest = start
        order: OrderedDict[str, str] = OrderedDict()  # message id -> thread id, to fetch
        removed: set[str] = set()
        while True:
            params: dict[str, str | int] = {"userId": "me", "startHistoryId": str(start), "maxResults": 500}
            if token:
                params["pageToken"] = token
            body = self.calls.call(
                "gmail",
                "users.history.list",
                lambda: self.transport.gmail_users("history").list(**params),  # noqa: B023 - called at once
                cursor_call=True,
            )
            for record in body.get("history", []):
                for key in ("messagesAdded", "labelsAdded", "labelsRemoved"):
                    for change in record.get(key, []):
                        message = change.get("message", {})
                        if message.get("id") and message["id"] not in removed:
                            order[message["id"]] = message.get("threadId", "")
                for change in record.get("messagesDeleted", []):
                    message_id = change.get("message", {}).get("id")
                    if message_id:
                        removed.add(message_id)
                        order.pop(message_id, None)
            latest = max(latest, int(body.get("historyId", start)))
            token = body.get("nextPageToken")
            if not token:
                break
        old = json.dumps({"phase": "incr", "history_id": start})
        new = json.dumps({"phase": "incr", "history_id": latest})
        units = self._plan(list(order.items()), threads_from=3)
        batches = self._batches(units)
        gone = tuple(Removed(i) for i in sorted(removed))
        if not batches:
            yield Page(items=gone, cursor=new, complete=True)
            return
        jobs: list[tuple[int, Fetch]] = [(number, partial(self._fetch, b)) for number, b in enumerate(batches)]
        for number, items in self.calls.pipelined(jobs):
            final = number == len(jobs) - 1
            yield Page(items=tuple(items) + (gone if final else ()), cursor=new if final else old, complete=final)


__all__ = ["GoogleConnector"]
