"""Connecting a Microsoft 365 account with msal, and building its connector.

    start_flow / exchange             authorization code + PKCE; the flow dict (verifier,
                                      nonce, state) lives encrypted in oauth_states, single use
                                      and bound to its starter; `exchange` turns the redirect
                                      into the mailbox's token cache (oauth_accounts attaches it)
    complete_flow                     all of it in this process (CLI, headless)
    connect_cli                       the same through a loopback redirect (`kith connect microsoft`)
    connect_headless                  the same without a browser, for an auto-consenting
                                      authority (the emulator, in `kith demo`)
    AccountTokens                     the msal token cache of one account, encrypted at rest
                                      via service.credentials; silent refresh before expiry;
                                      invalid_grant / interaction_required -> AuthRevoked
    build_connector                   -> ingest.microsoft.MicrosoftConnector

Every HTTP call (msal's and Graph's) goes through a requests session with
`trust_env=False` and `verify=KITH_CA_BUNDLE or True`. msal asks login.microsoftonline.com
to validate any other authority unless told not to; for a non-Microsoft authority (the
emulator, a sovereign proxy) that check is turned off. Tokens are never logged.
"""

from __future__ import annotations

import logging
import threading
import warnings
from urllib.parse import parse_qsl, urlparse

import msal
import requests
from pydantic import SecretStr

from ingest.errors import AuthRevoked, ConfigError, InputError, TransientError
from ingest.microsoft import GraphClient, LocalThrottle, MicrosoftConnector, RedisThrottle, make_session
from ingest.microsoft.connector import DEFAULT_FOLDERS

from ..config import Settings
from ..db import Database
from . import REGISTRY, oauth_accounts, oauth_loopback, oauth_states
from .credentials import save_credentials, usable_credentials

log = logging.getLogger(__name__)
AGAIN = REGISTRY["microsoft"].again()

# Resource scopes only: msal adds openid, profile and offline_access itself (and refuses them here).
SCOPES = ["Mail.ReadBasic", "Calendars.ReadBasic", "User.Read"]
GRANTED = SCOPES + ["offline_access"]
MICROSOFT_HOSTS = {
    "login.microsoftonline.com",
    "login.microsoft.com",
    "login.windows.net",
    "login.microsoftonline.us",
    "login.partner.microsoftonline.cn",
}
REVOKED = {
    "invalid_grant",
    "interaction_required",
    "consent_required",
    "login_required",
    "invalid_client",
    "unauthorized_client",
}


def msal_app(
    settings: Settings, cache: msal.SerializableTokenCache | None = None
) -> msal.ConfidentialClientApplication:
    if not settings.ms_client_id:
        raise ConfigError("KITH_MS_CLIENT_ID and KITH_MS_CLIENT_SECRET are needed to connect Microsoft 365")
    microsoft = (urlparse(settings.ms_authority).hostname or "") in MICROSOFT_HOSTS
    try:
        return msal.ConfidentialClientApplication(
            settings.ms_client_id,
            client_credential=settings.ms_client_secret.get_secret_value(),
            authority=settings.ms_authority,
            token_cache=cache,
            http_client=make_session(settings.ca_bundle),
            validate_authority=microsoft,
            instance_discovery=None if microsoft else False,
        )
    except (requests.ConnectionError, requests.Timeout) as exc:
        raise TransientError(f"Microsoft identity platform unreachable: {type(exc).__name__}") from None
    except ValueError as exc:
        raise ConfigError(f"KITH_MS_AUTHORITY {settings.ms_authority!r} does not work: {exc}") from None


# --- the authorization-code flow ------------------------------------------------------------


