"""Google Calendar through events.list: {"page_token": T} during a full listing, {"sync_token":
S} after it. Incremental pages carry the old sync token until the last, so a crash repeats,
never skips."""

from __future__ import annotations

import json
from typing import Any
from collections.abc import Iterator

from ingest.records import Page

from .calendar import parse_event
from .dispatch import Dispatcher
from .transport import Transport


def calendar_pages(
    calls: Dispatcher, transport: Transport, calendar_id: str, state: dict[str, Any] | None
) -> Iterator[Page]:
    """One calendar's pages: a full listing, then incremental ones by sync token."""
    transport.ensure_token()
    resource = f"calendar:{calendar_id}"
    sync_token = (state or {}).get("sync_token")
    page_token = (state or {}).get("page_token")
    full = sync_token is None
    while True:
        params: dict[str, str | int | bool] = {"calendarId": calendar_id, "singleEvents": True, "maxResults": 2500}
        if page_token:
            params["pageToken"] = page_token
        if sync_token:
            params["syncToken"] = sync_token
        body = calls.call(
            "calendar",
            "events.list",
            lambda: transport.events().list(**params),  # noqa: B023 - called at once
            cursor_call=bool(sync_token or page_token),
        )
        tz = body.get("timeZone")
        items = tuple(parse_event(e, calendar_id, tz, resource) for e in body.get("items", []))
        page_token = body.get("nextPageToken")
        if page_token:
            cursor = {"page_token": page_token} if full else {"sync_token": sync_token}
            yield Page(items=items, cursor=json.dumps(cursor), full_sync=full)
            continue
        next_sync = body.get("nextSyncToken")
        yield Page(items=items, cursor=json.dumps({"sync_token": next_sync}), complete=True, full_sync=full)
        return
