"""Pending OAuth flows: kept server-side, encrypted, and usable once.

The browser carries only the `state`; what the flow needs to finish (the PKCE code
verifier, msal's flow dict) stays here, encrypted with KITH_SECRET_KEY. `take` marks the
row used before anything else happens, so a replayed callback finds nothing.
"""
from __future__ import annotations

import json

from ingest.errors import InputError

from . import crypto
from .config import Settings
from .db import Database

FLOW_TTL = "15 minutes"


def save(settings: Settings, db: Database, provider: str, state: str, user_id: int, flow: dict) -> None:
    with db.tx() as conn:
        conn.execute("DELETE FROM oauth_states WHERE created_at < now() - interval '1 day'")
        conn.execute("INSERT INTO oauth_states (state, user_id, provider, payload) VALUES (%s, %s, %s, %s)",
                     (state, user_id, provider, crypto.encrypt(settings.secret(), json.dumps(flow).encode())))


def take(settings: Settings, db: Database, provider: str, state: str, *, again: str) -> tuple[int, dict]:
    """The user and flow saved under `state`, once; `again` says how to start over."""
    if not state:
        raise InputError(f"the sign-in answer carries no state: {again}")
    with db.tx() as conn:
        row = conn.execute(
            "UPDATE oauth_states SET used_at = now() WHERE state = %s AND provider = %s "
            f"AND used_at IS NULL AND created_at > now() - interval '{FLOW_TTL}' RETURNING user_id, payload",
            (state, provider)).fetchone()
    if row is None:
        raise InputError(f"this sign-in link is unknown, expired or already used: {again}")
    return row[0], json.loads(crypto.decrypt(settings.secret(), row[1]))
