"""Graph's resources in the emulator: /me, mail folders, messages delta, calendarView delta.

`$select` is honoured (and checked against `message`'s properties; content properties are
refused under Mail.ReadBasic), `Prefer: odata.maxpagesize` sets the page size up to the
emulator's maximum, `Prefer: outlook.timezone` sets the zone of event times (UTC
otherwise). Links carry their state in `$skiptoken` / `$deltatoken`.
"""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from urllib.parse import quote
from zoneinfo import ZoneInfo

from werkzeug.wrappers import Request, Response

from .mailbox import Mailbox, StaleToken, decode_token, encode_token, overlaps
from .moments import named_zone, stored_moment
from .responses import CONTENT, DEFAULT_PAGE, MESSAGE_PROPERTIES, _json, graph_error, prefer

USER_PROPERTIES = (
    "id",
    "displayName",
    "mail",
    "userPrincipalName",
    "givenName",
    "surname",
    "jobTitle",
    "preferredLanguage",
    "proxyAddresses",
)


def route(emulator, request: Request, path: str, mailbox: Mailbox, scopes: set[str]) -> Response:
    parts = [p for p in path.split("/") if p]
    if not parts or parts[0] != "me":
        return graph_error(400, "BadRequest", f"Resource not found for the segment '{parts[0] if parts else ''}'.")
    if parts == ["me"]:
        if not scopes & {"user.read", "user.read.all"}:
            return graph_error(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
        return me(emulator, request, mailbox)
    if parts[1] == "mailFolders":
        if not scopes & {"mail.readbasic", "mail.read", "mail.readwrite"}:
            return graph_error(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        return mail(emulator, request, parts[2:], mailbox, scopes)
    if parts[1:] == ["calendarView", "delta"]:
        if not scopes & {"calendars.readbasic", "calendars.read", "calendars.readwrite"}:
            return graph_error(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        return calendar_delta(emulator, request, mailbox)
    return graph_error(400, "BadRequest", f"Resource not found for the segment '{parts[1]}'.")


def _context(emulator, what: str) -> str:
    return f"{emulator.graph_base}/$metadata#{what}"


def me(emulator, request: Request, mailbox: Mailbox) -> Response:
    full = {
        "id": mailbox.user_id,
        "displayName": mailbox.display_name,
        "mail": mailbox.upn,
        "userPrincipalName": mailbox.upn,
        "givenName": mailbox.display_name.split(" ")[0],
        "surname": mailbox.display_name.split(" ")[-1],
        "jobTitle": None,
        "preferredLanguage": "en-US",
        "proxyAddresses": [f"SMTP:{mailbox.upn}"]
        + [f"smtp:{a}" for a in mailbox.aliases if a != mailbox.upn]
        + [f"x500:/o=ExchangeLabs/ou=Exchange Administrative Group/cn=Recipients/cn={mailbox.user_id}"],
    }
    select = [s for s in request.args.get("$select", "").split(",") if s]
    unknown = [s for s in select if s not in USER_PROPERTIES]
    if unknown:
        return graph_error(
            400, "BadRequest", f"Could not find a property named '{unknown[0]}' on type 'microsoft.graph.user'."
        )
    keep = select or [k for k in USER_PROPERTIES if k != "proxyAddresses"]
    body = {"@odata.context": _context(emulator, "users/$entity")}
    body.update({k: full[k] for k in keep if k in full})
    body.setdefault("id", mailbox.user_id)
    return _json(body)


def _page_size(request: Request, emulator) -> tuple[int, dict]:
    wanted = prefer(request).get("odata.maxpagesize")
    size = DEFAULT_PAGE
    if wanted and wanted.isdigit() and int(wanted) > 0:
        size = min(int(wanted), emulator.max_page_size)
        return size, {"Preference-Applied": f"odata.maxpagesize={size}"}
    return size, {}


def mail(emulator, request: Request, rest: list[str], mailbox: Mailbox, scopes: set[str]) -> Response:
    if not rest:
        folders = [mailbox.folder_json(f) for f in mailbox.folders]
        return _json({"@odata.context": _context(emulator, "users('me')/mailFolders"), "value": folders})
    folder_id = mailbox.folder_id(rest[0])
    if folder_id is None:
        return graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
    if len(rest) == 1:
        folder = mailbox.folder_json(folder_id)
        select = [s for s in request.args.get("$select", "").split(",") if s]
        if select:
            folder = {k: v for k, v in folder.items() if k in select or k == "id"}
        return _json({"@odata.context": _context(emulator, "users('me')/mailFolders/$entity"), **folder})
    if rest[1:] != ["messages", "delta"]:
        return graph_error(400, "BadRequest", "Unsupported segment.")
    collection = f"mail:{folder_id}"
    link = f"{emulator.graph_base}/me/mailFolders/{quote(folder_id)}/messages/delta"
    try:
        if request.args.get("$skiptoken"):
            state = decode_token(request.args["$skiptoken"])
        elif request.args.get("$deltatoken"):
            state = mailbox.next_round(decode_token(request.args["$deltatoken"]), collection)
        else:
            select = [s.strip() for s in request.args.get("$select", "").split(",") if s.strip()]
            unknown = [s for s in select if s not in MESSAGE_PROPERTIES]
            if unknown:
                return graph_error(
                    400,
                    "RequestBroker--ParseUri",
                    f"Could not find a property named '{unknown[0]}' on type 'microsoft.graph.message'.",
                )
            if (
                "mail.readbasic" in scopes
                and not scopes & {"mail.read", "mail.readwrite"}
                and (not select or set(select) & CONTENT)
            ):
                select = [s for s in (select or sorted(MESSAGE_PROPERTIES)) if s not in CONTENT]
            # Graph's message delta takes one $orderby, receivedDateTime desc (newest first);
            # without it the order is not guaranteed (here: change order).
            order = request.args.get("$orderby", "").strip()
            if order and " ".join(order.split()).lower() != "receiveddatetime desc":
                return graph_error(
                    400, "ErrorInvalidParameter", "The only supported $orderby is 'receivedDateTime desc'."
                )
            state = mailbox.start_round(collection, 0, {"s": select, **({"o": "r"} if order else {})})
        size, headers = _page_size(request, emulator)
        items, after = mailbox.page(state, size)
    except StaleToken as exc:
        return graph_error(410, "syncStateNotFound", f"The sync state generation is no longer valid: {exc}.")
    select = state.get("s") or []
    if select:
        items = [
            item if "@removed" in item else {k: v for k, v in item.items() if k in select or k == "id"}
            for item in items
        ]
    return _delta_answer(emulator, "Collection(message)", link, items, state, after, headers)


def _delta_answer(
    emulator, what: str, link: str, items: list[dict], state: dict, after: dict | None, headers: dict
) -> Response:
    body = {"@odata.context": _context(emulator, what)}
    if after is not None:
        body["@odata.nextLink"] = f"{link}?$skiptoken={encode_token(after)}"
    else:
        body["@odata.deltaLink"] = f"{link}?$deltatoken={encode_token({**state, 'k': None})}"
    body["value"] = items
    return _json(body, headers=headers)


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def _in_zone(event: dict, zone_name: str | None) -> dict:
    """Event times in the zone the client preferred (UTC when it said nothing)."""
    target = named_zone(zone_name) if zone_name else ZoneInfo("UTC")
    label = zone_name if zone_name and target is not None else "UTC"
    target = target or ZoneInfo("UTC")
    event = copy.deepcopy(event)
    for side in ("start", "end"):
        moment = stored_moment(event.get(side))
        if moment is not None:
            event[side] = {"dateTime": _wall_time(moment, target), "timeZone": label}
    return event


def _wall_time(moment: datetime, target: ZoneInfo) -> str:
    """`moment` as Graph writes it in `target`. Exchange runs on .NET, whose TimeZoneInfo
    clamps a conversion past either end of DateTime to DateTime.MaxValue or MinValue instead
    of failing, so 9999-12-31T23:00 in Pacific time is served in UTC as the last tick of the
    year 9999 (assumed from .NET's conversion code, not observed on Graph itself). Python's
    datetime has the same range and overflows there, which answered the page with a 500."""
    try:
        # isoformat, not strftime: glibc writes the year 1 as "1", Graph as "0001".
        return moment.astimezone(target).replace(tzinfo=None).isoformat(timespec="seconds") + ".0000000"
    except OverflowError:
        return "9999-12-31T23:59:59.9999999" if moment.year > 1 else "0001-01-01T00:00:00.0000000"


def calendar_delta(emulator, request: Request, mailbox: Mailbox) -> Response:
    link = f"{emulator.graph_base}/me/calendarView/delta"
    try:
        if request.args.get("$skiptoken"):
            state = decode_token(request.args["$skiptoken"])
        elif request.args.get("$deltatoken"):
            state = mailbox.next_round(decode_token(request.args["$deltatoken"]), "calendar")
        else:
            start, end = _when(request.args.get("startDateTime")), _when(request.args.get("endDateTime"))
            if start is None or end is None or end <= start:
                return graph_error(
                    400,
                    "ErrorInvalidParameter",
                    "This request requires a time window specified by the query string "
                    "parameters StartDateTime and EndDateTime.",
                )
            state = mailbox.start_round("calendar", 0, {"ws": start.isoformat(), "we": end.isoformat()})
        window = (datetime.fromisoformat(state["ws"]), datetime.fromisoformat(state["we"]))
        size, headers = _page_size(request, emulator)
        items, after = mailbox.page(state, size, keep=lambda body: overlaps(body, *window))
    except (StaleToken, KeyError) as exc:
        return graph_error(410, "syncStateNotFound", f"The sync state generation is no longer valid: {exc}.")
    zone_name = prefer(request).get("outlook.timezone")
    items = [item if "@removed" in item else _in_zone(item, zone_name) for item in items]
    return _delta_answer(emulator, "Collection(event)", link, items, state, after, headers)
