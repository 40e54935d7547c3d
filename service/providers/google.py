"""Connecting a Google account (OAuth 2.0 with PKCE) and building its connector.

The flow is google-auth-oauthlib's `Flow` against KITH_GOOGLE_AUTH_URI / _TOKEN_URI. The
`state` and the PKCE code_verifier live encrypted in `oauth_states`, single use, for
`oauth_states.FLOW_TTL` and for the starter's nonce only: a callback with a missing, unknown,
replayed, expired or someone else's state is refused before any code is exchanged.
`exchange` turns the code into the mailbox's tokens and address (users.getProfile, else the
id_token's email claim); service.oauth_accounts attaches them, encrypted, once confirmed.

The connector refreshes access tokens with google.oauth2 Credentials at the configured
token URI and stores each new token, so other workers reuse it instead of refreshing.
"""

from __future__ import annotations

import base64
import json
import logging
import os
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlparse

import requests
from pydantic import SecretStr
from google.oauth2.credentials import Credentials
from google_auth_oauthlib.flow import Flow
from oauthlib.oauth2.rfc6749.errors import OAuth2Error

from ingest.errors import ConfigError, InputError, TransientError
from ingest.google import SCOPES, GoogleConnector, Quota
from ingest.google.quota import GMAIL_UNITS_PER_SECOND

from ..config import Settings
from ..db import Database, scalar
from . import REGISTRY, oauth_accounts, oauth_loopback, oauth_states
from .credentials import save_credentials, usable_credentials

log = logging.getLogger(__name__)
AGAIN = REGISTRY["google"].again()
METADATA_SCOPE = "https://www.googleapis.com/auth/gmail.metadata"
# The emulator's quota clock runs this much faster than Google's, so the demo's first sync
# takes seconds; the connector still spends Google's documented units against the ceiling.
DEMO_QUOTA_SCALE = 20.0


def _client_config(settings: Settings) -> dict:
    if not settings.google_client_id:
        raise ConfigError(
            "KITH_GOOGLE_CLIENT_ID is not set: create an OAuth client in the Google "
            "Cloud console (or run `kith demo`, which uses the local emulator)"
        )
    return {
        "web": {
            "client_id": settings.google_client_id,
            "client_secret": settings.google_client_secret.get_secret_value(),
            "auth_uri": settings.google_auth_uri,
            "token_uri": settings.google_token_uri,
        }
    }


def _oauthlib_env(settings: Settings) -> None:
    # Google answers with the scopes it granted in its own spelling ("email" becomes
    # .../userinfo.email); oauthlib would call that a changed scope and fail.
    os.environ.setdefault("OAUTHLIB_RELAX_TOKEN_SCOPE", "1")
    # Plain http is allowed only to OAuth endpoints on this machine (the emulator).
    hosts = {urlparse(settings.google_token_uri).hostname, urlparse(settings.google_auth_uri).hostname}
    if hosts <= {"127.0.0.1", "localhost", "::1"}:
        os.environ.setdefault("OAUTHLIB_INSECURE_TRANSPORT", "1")


# --- the authorization-code flow ----------------------------------------------------------


def start_flow(
    settings: Settings, db: Database, user_id: int, redirect_uri: str, login_hint: str | None = None
) -> oauth_states.Started:
    """Begin a PKCE flow for `user_id`: the URL to send the browser to, and the nonce that
    only the starter keeps (the callback demands it back)."""
    _oauthlib_env(settings)
    flow = Flow.from_client_config(
        _client_config(settings), scopes=list(SCOPES), redirect_uri=redirect_uri, autogenerate_code_verifier=True
    )
    state = oauth_states.new_state()
    extra = {"login_hint": login_hint} if login_hint else {}
    url, _ = flow.authorization_url(state=state, access_type="offline", prompt="consent", **extra)
    nonce = oauth_states.save(
        settings, db, "google", state, user_id, {"code_verifier": flow.code_verifier, "redirect_uri": redirect_uri}
    )
    return oauth_states.Started(url, state, nonce)


