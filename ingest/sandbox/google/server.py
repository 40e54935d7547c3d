"""The Google emulator: OAuth, Gmail and Calendar over HTTP on 127.0.0.1, in a thread.

    emu = start_google_emulator(world, quota_scale=20)
    settings = Settings(**emu.settings_overrides(), ...)   # KITH_GOOGLE_* point here
    emu.faults.rate_limit_storm = 10; emu.expire_history(); emu.revoke(); emu.stop()

Every API request is checked in Google's order: bearer token (401), fault switches (5xx,
rate-limit storms), the per-user quota (429 `rateLimitExceeded`, or 403
`userRateLimitExceeded`), then the method. A batch charges and fails per part.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import socket
import threading
import time
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from .calendar_api import find_calendar, list_calendars, list_events
from .batch import BatchError, parse_batch, render_batch
from .calendars import Calendar, StoredEvent, default_horizon, stored_from_world
from .gmail_api import (
    ApiError,
    get_message,
    get_profile,
    get_thread,
    list_history,
    list_labels,
    list_messages,
    list_send_as,
    not_found,
)
from .limits import Faults, QuotaBook
from .mailbox import Mailbox, add_world_message, headers_of_world_message
from .oauth import OAuthServer

U = r"(?P<user>[^/]+)"
ROUTES = [
    ("gmail", "users.getProfile", re.compile(rf"^/gmail/v1/users/{U}/profile$")),
    ("gmail", "users.messages.list", re.compile(rf"^/gmail/v1/users/{U}/messages$")),
    ("gmail", "users.messages.get", re.compile(rf"^/gmail/v1/users/{U}/messages/(?P<id>[^/]+)$")),
    ("gmail", "users.threads.get", re.compile(rf"^/gmail/v1/users/{U}/threads/(?P<id>[^/]+)$")),
    ("gmail", "users.history.list", re.compile(rf"^/gmail/v1/users/{U}/history$")),
    ("gmail", "users.labels.list", re.compile(rf"^/gmail/v1/users/{U}/labels$")),
    ("gmail", "users.settings.sendAs.list", re.compile(rf"^/gmail/v1/users/{U}/settings/sendAs$")),
    ("calendar", "calendarList.list", re.compile(r"^/calendar/v3/users/me/calendarList$")),
    ("calendar", "events.list", re.compile(r"^/calendar/v3/calendars/(?P<cal>[^/]+)/events$")),
]
BATCH_PATHS = ("/batch/gmail/v1", "/batch/calendar/v3", "/batch")
JSON = {"Content-Type": "application/json; charset=UTF-8"}


class GoogleEmulator:
    def __init__(
        self, *, quota_scale: float = 1.0, burst_s: float = 1.0, enforce_quota: bool = True, access_ttl_s: int = 3600
    ):
        self.faults = Faults()
        self.quota = QuotaBook(quota_scale=quota_scale, burst_s=burst_s, enforce=enforce_quota)
        self.mailboxes: dict[str, Mailbox] = {}
        self.calendars: dict[str, dict[str, Calendar]] = {}
        self.url = ""
        self.oauth = OAuthServer(issuer="", known_users=lambda: list(self.mailboxes), access_ttl_s=access_ttl_s)
        self.requests_seen = 0
        self.batch_sizes: list[int] = []  # parts of each batch received, in order
        # Open-ended series are expanded this far (a world sets it a year past its as_of).
        self.horizon = default_horizon(datetime.now(timezone.utc))
        self._server = None
        self._thread = None

    # --- lifecycle ------------------------------------------------------------------

    def start(self) -> GoogleEmulator:
        self._server = make_server("127.0.0.1", 0, self.wsgi, threaded=True, request_handler=_QuietHandler)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self.oauth.issuer = self.url
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name="google-emulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()

    def settings_overrides(self) -> dict:
        """Settings fields that send Kith's Google traffic here."""
        return {
            "google_auth_uri": f"{self.url}/o/oauth2/auth",
            "google_token_uri": f"{self.url}/token",
            "google_api_base": self.url,
            "google_client_id": "kith-emulator-client",
            "google_client_secret": "kith-emulator-secret",
        }

    # --- data -------------------------------------------------------------------------

    def add_account(
        self, address: str, name: str = "", aliases=(), timezone: str = "UTC", labels: dict | None = None
    ) -> Mailbox:
        address = address.lower()
        mailbox = Mailbox(
            address=address, name=name, aliases=tuple(a.lower() for a in aliases), user_labels=dict(labels or {})
        )
        self.mailboxes[address] = mailbox
        self.calendars[address] = {address: Calendar(id=address, summary=address, timezone=timezone, primary=True)}
        return mailbox

    def user(self, address: str | None = None) -> str:
        if address is None:
            if not self.mailboxes:
                raise LookupError("the emulator has no account yet")
            return next(iter(self.mailboxes))
        return address.lower()

    def add_message(self, message=None, *, user: str | None = None, **fields):
        """Deliver a message (a world message, or fields: id, thread_id, headers, labels,
        internal_ms); it shows up in history like a real delivery. Returns its id."""
        mailbox = self.mailboxes[self.user(user)]
        if message is not None:
            return add_world_message(mailbox, message, record=True).id
        return mailbox.add(**fields).id

    def delete_message(self, message_id: str, user: str | None = None) -> bool:
        return self.mailboxes[self.user(user)].delete(message_id)

    def modify_labels(self, message_id: str, add=(), remove=(), user: str | None = None) -> None:
        self.mailboxes[self.user(user)].modify(message_id, add, remove)

    def calendar(self, calendar_id: str = "primary", user: str | None = None) -> Calendar:
        owner = self.user(user)
        cals = self.calendars[owner]
        cid = owner if calendar_id == "primary" else calendar_id
        if cid not in cals:
            cals[cid] = Calendar(id=cid, summary=cid)
        return cals[cid]

    def add_event(self, event, calendar_id: str = "primary", user: str | None = None) -> list[str]:
        """Add a world event (expanded into occurrences) or a StoredEvent; returns the ids."""
        calendar = self.calendar(calendar_id, user)
        stored = (
            [event]
            if isinstance(event, StoredEvent)
            else [stored_from_world(e) for e in event.instances(until=self.horizon)]
        )
        return [calendar.put(e).id for e in stored]

    def cancel_event(self, event_id: str, calendar_id: str = "primary", user: str | None = None) -> bool:
        return self.calendar(calendar_id, user).cancel(event_id)

    def expire_history(self, user: str | None = None) -> None:
        self.mailboxes[self.user(user)].forget_history()

    def expire_sync_tokens(self, user: str | None = None) -> None:
        for calendar in self.calendars[self.user(user)].values():
            calendar.expire_tokens()

    def issue_refresh_token(self, user: str | None = None, scopes=None, client_id: str = "kith-emulator-client") -> str:
        """A refresh token as the consent flow would grant it (for tests that are not about OAuth)."""
        from .oauth import Grant, normalise_scopes

        default = (
            "https://www.googleapis.com/auth/gmail.metadata",
            "https://www.googleapis.com/auth/calendar.events.readonly",
            "openid",
            "email",
        )
        token = "1//test-" + secrets.token_urlsafe(24)
        with self.oauth.lock:
            self.oauth.refresh[token] = Grant(
                user=self.user(user), client_id=client_id, scopes=normalise_scopes(" ".join(scopes or default))
            )
        return token

    def revoke(self, user: str | None = None) -> None:
        self.oauth.revoke_user(self.user(user))

    def message_ids(self, user: str | None = None) -> set[str]:
        return set(self.mailboxes[self.user(user)].messages)

    def event_ids(self, calendar_id: str = "primary", user: str | None = None) -> set[str]:
        return {e.id for e in self.calendar(calendar_id, user).events.values() if e.status != "cancelled"}

    def usage(self, user: str | None = None, api: str = "gmail"):
        return self.quota.used(self.user(user), api)

    def reset_usage(self) -> None:
        self.quota.reset_usage()

    # --- HTTP -------------------------------------------------------------------------

    def wsgi(self, environ, start_response):
        request = Request(environ)
        status, headers, body = self.dispatch(
            request.method,
            request.full_path if request.query_string else request.path,
            {k.lower(): v for k, v in request.headers.items()},
            request.get_data(),
        )
        return Response(body, status=status, headers=headers)(environ, start_response)

    def dispatch(
        self, method: str, target: str, headers: dict[str, str], body: bytes, in_batch: bool = False
    ) -> tuple[int, dict, bytes]:
        self.requests_seen += 1
        split = urlsplit(target)
        path, query = split.path, parse_qs(split.query, keep_blank_values=True)
        flat = {k: v[-1] for k, v in query.items()}
        if path in ("/o/oauth2/auth", "/o/oauth2/v2/auth") and method == "GET":
            return self.oauth.authorize(flat)
        if path == "/o/oauth2/consent" and method == "POST":
            return self.oauth.consent(_form(body, flat))
        if path == "/token" and method == "POST":
            form = _form(body, flat)
            if self.faults.revoked and form.get("grant_type") == "refresh_token":
                return (
                    400,
                    dict(JSON),
                    b'{"error": "invalid_grant", "error_description": "Token has been expired or revoked."}',
                )
            return self.oauth.token(form)
        if path == "/revoke" and method == "POST":
            return self.oauth.revoke(_form(body, flat).get("token", ""))
        if path in BATCH_PATHS and method == "POST" and not in_batch:
            return self._batch(headers, body)
        for api, name, pattern in ROUTES:
            match = pattern.match(path)
            if match and method == "GET":
                try:
                    return 200, dict(JSON), json.dumps(self._call(api, name, match, query, headers)).encode()
                except ApiError as exc:
                    return exc.code, dict(JSON, **exc.headers), json.dumps(exc.body()).encode()
        return 404, {"Content-Type": "text/html"}, b"<p>The requested URL was not found on this server.</p>"

    def _call(self, api: str, name: str, match, query, headers) -> dict:
        if self.faults.latency_s:
            time.sleep(self.faults.latency_s)
        grant = None if self.faults.revoked else self.oauth.bearer(headers.get("authorization"))
        if grant is None:
            raise ApiError(
                401,
                "Request had invalid authentication credentials.",
                "authError",
                headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/"'},
            )
        if self.faults.take_server_error():
            code = self.faults.server_error_status
            raise ApiError(
                code,
                "The service is currently unavailable." if code == 503 else "Internal error encountered.",
                "backendError",
            )
        if self.faults.take_storm(name):
            raise self._rate_limited(self.faults.retry_after_s)
        wait = self.quota.charge(grant.user, api, name)
        if wait > 0:
            raise self._rate_limited(wait)
        if self.faults.stale_cursors and name == "users.history.list":
            raise not_found()
        if self.faults.stale_cursors and name == "events.list" and "syncToken" in query:
            raise ApiError(410, "Sync token is no longer valid, a full sync is required.", "fullSyncRequired")
        user = match.groupdict().get("user")
        if user is not None and user != "me" and user.lower() != grant.user:
            raise ApiError(403, f"Delegation denied for {grant.user}", "forbidden")
        if api == "gmail":
            mailbox = self.mailboxes[grant.user]
            if name == "users.messages.get":
                return get_message(mailbox, grant.scopes, query, match["id"])
            if name == "users.threads.get":
                return get_thread(mailbox, grant.scopes, query, match["id"])
            handler = {
                "users.getProfile": get_profile,
                "users.messages.list": list_messages,
                "users.history.list": list_history,
                "users.labels.list": list_labels,
                "users.settings.sendAs.list": list_send_as,
            }[name]
            return handler(mailbox, grant.scopes, query)
        calendars = self.calendars[grant.user]
        if name == "calendarList.list":
            return list_calendars(calendars, grant.scopes, query)
        from urllib.parse import unquote

        calendar = find_calendar(calendars, grant.user, unquote(match["cal"]))
        return list_events(calendar, grant.user, grant.scopes, query)

    def _rate_limited(self, wait: float | None) -> ApiError:
        status = self.faults.rate_limit_status
        extra = {"Retry-After": str(max(1, math.ceil(wait)))} if wait is not None else {}
        if status == 403:
            return ApiError(
                403, "User Rate Limit Exceeded", "userRateLimitExceeded", domain="usageLimits", headers=extra
            )
        return ApiError(429, "User-rate limit exceeded.", "rateLimitExceeded", domain="usageLimits", headers=extra)

    def _batch(self, headers: dict[str, str], body: bytes) -> tuple[int, dict, bytes]:
        try:
            parts = parse_batch(headers.get("content-type", ""), body)
        except BatchError as exc:
            return 400, dict(JSON), json.dumps(ApiError(400, str(exc), "badRequest").body()).encode()
        self.batch_sizes.append(len(parts))
        out = []
        for part in parts:
            part_headers = dict(part.headers)
            if "authorization" not in part_headers and "authorization" in headers:
                part_headers["authorization"] = headers["authorization"]
            status, resp_headers, resp_body = self.dispatch(
                part.method, part.target, part_headers, part.body, in_batch=True
            )
            out.append((part, status, resp_headers, resp_body))
        content_type, payload = render_batch(out)
        return 200, {"Content-Type": content_type}, payload


