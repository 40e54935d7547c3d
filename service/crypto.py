"""Encryption of stored credentials with keys derived from KITH_SECRET_KEY.

Fernet (AES-128-CBC + HMAC-SHA256) from `cryptography`. Several keys may be given, newest
first (KITH_SECRET_KEY may hold "new,old"): encryption uses the first, decryption tries
all, so the key can be rotated and credentials re-encrypted (`kith rotate-key`).
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ingest.errors import KithError


class CredentialError(KithError):
    """Stored credentials cannot be decrypted (wrong or rotated-away key, or corrupt)."""


def _derive(secret: bytes) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"kith-credentials-v1", info=b"fernet").derive(secret)
    return Fernet(base64.urlsafe_b64encode(key))


def cipher(secret: bytes) -> MultiFernet:
    parts = [p.strip() for p in secret.split(b",") if p.strip()]
    if not parts:
        raise CredentialError("KITH_SECRET_KEY is empty")
    return MultiFernet([_derive(p) for p in parts])


def encrypt(secret: bytes, data: bytes) -> bytes:
    return cipher(secret).encrypt(data)


def decrypt(secret: bytes, blob: bytes) -> bytes:
    try:
        return cipher(secret).decrypt(bytes(blob))
    except InvalidToken:
        raise CredentialError("stored credentials cannot be decrypted with KITH_SECRET_KEY") from None


def rotate(secret: bytes, blob: bytes) -> bytes:
    """Re-encrypt under the newest key."""
    try:
        return cipher(secret).rotate(bytes(blob))
    except InvalidToken:
        raise CredentialError("stored credentials cannot be decrypted with KITH_SECRET_KEY") from None