def exchange(settings: Settings, saved: dict, auth_response: dict) -> dict:
    """Trade the redirect's code for tokens; the mailbox they open (oauth_accounts.exchanged)."""
    if auth_response.get("error"):
        raise InputError(f"Google sign-in failed: {auth_response['error']}")
    if not auth_response.get("code"):
        raise InputError("the sign-in answer carries no authorization code")
    _oauthlib_env(settings)
    flow = Flow.from_client_config(
        _client_config(settings),
        scopes=list(SCOPES),
        redirect_uri=saved["redirect_uri"],
        state=auth_response.get("state"),
        code_verifier=saved["code_verifier"],
        autogenerate_code_verifier=False,
    )
    try:
        token = flow.fetch_token(code=auth_response["code"])
    except OAuth2Error as exc:
        raise InputError(f"Google refused the sign-in: {exc.error}") from None
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise TransientError(f"Google token endpoint unreachable: {type(exc).__name__}") from None
    granted = token.get("scope") or []
    granted = granted.split() if isinstance(granted, str) else list(granted)
    if METADATA_SCOPE not in granted:
        raise InputError("Google did not grant Gmail metadata access: connect again and allow it")
    if not token.get("refresh_token"):
        raise InputError(
            "Google sent no refresh token: remove Kith's access in your Google account, then connect again"
        )
    address = _address(settings, flow.credentials, token)
    return oauth_accounts.exchanged("google", address, granted, _payload(flow.credentials, granted, address))


complete_flow = oauth_accounts.in_process("google", exchange, AGAIN)


def _address(settings: Settings, credentials: Credentials, token: dict) -> str:
    """The mailbox's own address: getProfile (1 quota unit), else the id_token's email."""
    try:
        response = requests.get(
            f"{settings.google_api_base.rstrip('/')}/gmail/v1/users/me/profile",
            headers={"Authorization": f"Bearer {credentials.token}"},
            timeout=30,
        )
        if response.ok:
            address = str(response.json().get("emailAddress", "")).lower()
            if "@" in address:
                return address
    except requests.RequestException:
        pass
    if token.get("id_token"):
        # The id_token came straight from the token endpoint over its own channel
        # (OpenID Connect Core 3.1.3.7): its claims need no signature check here.
        try:
            body = token["id_token"].split(".")[1]
            claims = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        except (IndexError, ValueError):
            claims = {}
        if "@" in str(claims.get("email", "")):
            return str(claims["email"]).lower()
    raise InputError("Google did not say which mailbox signed in")


def _payload(credentials: Credentials, scopes, address: str) -> dict:
    return {
        "refresh_token": credentials.refresh_token,
        "token": credentials.token,
        "expiry": credentials.expiry.isoformat() if credentials.expiry else None,
        "scopes": list(scopes),
        "address": address,
    }


connect_cli = oauth_loopback.connect_command(
    start_flow,
    complete_flow,
    # An answer without state ends the wait too: complete_flow then says why it is refused
    # instead of the person waiting out the timeout.
    accept=("state", "code", "error"),
    done_text="Google answered.",
    provider="Google",
    command="kith connect google",
)


def connect_headless(settings: Settings, db: Database, user_id: int, login_hint: str | None = None) -> int:
    """The real flow without a browser: only for an authorization server that consents by
    itself for a known `login_hint` (the emulator). The calling code is the starter and
    asked for this mailbox, so it attaches even when another Kith user has it too."""
    if login_hint is None:
        with db.tx() as conn:
            login_hint = scalar(conn.execute("SELECT email FROM users WHERE id = %s", (user_id,)))
    redirect_uri = REGISTRY["google"].callback_url(settings.base_url)
    started = start_flow(settings, db, user_id, redirect_uri, login_hint=login_hint)
    try:
        response = requests.get(started.url, allow_redirects=False, timeout=30)
    except requests.RequestException as exc:
        raise TransientError(f"Google authorization endpoint unreachable: {type(exc).__name__}") from None
    location = response.headers.get("Location", "")
    if response.status_code not in (302, 303) or not location.startswith(redirect_uri):
        raise ConfigError("the Google authorization server wants a person to consent: use `kith connect google`")
    return complete_flow(
        settings, db, dict(parse_qsl(urlparse(location).query)), started.nonce, confirm_shared=lambda address: True
    )


