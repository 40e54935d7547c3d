"""Starting a provider's OAuth flow from the web, for the API and the dashboard alike.

    authorize_url(settings, db, user_id, "google")  -> oauth_states.Started (url, state, nonce)
    bind(response, settings, started)               the browser that gets `response` holds the nonce

The flow's state row remembers the user, so the provider's callback needs no bearer token;
what proves the callback comes back to the browser that started it is the cookie `bind`
sets: `kith_oauth_<hash of state>`, HttpOnly, SameSite=Lax, Secure on https, Path=/v1/connect,
living as long as the flow. The routes that read it back are service.api.connect; the
routes that start flows are `POST /v1/accounts/connect`, `GET /v1/connect/{provider}` and
the dashboard's reconnect, which is why this sits here and not in api/.
"""

from __future__ import annotations

import hashlib

from starlette.responses import Response

from ingest.errors import ConfigError, KithError, TransientError

from ..config import Settings
from ..db import Database
from . import Provider, get, oauth_states

COOKIE_PREFIX = "kith_oauth_"
COOKIE_PATH = "/v1/connect"


class ConnectUnavailable(KithError, RuntimeError):
    """The provider is not configured or not reachable: a 503, not the user's fault."""


def start(
    settings: Settings, db: Database, user_id: int, provider: Provider, login_hint: str | None = None
) -> oauth_states.Started:
    try:
        return provider.start_flow(
            settings, db, user_id, provider.callback_url(settings.base_url), login_hint=login_hint
        )
    except (ConfigError, TransientError) as exc:
        raise ConnectUnavailable(str(exc)) from exc


def authorize_url(
    settings: Settings, db: Database, user_id: int, provider: str, login_hint: str | None = None
) -> oauth_states.Started:
    """Start the named provider's OAuth flow for the user: the URL to send their browser to,
    and the nonce that browser must hold (`bind` sets it as a cookie)."""
    return start(settings, db, user_id, get(provider), login_hint)


def cookie_name(state: str) -> str:
    # A hash, not the state itself: the callback's state comes from the query, and only
    # token characters are allowed in a cookie name.
    return COOKIE_PREFIX + hashlib.sha256(state.encode()).hexdigest()[:16]


def bind(response: Response, settings: Settings, started: oauth_states.Started) -> Response:
    """Give the browser that receives `response` the nonce of the flow it starts."""
    response.set_cookie(
        cookie_name(started.state),
        started.nonce,
        max_age=oauth_states.FLOW_TTL_SECONDS,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=settings.base_url.startswith("https://"),
    )
    return response


__all__ = ["ConnectUnavailable", "authorize_url", "start", "bind", "cookie_name", "COOKIE_PREFIX", "COOKIE_PATH"]
