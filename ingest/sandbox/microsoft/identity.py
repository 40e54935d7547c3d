"""The emulated Microsoft identity platform's state: clients, codes, tokens.

Authorization codes are single use and bound to the client, redirect URI and PKCE
challenge; refresh tokens rotate (each use returns a new one and retires the old, whose
reuse is `invalid_grant`); id_tokens are JWTs carrying iss, aud, nonce, tid, oid and
preferred_username; `client_info` is base64url JSON {uid, utid}, as msal expects.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field

TENANT_ID = "9188040d-6c67-4c5b-b112-36a304b66dad"
RESERVED = {"openid", "profile", "offline_access", "email"}


class GrantError(Exception):
    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def s256(verifier: str) -> str:
    return b64url(hashlib.sha256(verifier.encode()).digest())


@dataclass
class Grant:
    user: str
    client_id: str
    scopes: tuple[str, ...]
    expires: float = 0.0
    redirect_uri: str = ""
    challenge: str = ""
    method: str = ""
    nonce: str | None = None


@dataclass
class Identity:
    issuer_base: str  # https://127.0.0.1:PORT
    clients: dict[str, str] = field(default_factory=dict)  # client_id -> secret
    users: dict[str, dict] = field(default_factory=dict)  # upn -> {"oid", "name"}
    access_lifetime: int = 3600
    codes: dict[str, Grant] = field(default_factory=dict)
    access: dict[str, Grant] = field(default_factory=dict)
    refresh: dict[str, Grant] = field(default_factory=dict)
    key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    lock: threading.Lock = field(default_factory=threading.Lock)
    token_requests: int = 0

    @property
    def issuer(self) -> str:
        return f"{self.issuer_base}/{TENANT_ID}/v2.0"

    def openid_configuration(self, tenant: str) -> dict:
        base = f"{self.issuer_base}/{tenant}"
        return {
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "issuer": self.issuer,
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "code_challenge_methods_supported": ["plain", "S256"],
            "tenant_region_scope": "EU",
        }

    # -- authorize ------------------------------------------------------------------------------
    def issue_code(
        self,
        *,
        user: str,
        client_id: str,
        redirect_uri: str,
        scope: str,
        challenge: str,
        method: str,
        nonce: str | None,
    ) -> str:
        if client_id not in self.clients:
            raise GrantError("unauthorized_client", f"AADSTS700016: application {client_id} not found")
        if user not in self.users:
            raise GrantError("invalid_request", "AADSTS50034: the user account does not exist")
        if not challenge:
            raise GrantError("invalid_request", "AADSTS9002325: PKCE is required for this client")
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = Grant(
                user,
                client_id,
                tuple(scope.split()),
                time.time() + 600,
                redirect_uri,
                challenge,
                method or "plain",
                nonce,
            )
        return code

    # -- token ------------------------------------------------------------------------------------
    def token(self, form: dict) -> dict:
        with self.lock:
            self.token_requests += 1
        client_id = form.get("client_id", "")
        if self.clients.get(client_id) is None or not hmac.compare_digest(
            self.clients[client_id], form.get("client_secret", "")
        ):
            raise GrantError("invalid_client", "AADSTS7000215: invalid client secret provided", 401)
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            with self.lock:
                grant = self.codes.pop(form.get("code", ""), None)
            if grant is None or grant.expires < time.time() or grant.client_id != client_id:
                raise GrantError("invalid_grant", "AADSTS70008: the authorization code is invalid or expired")
            if grant.redirect_uri != form.get("redirect_uri"):
                raise GrantError("invalid_grant", "AADSTS50011: redirect_uri does not match the authorize request")
            verifier = form.get("code_verifier", "")
            expected = s256(verifier) if grant.method == "S256" else verifier
            if not verifier or not hmac.compare_digest(expected, grant.challenge):
                raise GrantError("invalid_grant", "AADSTS501481: the code_verifier does not match the code_challenge")
            return self._tokens(grant, nonce=grant.nonce)
        if grant_type == "refresh_token":
            with self.lock:
                grant = self.refresh.pop(form.get("refresh_token", ""), None)
            if grant is None or grant.client_id != client_id:
                raise GrantError("invalid_grant", "AADSTS70000: the refresh token has expired, was revoked or was used")
            asked = tuple(form.get("scope", "").split()) or grant.scopes
            return self._tokens(Grant(grant.user, client_id, asked), nonce=None)
        raise GrantError("unsupported_grant_type", f"AADSTS70003: grant type {grant_type!r} is not supported")

    def _tokens(self, grant: Grant, nonce: str | None) -> dict:
        user = self.users[grant.user]
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(48)
        resource_scopes = tuple(s for s in grant.scopes if s.lower() not in RESERVED)
        with self.lock:
            self.access[access] = Grant(
                grant.user, grant.client_id, resource_scopes, time.time() + self.access_lifetime
            )
            if "offline_access" in grant.scopes:  # no refresh token without it, as in Entra
                self.refresh[refresh] = Grant(grant.user, grant.client_id, grant.scopes)
        now = int(time.time())
        claims = {
            "aud": grant.client_id,
            "iss": self.issuer,
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "name": user["name"],
            "oid": user["oid"],
            "preferred_username": grant.user,
            "sub": b64url(hashlib.sha256(f"{user['oid']}/{grant.client_id}".encode()).digest()),
            "tid": TENANT_ID,
            "ver": "2.0",
        }
        if nonce:
            claims["nonce"] = nonce
        answer = {
            "token_type": "Bearer",
            "scope": " ".join(resource_scopes),
            "expires_in": self.access_lifetime,
            "ext_expires_in": self.access_lifetime,
            "access_token": access,
            "id_token": self._jwt(claims),
            "client_info": b64url(json.dumps({"uid": user["oid"], "utid": TENANT_ID}).encode()),
        }
        if "offline_access" in grant.scopes:
            answer["refresh_token"] = refresh
        return answer

    def _jwt(self, claims: dict) -> str:
        header = b64url(json.dumps({"typ": "JWT", "alg": "HS256", "kid": "kith-emulator"}).encode())
        body = b64url(json.dumps(claims).encode())
        signature = hmac.new(self.key, f"{header}.{body}".encode(), hashlib.sha256).digest()
        return f"{header}.{body}.{b64url(signature)}"

    # -- resource server --------------------------------------------------------------------------
    def check_access(self, token: str) -> Grant | None:
        with self.lock:
            grant = self.access.get(token)
        return grant if grant is not None and grant.expires > time.time() else None

    def revoke(self, user: str) -> None:
        """The user (or an admin) revoked Kith's consent: every token of theirs stops working."""
        with self.lock:
            for table in (self.access, self.refresh, self.codes):
                for key in [k for k, g in table.items() if g.user == user]:
                    del table[key]

    def expire_access_tokens(self) -> None:
        with self.lock:
            for grant in self.access.values():
                grant.expires = 0.0