def with_emulator(settings: Settings, emulator, quota_scale: float | None = None) -> Settings:
    """Settings whose Google endpoints are `emulator`'s (ingest.sandbox.google), for the demo
    and tests; the connector's budget follows the emulator's quota clock."""
    overrides = dict(emulator.settings_overrides())
    overrides["google_client_secret"] = SecretStr(overrides["google_client_secret"])
    if quota_scale is not None:
        overrides["google_quota_scale"] = float(quota_scale)
    return settings.model_copy(update=overrides)


def connect_demo(settings: Settings, db: Database, user_id: int, world, quota_scale: float = DEMO_QUOTA_SCALE):
    """The demo's Google: an emulator seeded with `world`, connected through the real OAuth
    flow (headless consent). Returns (emulator, settings pointing at it, account id); the
    caller syncs with those settings and stops the emulator when done."""
    from ingest.sandbox.google import start_google_emulator

    emulator = start_google_emulator(world, quota_scale=quota_scale)
    try:
        demo_settings = with_emulator(settings, emulator, quota_scale)
        account_id = connect_headless(demo_settings, db, user_id, login_hint=world.account_address("google"))
    except BaseException:
        emulator.stop()
        raise
    return emulator, demo_settings, account_id


def emulator_url(emulator) -> str:
    return emulator.url


# --- the connector of a connected account -----------------------------------------------------


def _naive_utc(value: str | None) -> datetime | None:
    """google-auth compares `expiry` as a naive UTC datetime."""
    if not value:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed.astimezone(timezone.utc).replace(tzinfo=None) if parsed.tzinfo else parsed


class StoringCredentials(Credentials):
    """google.oauth2 Credentials that hand each refreshed token to `on_refresh`."""

    def __init__(self, *args, on_refresh=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._on_refresh = on_refresh

    def refresh(self, request):
        super().refresh(request)
        if self._on_refresh is not None:
            self._on_refresh(self)


def build_connector(settings: Settings, db: Database, account_id: int, **options) -> GoogleConnector:
    with db.tx() as conn:
        row = conn.execute(
            "SELECT address FROM accounts WHERE id = %s AND provider = 'google'", (account_id,)
        ).fetchone()
        if row is None:
            raise LookupError(f"no Google account {account_id}")
        payload = usable_credentials(
            conn, settings, account_id, what="Google token", who="Google", needed="refresh_token"
        )
    address = row[0]

    def store(credentials: Credentials) -> None:
        with db.tx() as conn:
            save_credentials(conn, settings, account_id, _payload(credentials, payload.get("scopes", []), address))

    expiry = payload.get("expiry")
    credentials = StoringCredentials(
        payload.get("token"),
        refresh_token=payload["refresh_token"],
        token_uri=settings.google_token_uri,
        client_id=settings.google_client_id,
        client_secret=settings.google_client_secret.get_secret_value(),
        scopes=payload.get("scopes") or list(SCOPES),
        on_refresh=store,
        # google-auth compares expiry as a naive UTC datetime
        expiry=_naive_utc(expiry),
    )
    scale = float(getattr(settings, "google_quota_scale", 1.0) or 1.0)
    quota = options.pop("quota", None) or Quota(
        redis_url=settings.redis_url,
        account=address,
        units_per_second=GMAIL_UNITS_PER_SECOND * scale,
        calendar_per_second=10.0 * scale,
    )
    calendars = [c for c in settings.google_calendars.split(",") if c.strip()] or ["primary"]
    return GoogleConnector(
        credentials, api_base=settings.google_api_base, calendars=calendars, quota=quota, address=address, **options
    )


__all__ = [
    "start_flow",
    "exchange",
    "complete_flow",
    "connect_cli",
    "connect_headless",
    "connect_demo",
    "emulator_url",
    "with_emulator",
    "build_connector",
    "StoringCredentials",
]
