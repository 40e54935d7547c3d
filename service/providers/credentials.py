"""Credentials of connected accounts (refresh tokens, msal caches), encrypted at rest."""

from __future__ import annotations

import json

from ingest.errors import AuthRevoked

from .. import crypto
from ..config import Settings


def save_credentials(conn, settings: Settings, account_id: int, payload: dict) -> None:
    blob = crypto.encrypt(settings.secret(), json.dumps(payload).encode())
    conn.execute(
        "INSERT INTO credentials (account_id, ciphertext) VALUES (%s, %s) "
        "ON CONFLICT (account_id) DO UPDATE SET ciphertext = EXCLUDED.ciphertext, updated_at = now()",
        (account_id, blob),
    )


def load_credentials(conn, settings: Settings, account_id: int) -> dict | None:
    row = conn.execute("SELECT ciphertext FROM credentials WHERE account_id = %s", (account_id,)).fetchone()
    if row is None:
        return None
    return json.loads(crypto.decrypt(settings.secret(), row[0]))


def usable_credentials(conn, settings: Settings, account_id: int, *, what: str, who: str, needed: str) -> dict:
    """The stored credentials of a connected account, holding `needed`; AuthRevoked (reconnect)
    when they cannot be decrypted (KITH_SECRET_KEY changed) or are missing."""
    try:
        payload = load_credentials(conn, settings, account_id)
    except crypto.CredentialError:
        raise AuthRevoked(
            f"the stored {what} cannot be decrypted with KITH_SECRET_KEY (key changed?): reconnect the account"
        ) from None
    if not payload or not payload.get(needed):
        raise AuthRevoked(f"no stored {who} credentials: connect the account")
    return payload


def delete_credentials(conn, account_id: int) -> None:
    conn.execute("DELETE FROM credentials WHERE account_id = %s", (account_id,))


def rotate_all(conn, settings: Settings) -> int:
    """Re-encrypt every stored credential under the newest key; returns how many."""
    rows = conn.execute("SELECT account_id, ciphertext FROM credentials FOR UPDATE").fetchall()
    for account_id, blob in rows:
        conn.execute(
            "UPDATE credentials SET ciphertext = %s, updated_at = now() WHERE account_id = %s",
            (crypto.rotate(settings.secret(), blob), account_id),
        )
    return len(rows)
