"""Pending OAuth flows: kept server-side, encrypted, bound to their starter, and usable once.

A flow lives through three steps, each a single-statement transition of its row:

    save      state + the encrypted flow (PKCE verifier, msal's dict) + SHA-256 of a random
              nonce, handed to whoever started it (an HttpOnly cookie in a browser, memory
              in the CLI); `answer` and `take` demand that nonce back
    answer    the provider's redirect: once, within FLOW_TTL, for the nonce's holder only
              (a stranger's browser burns the flow: its code never reaches the token endpoint)
    hold      the exchanged tokens replace the flow, encrypted, with a confirmation token
    take      the confirmation: once, for the nonce's holder, with that token

The browser carries only the `state`; the row says whose flow it is. A nonce or token is
never stored, only its hash, so a database reader cannot finish someone else's flow.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass

from ingest.errors import InputError

from .. import crypto
from ..config import Settings
from ..db import Database

FLOW_TTL = "15 minutes"
FLOW_TTL_SECONDS = 15 * 60
_LIVE = f"used_at IS NULL AND created_at > now() - interval '{FLOW_TTL}'"


class NotThisBrowser(InputError):
    """The flow exists, but whoever answers it does not hold the nonce of its start."""


@dataclass(frozen=True)
class Started:
    """A flow begun: the URL to send the browser to, and the nonce only its starter keeps."""

    url: str
    state: str
    nonce: str = ""

    def __repr__(self) -> str:  # the nonce is a credential: keep it out of logs and tracebacks
        return f"Started(state={self.state[:8]}...)"


@dataclass(frozen=True)
class Waiting:
    """An answered flow waiting for its confirmation."""

    user_id: int
    exchanged: dict


def _hash(secret: str | None) -> bytes:
    return hashlib.sha256((secret or "").encode()).digest()


def new_state() -> str:
    return secrets.token_urlsafe(32)


def save(settings: Settings, db: Database, provider: str, state: str, user_id: int, flow: dict) -> str:
    """Keep the flow under `state`; returns the nonce its starter must present later."""
    nonce = secrets.token_urlsafe(32)
    with db.tx() as conn:
        conn.execute("DELETE FROM oauth_states WHERE created_at < now() - interval '1 day'")
        conn.execute(
            "INSERT INTO oauth_states (state, user_id, provider, payload, nonce_hash) VALUES (%s, %s, %s, %s, %s)",
            (state, user_id, provider, crypto.encrypt(settings.secret(), json.dumps(flow).encode()), _hash(nonce)),
        )
    return nonce


def answer(
    settings: Settings, db: Database, provider: str, state: str, nonce: str | None, *, again: str
) -> tuple[int, dict]:
    """The user and flow saved under `state`, once, for the holder of its nonce."""
    if not state:
        raise InputError(f"the sign-in answer carries no state: {again}")
    with db.tx() as conn:
        # A wrong nonce burns the flow too: the code in this answer went to a browser that
        # did not start it, so nobody may finish this flow any more.
        row = conn.execute(
            "UPDATE oauth_states SET answered_at = now(), "
            "used_at = CASE WHEN coalesce(nonce_hash = %(n)s, false) THEN NULL ELSE now() END "
            f"WHERE state = %(s)s AND provider = %(p)s AND answered_at IS NULL AND {_LIVE} "
            "RETURNING user_id, payload, used_at IS NULL",
            {"n": _hash(nonce), "s": state, "p": provider},
        ).fetchone()
    if row is None:
        raise InputError(f"this sign-in link is unknown, expired or already used: {again}")
    if not row[2]:
        raise NotThisBrowser(
            "this sign-in was started in another browser or by someone else, so Kith "
            f"will not connect it here: {again} from your own Kith session"
        )
    return row[0], _decrypt(settings, row[1])


def hold(settings: Settings, db: Database, state: str, exchanged: dict) -> str:
    """Keep the exchanged tokens until the confirmation; returns its token."""
    token = secrets.token_urlsafe(32)
    with db.tx() as conn:
        conn.execute(
            f"UPDATE oauth_states SET payload = %s, confirm_hash = %s WHERE state = %s "
            f"AND answered_at IS NOT NULL AND {_LIVE}",
            (crypto.encrypt(settings.secret(), json.dumps(exchanged).encode()), _hash(token), state),
        )
    return token


def burn(db: Database, state: str) -> None:
    """End a flow that cannot go on (a refused exchange, an in-process flow attached)."""
    with db.tx() as conn:
        conn.execute("UPDATE oauth_states SET used_at = coalesce(used_at, now()) WHERE state = %s", (state,))


def waiting(
    settings: Settings, db: Database, provider: str, state: str, nonce: str | None, confirm: str | None, *, again: str
) -> Waiting:
    """The answered flow `state`, unconsumed, for the holder of its nonce and confirmation."""
    with db.tx() as conn:
        row = conn.execute(
            "SELECT user_id, payload, coalesce(nonce_hash = %(n)s AND confirm_hash = %(c)s, false) "
            f"FROM oauth_states WHERE state = %(s)s AND provider = %(p)s AND confirm_hash IS NOT NULL AND {_LIVE}",
            {"n": _hash(nonce), "c": _hash(confirm), "s": state or "", "p": provider},
        ).fetchone()
    if row is None:
        raise InputError(f"this confirmation is unknown, expired or already used: {again}")
    if not row[2]:
        raise NotThisBrowser(
            "this confirmation does not come from the browser that started the sign-in, "
            f"so Kith will not connect it: {again} from your own Kith session"
        )
    return Waiting(row[0], _decrypt(settings, row[1]))


def take(
    settings: Settings, db: Database, provider: str, state: str, nonce: str | None, confirm: str | None, *, again: str
) -> Waiting:
    """`waiting`, consumed: a second confirmation finds nothing."""
    with db.tx() as conn:
        row = conn.execute(
            f"UPDATE oauth_states SET used_at = now() WHERE state = %(s)s AND provider = %(p)s AND {_LIVE} "
            "AND confirm_hash = %(c)s AND nonce_hash = %(n)s RETURNING user_id, payload",
            {"n": _hash(nonce), "c": _hash(confirm), "s": state or "", "p": provider},
        ).fetchone()
    if row is None:
        waiting(settings, db, provider, state, nonce, confirm, again=again)  # raises the precise reason
        raise InputError(f"this confirmation is unknown, expired or already used: {again}")
    return Waiting(row[0], _decrypt(settings, row[1]))


def _decrypt(settings: Settings, blob) -> dict:
    return json.loads(crypto.decrypt(settings.secret(), bytes(blob)))


__all__ = [
    "FLOW_TTL",
    "FLOW_TTL_SECONDS",
    "NotThisBrowser",
    "Started",
    "Waiting",
    "new_state",
    "save",
    "answer",
    "hold",
    "burn",
    "waiting",
    "take",
]
