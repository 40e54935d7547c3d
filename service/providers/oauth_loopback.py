"""The one-shot loopback redirect behind `kith connect google|microsoft`.

A tiny HTTP server on 127.0.0.1 (ephemeral port) is the OAuth redirect URI: the provider
module builds its authorization URL for it, the person opens that URL (in the browser we
open, or by hand with `--no-browser`), and the first request carrying the expected query
parameters ends the wait. The query dict is handed back to the provider's complete_flow.
Nothing is logged: the query holds the authorization code.

    connect_command(start_flow, complete_flow, ...) -> connect_cli   a provider's `kith connect`
    receive(authorization_url, ...) -> query                           the one redirect itself
"""

from __future__ import annotations

import sys
import webbrowser
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qsl, urlparse

from ingest.errors import InputError

from ..config import Settings
from ..db import Database
from ..store import require_user
from . import oauth_accounts, oauth_states

# One handle_request() waits at most this long, so the overall timeout is checked this often.
POLL_SECONDS = 1.0


class _Handler(BaseHTTPRequestHandler):
    # Set per server through a subclass (see `receive`): one class per flow, no shared state.
    accept: tuple[str, ...] = ()
    page: bytes = b""
    result: dict | None = None

    def do_GET(self):
        query = dict(parse_qsl(urlparse(self.path).query))
        # Favicon fetches and stray probes are not the redirect: keep waiting for it.
        if not any(key in query for key in self.accept):
            self.send_response(404)
            self.end_headers()
            return
        type(self).result = query
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args):  # the query holds the code: keep it out of logs
        pass


def receive(
    authorization_url: Callable[[str], str],
    *,
    accept: Iterable[str],
    done_text: str,
    provider: str,
    command: str,
    no_browser: bool = False,
    timeout: float = 300.0,
    open_url=webbrowser.open,
    say=print,
) -> dict:
    """Serve one redirect on 127.0.0.1 and return its query.

    `authorization_url(redirect_uri)` starts the provider's flow for this server's address;
    a request counts as the redirect when its query has any of `accept`, and is answered
    with `done_text`. `provider` names the service in the printed prompt, `command` the
    command to rerun when nothing arrived within `timeout` seconds (InputError).
    """
    body = f"<!doctype html><p>Kith: {done_text} You can close this tab.</p>".encode()
    wanted = tuple(accept)

    class handler(_Handler):
        accept = wanted
        page = body
        result = None

    server = HTTPServer(("127.0.0.1", 0), handler)
    server.timeout = POLL_SECONDS
    try:
        url = authorization_url(f"http://127.0.0.1:{server.server_port}/")
        if no_browser or not open_url(url):
            say(f"Open this URL in a browser to connect {provider}:\n{url}")
            sys.stdout.flush()
        waited = 0.0
        while handler.result is None and waited < timeout:
            server.handle_request()
            waited += server.timeout
    finally:
        server.server_close()
    if handler.result is None:
        raise InputError(f"no answer from the browser in time: run `{command}` again")
    return handler.result


def connect_command(
    start_flow: Callable[..., oauth_states.Started],
    complete_flow: Callable[..., int],
    *,
    accept: Iterable[str],
    done_text: str,
    provider: str,
    command: str,
) -> Callable[..., int]:
    """A provider's `connect_cli(settings, db, email, no_browser=False, timeout=300.0,
    open_url=webbrowser.open, say=print, confirm_shared=None)` -> account id: its flow
    through one loopback redirect (see `receive` for `accept`, `done_text`, `provider` and
    `command`).

    This process started the flow and keeps its nonce, so the redirect it receives attaches
    at once (saying which mailbox goes to which Kith user); a mailbox another Kith user has
    connected needs a yes at the terminal."""

    def connect_cli(
        settings: Settings,
        db: Database,
        email: str,
        no_browser: bool = False,
        timeout: float = 300.0,
        open_url=webbrowser.open,
        say=print,
        confirm_shared: oauth_accounts.ConfirmShared | None = None,
    ) -> int:
        with db.tx() as conn:
            user = require_user(conn, email)
        started: list[oauth_states.Started] = []

        def begin(redirect_uri: str) -> str:
            started.append(start_flow(settings, db, user["id"], redirect_uri))
            return started[-1].url

        answer = receive(
            begin,
            accept=accept,
            done_text=done_text,
            provider=provider,
            command=command,
            no_browser=no_browser,
            timeout=timeout,
            open_url=open_url,
            say=say,
        )
        confirm = confirm_shared or oauth_accounts.ask_terminal()
        return complete_flow(settings, db, answer, started[-1].nonce, confirm_shared=confirm, say=say)

    return connect_cli


__all__ = ["connect_command", "receive"]
