"""Calendar REST handlers of the emulator (calendar.v3): calendarList.list and events.list
with `singleEvents`, key-based page tokens, `syncToken` and 410 for a stale one."""

from __future__ import annotations

from datetime import datetime, timezone

from .calendars import Calendar, StoredEvent, event_json
from .gmail_api import ApiError, _decode_token, _encode_token, _int, _one, _require, not_found

UTC = timezone.utc
LIST_SCOPES = {
    "https://www.googleapis.com/auth/calendar",
    "https://www.googleapis.com/auth/calendar.readonly",
    "https://www.googleapis.com/auth/calendar.calendarlist",
    "https://www.googleapis.com/auth/calendar.calendarlist.readonly",
}
EVENT_SCOPES = {
    "https://www.googleapis.com/auth/calendar",
    "https://www.googleapis.com/auth/calendar.readonly",
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/calendar.events.readonly",
    "https://www.googleapis.com/auth/calendar.events.owned",
    "https://www.googleapis.com/auth/calendar.events.owned.readonly",
}
EXCLUSIVE_WITH_SYNC = ("timeMin", "timeMax", "orderBy", "q", "iCalUID", "updatedMin")


def list_calendars(calendars: dict[str, Calendar], scopes, query) -> dict:
    _require(scopes, LIST_SCOPES)
    items = [
        {
            "kind": "calendar#calendarListEntry",
            "etag": f'"{c.seq}"',
            "id": c.id,
            "summary": c.summary,
            "timeZone": c.timezone,
            "accessRole": c.access_role,
            "defaultReminders": [],
            **({"primary": True} if c.primary else {}),
        }
        for c in calendars.values()
    ]
    return {"kind": "calendar#calendarList", "etag": '"1"', "items": items}


def _parse_time(raw: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise ApiError(400, f"Bad Request: invalid time {raw}", "badRequest") from None
    if value.tzinfo is None:
        raise ApiError(400, "Bad Request: time needs an offset", "badRequest")
    return value


def list_events(calendar: Calendar, owner: str, scopes, query) -> dict:
    _require(scopes, EVENT_SCOPES)
    if (_one(query, "singleEvents") or "false").lower() != "true":
        # The store holds expanded occurrences only; say so instead of answering differently.
        raise ApiError(400, "The emulator serves singleEvents=true only", "badRequest")
    size = _int(query, "maxResults", 250, 2500)
    token = _one(query, "pageToken")
    sync_token = _one(query, "syncToken")
    if token:
        state = _decode_token(token)
    elif sync_token:
        if any(_one(query, name) for name in EXCLUSIVE_WITH_SYNC):
            raise ApiError(400, "Sync token cannot be used with other request restrictions.", "invalid")
        seq, epoch = _sync_seq(sync_token)
        state = {"mode": "changes", "from": seq, "epoch": epoch, "upto": calendar.seq, "after": None}
    else:
        state = {
            "mode": "full",
            "upto": calendar.seq,
            "after": None,
            "show_deleted": (_one(query, "showDeleted") or "").lower() == "true",
            "min": _one(query, "timeMin"),
            "max": _one(query, "timeMax"),
        }
    if state["mode"] == "changes":
        changed = calendar.changed_after(state["from"], state.get("epoch", 0))
        if changed is None:
            raise ApiError(410, "Sync token is no longer valid, a full sync is required.", "fullSyncRequired")
        events = [e for e in changed if e.changed_seq <= state["upto"]]
        key = _change_key
    else:
        events = calendar.ordered()
        if not state.get("show_deleted"):
            events = [e for e in events if e.status != "cancelled"]
        if state.get("min"):
            low = _parse_time(state["min"])
            events = [e for e in events if e.end.astimezone(UTC) > low]
        if state.get("max"):
            high = _parse_time(state["max"])
            events = [e for e in events if e.start.astimezone(UTC) < high]
        key = _time_key
    if state["after"] is not None:
        after = tuple(state["after"])
        events = [e for e in events if key(e) > after]
    chunk = events[:size]
    body: dict = {
        "kind": "calendar#events",
        "etag": f'"{calendar.seq}"',
        "summary": calendar.summary,
        "updated": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "timeZone": calendar.timezone,
        "accessRole": calendar.access_role,
        "defaultReminders": [],
        "items": [event_json(e, calendar, owner) for e in chunk],
    }
    if len(events) > size:
        body["nextPageToken"] = _encode_token(dict(state, after=list(key(chunk[-1]))))
    else:
        body["nextSyncToken"] = _encode_token({"seq": state["upto"], "epoch": calendar.epoch})
    return body


def _sync_seq(token: str) -> tuple[int, int]:
    try:
        state = _decode_token(token)
        return int(state["seq"]), int(state.get("epoch", 0))
    except (ApiError, KeyError, TypeError, ValueError):
        raise ApiError(410, "Sync token is no longer valid, a full sync is required.", "fullSyncRequired") from None


def _time_key(event: StoredEvent) -> tuple:
    return (event.start.astimezone(UTC).isoformat(), event.id)


def _change_key(event: StoredEvent) -> tuple:
    return (event.changed_seq, event.id)


def find_calendar(calendars: dict[str, Calendar], owner: str, calendar_id: str) -> Calendar:
    if calendar_id == "primary":
        calendar_id = owner
    calendar = calendars.get(calendar_id)
    if calendar is None:
        raise not_found()
    return calendar
