"""The Microsoft emulator over TLS: identity platform + Graph mail/calendar delta.

    /{tenant}/v2.0/.well-known/openid-configuration   /common/discovery/instance
    /{tenant}/oauth2/v2.0/authorize (GET, consent POST)   /{tenant}/oauth2/v2.0/token
    /v1.0/me   /v1.0/me/mailFolders[/{id}]   /v1.0/me/mailFolders/{id}/messages/delta
    /v1.0/me/calendarView/delta

Served over HTTPS with a throwaway CA from `trustme` (msal refuses plain http); the CA's
PEM is written to `ca_file` for KITH_CA_BUNDLE. Graph admits 4 concurrent requests per
mailbox and answers a fifth with 429 + Retry-After, like Exchange Online's
MailboxConcurrency limit; `fail_next` injects 429/503 storms.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from .graph_routes import route as graph_route
from .login_routes import login
from .responses import graph_error
from .identity import Identity
from .mailbox import Mailbox, graph_id


class _Quiet(WSGIRequestHandler):
    def log_request(self, *args, **kwargs):  # the request log is `emulator.log`, not stderr
        pass


class MicrosoftEmulator:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        auto_consent: bool = True,
        latency: float = 0.0,
        max_concurrent: int = 4,
        max_page_size: int = 1000,
        client_id: str = "kith-emulator-client",
        client_secret: str = "kith-emulator-secret",
    ):
        import trustme

        self.auto_consent = auto_consent
        self.latency = latency
        self.max_concurrent = max_concurrent
        self.max_page_size = max_page_size
        self.client_id, self.client_secret = client_id, client_secret
        self.mailboxes: dict[str, Mailbox] = {}
        self.default_user: str | None = None
        self.lock = threading.Lock()
        self.in_flight: Counter = Counter()
        self.peak_in_flight = 0
        self.peak_wanted = 0
        self.log: list[tuple[str, str, int]] = []  # (mailbox, path, status) of Graph requests
        self._faults: list[tuple[int, float]] = []
        self._added = 0

        self._ca = trustme.CA()
        cert = self._ca.issue_cert("127.0.0.1", "localhost")
        self._dir = Path(tempfile.mkdtemp(prefix="kith-ms-emulator-"))
        self.ca_file = str(self._dir / "ca.pem")
        self._ca.cert_pem.write_to_path(self.ca_file)
        import ssl

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(context)
        self._server = make_server(host, port, self._app, threaded=True, request_handler=_Quiet, ssl_context=context)
        # Clients keep connections alive; stopping must not wait for their handler threads.
        self._server.daemon_threads = True
        self._server.block_on_close = False
        self.port = self._server.server_port
        self.base = f"https://{host}:{self.port}"
        self.identity = Identity(self.base, clients={client_id: client_secret})
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="ms-emulator", daemon=True
        )
        self._thread.start()

    # -- addresses ---------------------------------------------------------------------------------
    @property
    def authority(self) -> str:
        return f"{self.base}/common"

    @property
    def graph_base(self) -> str:
        return f"{self.base}/v1.0"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
        shutil.rmtree(self._dir, ignore_errors=True)

    # -- users and faults ----------------------------------------------------------------------------
    def add_mailbox(self, upn: str, display_name: str, aliases=()) -> Mailbox:
        upn = upn.lower()
        oid = f"00000000-0000-0000-{abs(hash(upn)) % 10**4:04d}-{abs(hash(upn[::-1])) % 10**12:012d}"
        mailbox = Mailbox(upn=upn, display_name=display_name, user_id=oid, aliases=tuple(aliases))
        with self.lock:
            self.mailboxes[upn] = mailbox
            self.default_user = self.default_user or upn
        self.identity.users[upn] = {"oid": oid, "name": display_name}
        return mailbox

    def mailbox(self, upn: str | None = None) -> Mailbox:
        return self.mailboxes[(upn or self.default_user).lower()]

    def access_token_for(
        self, upn: str | None = None, scopes=("Mail.ReadBasic", "Calendars.ReadBasic", "User.Read")
    ) -> str:
        """A valid access token without the OAuth dance (connector tests that are not about OAuth)."""
        import secrets as _secrets

        from .identity import Grant

        token = _secrets.token_urlsafe(32)
        with self.identity.lock:
            self.identity.access[token] = Grant(
                self.mailbox(upn).upn, self.client_id, tuple(scopes), time.time() + 3600
            )
        return token

    def fail_next(self, count: int, status: int = 429, retry_after: float = 1.0) -> None:
        """The next `count` Graph requests get `status` (429 or 503) with Retry-After."""
        with self.lock:
            self._faults.extend([(status, retry_after)] * count)

    def expire_delta_tokens(self, upn: str | None = None) -> None:
        self.mailbox(upn).expire_delta_state()

    def revoke(self, upn: str | None = None) -> None:
        self.identity.revoke(self.mailbox(upn).upn)

    # -- changes to a mailbox, as if made in Outlook ----------------------------------------------------
    def add_message(
        self,
        *,
        folder: str = "inbox",
        sender=("Ana Ruiz", "ana@example.org"),
        to=(),
        cc=(),
        bcc=(),
        date: datetime | None = None,
        conversation_id: str | None = None,
        message_id: str | None = None,
        is_draft: bool = False,
        upn: str | None = None,
        item_id: str | None = None,
    ) -> str:
        from .seed import message_json

        mailbox = self.mailbox(upn)
        with self.lock:
            self._added += 1
            n = self._added
        item_id = item_id or graph_id("message", f"{mailbox.upn}/added/{n}/{time.time_ns()}")
        to = tuple(to) or ((mailbox.display_name, mailbox.upn),)
        body = message_json(
            mailbox,
            item_id=item_id,
            folder=folder,
            sender=sender,
            to=to,
            cc=cc,
            bcc=bcc,
            date=date or datetime.now(timezone.utc),
            conversation_id=conversation_id or graph_id("conversation", item_id),
            message_id=message_id or f"{item_id[-12:]}@emulator.example",
            is_draft=is_draft,
        )
        mailbox.put(item_id, f"mail:{body['parentFolderId']}", body)
        return item_id

    def delete_message(self, item_id: str, upn: str | None = None) -> bool:
        return self.mailbox(upn).remove(item_id)

    def move_message(self, item_id: str, folder: str, upn: str | None = None) -> None:
        """A move keeps the immutable id; the old folder's delta reports it removed."""
        mailbox = self.mailbox(upn)
        folder_id = mailbox.folder_id(folder) or mailbox.add_folder(folder, folder.title())
        body = dict(mailbox.entries[item_id].body, parentFolderId=folder_id)
        mailbox.put(item_id, f"mail:{folder_id}", body)

    def add_folder(self, name: str, upn: str | None = None) -> str:
        return self.mailbox(upn).add_folder(name.lower(), name)

    def put_event(self, event: dict, upn: str | None = None) -> str:
        """Add or replace an event (Graph `event` JSON with at least id, start and end)."""
        self.mailbox(upn).put(event["id"], "calendar", event)
        return event["id"]

    def delete_event(self, item_id: str, upn: str | None = None) -> bool:
        return self.mailbox(upn).remove(item_id)

    def message_ids(self, folders=("inbox", "sentitems"), upn: str | None = None) -> set[str]:
        """Ids of the messages now in `folders`: what a synced copy must hold."""
        mailbox = self.mailbox(upn)
        wanted = {f"mail:{mailbox.folder_id(f)}" for f in folders}
        with mailbox.lock:
            return {i for i, e in mailbox.entries.items() if e.collection in wanted}

    def event_ids(self, start: datetime, end: datetime, upn: str | None = None) -> set[str]:
        from .mailbox import overlaps

        mailbox = self.mailbox(upn)
        with mailbox.lock:
            return {
                i for i, e in mailbox.entries.items() if e.collection == "calendar" and overlaps(e.body, start, end)
            }

    def graph_requests(self, upn: str | None = None) -> int:
        upn = (upn or self.default_user).lower()
        return sum(1 for who, _, _ in self.log if who == upn)

    def reset_stats(self) -> None:
        with self.lock:
            self.log.clear()
            self.peak_in_flight = 0
            self.peak_wanted = 0

    # -- WSGI -------------------------------------------------------------------------------------------
    def _app(self, environ, start_response):
        request = Request(environ)
        path = request.path
        try:
            if path.startswith("/v1.0/"):
                response = self._graph(request, path[len("/v1.0") :])
            else:
                response = login(self, request, path)
        except Exception as exc:  # an emulator bug must show up as a 500, not a hung client
            response = graph_error(500, "InternalServerError", f"{type(exc).__name__}: {exc}")
        return response(environ, start_response)

    # Graph -------------------------------------------------------------------------------------------------
    def _graph(self, request: Request, path: str) -> Response:
        token = request.headers.get("Authorization", "")
        grant = self.identity.check_access(token[7:]) if token.startswith("Bearer ") else None
        if grant is None:
            self.log.append(("", path, 401))
            return graph_error(401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid.")
        mailbox = self.mailboxes.get(grant.user)
        with self.lock:
            busy = self.in_flight[grant.user] >= self.max_concurrent
            # What clients attempted, refused or not: the figure a client-side limit must keep <= 4.
            self.peak_wanted = max(self.peak_wanted, self.in_flight[grant.user] + 1)
            fault = self._faults.pop(0) if self._faults and not busy else None
            if not busy and fault is None:
                self.in_flight[grant.user] += 1
                self.peak_in_flight = max(self.peak_in_flight, self.in_flight[grant.user])
        if busy or fault is not None:
            status, wait = fault or (429, 1.0)
            code = "ApplicationThrottled" if status == 429 else "ServiceUnavailable"
            response = graph_error(
                status,
                code,
                "Application is over its MailboxConcurrency limit."
                if busy
                else "The service is temporarily unavailable.",
                {"Retry-After": f"{wait:g}"},
            )
            self.log.append((grant.user, path, status))
            return response
        try:
            if self.latency:
                time.sleep(self.latency)
            response = graph_route(self, request, path, mailbox, {s.lower() for s in grant.scopes})
        finally:
            with self.lock:
                self.in_flight[grant.user] -= 1
        self.log.append((grant.user, path, response.status_code))
        return response


def start_microsoft_emulator(world=None, **options) -> MicrosoftEmulator:
    """An emulator with one mailbox: the world's Microsoft account, or an empty one."""
    user = options.pop("user", None)
    name = options.pop("display_name", None)
    emulator = MicrosoftEmulator(**options)
    if world is not None:
        from .seed import seed_mailbox

        aliases = tuple(a for a in world.own_addresses if a.endswith("@" + world.work_email.split("@")[1]))
        mailbox = emulator.add_mailbox(user or world.work_email, name or world.user_name, aliases)
        seed_mailbox(mailbox, world)
    else:
        emulator.add_mailbox(user or "sam.rivera@northwind.example", name or "Sam Rivera")
    return emulator