def start_flow(
    settings: Settings, db: Database, user_id: int, redirect_uri: str, login_hint: str | None = None
) -> oauth_states.Started:
    """Begin a PKCE flow for `user_id`: the URL to send the browser to, and the nonce that
    only the starter keeps (the callback demands it back)."""
    with warnings.catch_warnings():
        # msal suggests response_mode=form_post; the loopback and the API callback read the query
        # (a cross-site POST would not carry the SameSite=Lax cookie that binds the browser).
        warnings.simplefilter("ignore", UserWarning)
        flow = msal_app(settings).initiate_auth_code_flow(
            SCOPES, redirect_uri=redirect_uri, login_hint=login_hint, state=oauth_states.new_state()
        )
    nonce = oauth_states.save(settings, db, "microsoft", flow["state"], user_id, flow)
    return oauth_states.Started(flow["auth_uri"], flow["state"], nonce)


def exchange(settings: Settings, flow: dict, auth_response: dict) -> dict:
    """Trade the redirect's code for an msal token cache; the mailbox it opens
    (oauth_accounts.exchanged)."""
    if auth_response.get("error"):
        raise InputError(
            f"Microsoft sign-in failed: {auth_response.get('error')}: "
            f"{auth_response.get('error_description', '')}".strip()
        )
    cache = msal.SerializableTokenCache()
    app = msal_app(settings, cache)
    try:
        result = app.acquire_token_by_auth_code_flow(flow, auth_response)
    except ValueError as exc:  # state mismatch and friends, raised by msal
        raise InputError(f"Microsoft sign-in response does not match its request: {exc}") from None
    if "error" in result:
        raise InputError(
            f"Microsoft refused the sign-in: {result['error']}: "
            f"{result.get('error_description', '').splitlines()[0] if result.get('error_description') else ''}"
        )
    claims = result.get("id_token_claims") or {}
    address = (claims.get("preferred_username") or claims.get("email") or "").strip().lower()
    if "@" not in address:
        raise InputError("Microsoft did not say which mailbox signed in (no preferred_username)")
    accounts = app.get_accounts(username=address) or app.get_accounts()
    return oauth_accounts.exchanged(
        "microsoft",
        address,
        GRANTED,
        {
            "msal_cache": cache.serialize(),
            "username": address,
            "home_account_id": accounts[0]["home_account_id"] if accounts else None,
        },
    )


complete_flow = oauth_accounts.in_process("microsoft", exchange, AGAIN)


connect_cli = oauth_loopback.connect_command(
    start_flow,
    complete_flow,
    accept=("state",),
    done_text="Microsoft answered.",
    provider="Microsoft 365",
    command="kith connect microsoft",
)


def connect_headless(settings: Settings, db: Database, user_id: int, login_hint: str | None = None) -> int:
    """The flow without a browser: only for an authority that consents by itself (the emulator).
    The calling code is the starter and asked for this mailbox, so it attaches even when
    another Kith user has it too (a team mailbox, as the scale tests connect)."""
    redirect_uri = "http://127.0.0.1:1/kith-headless"  # never opened: the answer is read from Location
    started = start_flow(settings, db, user_id, redirect_uri, login_hint=login_hint)
    with make_session(settings.ca_bundle) as session:
        response = session.get(started.url, allow_redirects=False, timeout=30)
    location = response.headers.get("Location", "")
    if response.status_code not in (302, 303) or not location.startswith(redirect_uri):
        raise ConfigError("the Microsoft authority wants a person to sign in: use `kith connect microsoft`")
    return complete_flow(
        settings, db, dict(parse_qsl(urlparse(location).query)), started.nonce, confirm_shared=lambda address: True
    )


# --- tokens of a connected account ---------------------------------------------------------------