class _QuietHandler(WSGIRequestHandler):
    def setup(self):
        super().setup()
        # Response headers and body leave in separate writes: without this, Nagle's
        # algorithm meets the client's delayed ACK and every exchange waits ~40 ms.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_request(self, *args, **kwargs):  # URLs carry codes and tokens: keep them out of logs
        pass


def _form(body: bytes, query: dict[str, str]) -> dict[str, str]:
    form = {k: v[-1] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}
    return {**query, **form}


def start_google_emulator(
    world=None,
    *,
    quota_scale: float = 1.0,
    burst_s: float = 1.0,
    enforce_quota: bool = True,
    access_ttl_s: int = 3600,
    accounts=(),
) -> GoogleEmulator:
    """Start an emulator on 127.0.0.1 (ephemeral port), seeded from `world` when given.

    The world's Google account becomes a mailbox (its aliases the sendAs list) and a primary
    calendar; recurring events are expanded up to a year after the world's `as_of`.
    """
    emu = GoogleEmulator(
        quota_scale=quota_scale, burst_s=burst_s, enforce_quota=enforce_quota, access_ttl_s=access_ttl_s
    )
    for address in accounts:
        emu.add_account(address)
    if world is not None:
        seed_from_world(emu, world)
    return emu.start()


def seed_from_world(emu: GoogleEmulator, world) -> None:
    address = world.account_address("google")
    aliases = [a for a in world.user_aliases if "@" in a and a.lower() != world.work_email.lower()]
    mailbox = emu.add_account(
        address,
        name=world.user_name,
        aliases=aliases,
        timezone=world.timezone,
        labels=getattr(world, "label_names", {}),
    )
    for message in world.messages_for("google"):
        add_world_message(mailbox, message, record=False)
    emu.horizon = default_horizon(world.as_of)
    for event in world.events_for("google"):
        calendar_id = "primary" if event.calendar_id in ("primary", address) else event.calendar_id
        calendar = emu.calendar(calendar_id, address)
        for occurrence in event.instances(until=emu.horizon):
            calendar.put(stored_from_world(occurrence))


__all__ = ["GoogleEmulator", "start_google_emulator", "seed_from_world", "headers_of_world_message"]