class AccountTokens:
    """Access tokens for one account from its msal cache; the cache is saved when msal changes it
    (a refresh rotates the refresh token, and the old one stops working)."""

    def __init__(self, settings: Settings, db: Database, account_id: int):
        self.settings, self.db, self.account_id = settings, db, account_id
        self.lock = threading.Lock()
        with db.tx() as conn:
            payload = usable_credentials(
                conn, settings, account_id, what="Microsoft token cache", who="Microsoft", needed="msal_cache"
            )
        self.cache = msal.SerializableTokenCache()
        try:
            self.cache.deserialize(payload["msal_cache"])
        except (ValueError, TypeError):
            raise AuthRevoked("the stored Microsoft token cache is unreadable: reconnect the account") from None
        self.payload = payload
        self.app = msal_app(settings, self.cache)

    def __call__(self, force_refresh: bool = False) -> str:
        with self.lock:
            accounts = self.app.get_accounts(username=self.payload.get("username")) or self.app.get_accounts()
            if not accounts:
                raise AuthRevoked("the stored Microsoft token cache holds no account: reconnect")
            try:
                # msal refreshes by itself shortly before the access token expires.
                result = self.app.acquire_token_silent_with_error(SCOPES, accounts[0], force_refresh=force_refresh)
            except (requests.ConnectionError, requests.Timeout) as exc:
                raise TransientError(f"Microsoft identity platform unreachable: {type(exc).__name__}") from None
            if result is None:
                raise AuthRevoked("no usable Microsoft token in the cache: reconnect the account")
            if "error" in result:
                if result["error"] in REVOKED or "AADSTS700082" in result.get("error_description", ""):
                    raise AuthRevoked(f"Microsoft says {result['error']}: reconnect the account")
                raise TransientError(f"Microsoft token refresh failed: {result['error']}")
            if self.cache.has_state_changed:
                self._save()
            return result["access_token"]

    def _save(self) -> None:
        with self.db.tx() as conn:
            save_credentials(
                conn, self.settings, self.account_id, {**self.payload, "msal_cache": self.cache.serialize()}
            )
        self.cache.has_state_changed = False


# --- the emulator (demo, tests) -------------------------------------------------------------


def with_emulator(settings: Settings, emulator) -> Settings:
    """Settings that route msal and Graph to a local `MicrosoftEmulator` (its CA trusted)."""
    return settings.model_copy(
        update={
            "ms_client_id": emulator.client_id,
            "ms_client_secret": SecretStr(emulator.client_secret),
            "ms_authority": emulator.authority,
            "graph_base": emulator.graph_base,
            "ca_bundle": emulator.ca_file,
        }
    )


def connect_demo(settings: Settings, db: Database, user_id: int, world):
    """`kith demo`'s Microsoft account: an emulator seeded with the world's work mailbox,
    connected headlessly. Returns (emulator, settings routed to it, account id); the caller
    syncs with those settings and stops the emulator when done."""
    from ingest.sandbox.microsoft import start_microsoft_emulator

    emulator = start_microsoft_emulator(world)
    routed = with_emulator(settings, emulator)
    try:
        return emulator, routed, connect_headless(routed, db, user_id)
    except Exception:
        emulator.stop()
        raise


def emulator_url(emulator) -> str:
    return emulator.graph_base


# --- the connector ---------------------------------------------------------------------------


def add_folder(db: Database, account_id: int, folder: str) -> str:
    """Sync one more mail folder (well-known name or Graph id) of this account from now on."""
    resource = f"mail:{folder.strip()}"
    with db.tx() as conn:
        conn.execute(
            "INSERT INTO sync_state (account_id, resource) VALUES (%s, %s) ON CONFLICT DO NOTHING",
            (account_id, resource),
        )
    return resource


def build_connector(settings: Settings, db: Database, account_id: int, **options) -> MicrosoftConnector:
    with db.tx() as conn:
        row = conn.execute(
            "SELECT address FROM accounts WHERE id = %s AND provider = 'microsoft'", (account_id,)
        ).fetchone()
        if row is None:
            raise LookupError(f"no Microsoft account {account_id}")
        extra = [
            r[0][5:]
            for r in conn.execute(
                "SELECT resource FROM sync_state WHERE account_id = %s AND resource LIKE 'mail:%%' ORDER BY resource",
                (account_id,),
            ).fetchall()
        ]
    tokens = AccountTokens(settings, db, account_id)
    throttle = RedisThrottle.from_url(settings.redis_url, row[0]) if settings.redis_url else LocalThrottle()
    client = GraphClient(settings.graph_base, tokens, throttle=throttle, session=make_session(settings.ca_bundle))
    return MicrosoftConnector(client, folders=list(DEFAULT_FOLDERS) + extra, **options)
