"""The emulator's Google OAuth 2.0 endpoints: authorize (PKCE), token, revoke.

* `GET /o/oauth2/auth` — checks client, redirect URI, scopes and a PKCE challenge, then
  shows a consent page; it consents at once and redirects back with a code when the query
  says so (`login_hint` naming a known account, or `auto_consent=1`): headless runs drive
  the real flow that way.
* `POST /token` — `authorization_code` (one use, 10 minutes, code_verifier must match the
  S256 challenge) and `refresh_token` grants; a revoked refresh token gives `invalid_grant`.
* `POST /revoke?token=...` — revokes a refresh token (and its access tokens) or one access token.

Access tokens live `access_ttl_s`; API calls resolve them with `bearer()`.
"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode

import hmac

SCOPE_ALIASES = {
    "email": "https://www.googleapis.com/auth/userinfo.email",
    "profile": "https://www.googleapis.com/auth/userinfo.profile",
}
CODE_TTL_S = 600


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400):
        super().__init__(description)
        self.error, self.description, self.status = error, description, status


@dataclass
class Grant:
    user: str
    client_id: str
    scopes: tuple[str, ...]
    redirect_uri: str = ""
    challenge: str = ""
    method: str = "S256"
    created: float = field(default_factory=time.time)
    used: bool = False
    revoked: bool = False


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def normalise_scopes(raw: str) -> tuple[str, ...]:
    out = []
    for scope in raw.split():
        scope = SCOPE_ALIASES.get(scope, scope)
        if scope not in out:
            out.append(scope)
    return tuple(out)


class OAuthServer:
    def __init__(self, issuer: str, known_users, access_ttl_s: int = 3600):
        self.issuer = issuer
        self.known_users = known_users  # callable: () -> list of addresses
        self.access_ttl_s = access_ttl_s
        self.codes: dict[str, Grant] = {}
        self.refresh: dict[str, Grant] = {}
        self.access: dict[str, tuple[Grant, float]] = {}
        self.signing_key = secrets.token_bytes(32)
        self.lock = threading.Lock()
        self.token_requests = 0

    # --- authorize ----------------------------------------------------------------

    def authorize(self, query: dict[str, str]) -> tuple[int, dict, bytes]:
        """Validate the request; redirect with a code (auto-consent) or show consent."""
        redirect_uri = query.get("redirect_uri", "")
        if not query.get("client_id") or not redirect_uri:
            return _page(400, "Error 400: invalid_request", "Missing required parameter: client_id or redirect_uri.")
        if query.get("response_type") != "code":
            return _page(400, "Error 400: unsupported_response_type", "Only response_type=code.")
        if not query.get("scope"):
            return _page(400, "Error 400: invalid_request", "Missing required parameter: scope.")
        if not query.get("code_challenge") or query.get("code_challenge_method", "plain") != "S256":
            return _page(
                400, "Error 400: invalid_request", "This emulator requires PKCE with code_challenge_method=S256."
            )
        hint = (query.get("login_hint") or "").lower()
        users = self.known_users()
        if query.get("auto_consent") == "1" or hint in users:
            user = hint if hint in users else (users[0] if users else "")
            return self.consent(dict(query, user=user, decision="allow"))
        options = "".join(f'<option value="{html.escape(u)}">{html.escape(u)}</option>' for u in users)
        hidden = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in query.items()
        )
        body = (
            f"<h1>Kith wants to see your Gmail and Calendar metadata</h1>"
            f"<p>Scopes: {html.escape(query['scope'])}</p>"
            f'<form method="post" action="/o/oauth2/consent">{hidden}'
            f'<select name="user">{options}</select>'
            f'<button name="decision" value="allow">Allow</button>'
            f'<button name="decision" value="deny">Deny</button></form>'
        )
        return _page(200, "Sign in - Google Accounts (emulator)", body, raw=True)

    def consent(self, form: dict[str, str]) -> tuple[int, dict, bytes]:
        redirect_uri = form.get("redirect_uri", "")
        state = form.get("state")
        params: dict[str, str] = {}
        if form.get("decision") != "allow" or form.get("user", "").lower() not in self.known_users():
            params["error"] = "access_denied"
        else:
            code = "4/" + secrets.token_urlsafe(24)
            grant = Grant(
                user=form["user"].lower(),
                client_id=form.get("client_id", ""),
                scopes=normalise_scopes(form.get("scope", "")),
                redirect_uri=redirect_uri,
                challenge=form.get("code_challenge", ""),
                method=form.get("code_challenge_method", "S256"),
            )
            with self.lock:
                self.codes[code] = grant
            params["code"] = code
            params["scope"] = " ".join(grant.scopes)
        if state is not None:
            params["state"] = state
        sep = "&" if "?" in redirect_uri else "?"
        return 302, {"Location": f"{redirect_uri}{sep}{urlencode(params)}"}, b""

    # --- token ----------------------------------------------------------------------

    def token(self, form: dict[str, str]) -> tuple[int, dict, bytes]:
        self.token_requests += 1
        try:
            grant_type = form.get("grant_type")
            if grant_type == "authorization_code":
                payload = self._exchange(form)
            elif grant_type == "refresh_token":
                payload = self._refresh(form)
            else:
                raise OAuthError("unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        except OAuthError as exc:
            return (
                exc.status,
                {"Content-Type": "application/json"},
                json.dumps({"error": exc.error, "error_description": exc.description}).encode(),
            )
        return 200, {"Content-Type": "application/json", "Cache-Control": "no-store"}, json.dumps(payload).encode()

    def _exchange(self, form: dict[str, str]) -> dict:
        with self.lock:
            grant = self.codes.get(form.get("code", ""))
            if grant is None or grant.used or time.time() - grant.created > CODE_TTL_S:
                raise OAuthError("invalid_grant", "Malformed auth code.")
            grant.used = True  # one use, even when the rest fails
        if form.get("client_id") and form["client_id"] != grant.client_id:
            raise OAuthError("invalid_client", "The OAuth client was not found.", 401)
        if form.get("redirect_uri", "") != grant.redirect_uri:
            raise OAuthError("redirect_uri_mismatch", "Bad Request")
        if s256(form.get("code_verifier", "")) != grant.challenge:
            raise OAuthError("invalid_grant", "Invalid code verifier.")
        refresh = "1//" + secrets.token_urlsafe(32)
        stored = Grant(user=grant.user, client_id=grant.client_id, scopes=grant.scopes)
        with self.lock:
            self.refresh[refresh] = stored
        payload = self._access_payload(stored)
        payload["refresh_token"] = refresh
        if "openid" in grant.scopes:
            now = int(time.time())
            payload["id_token"] = _jwt_hs256(
                {
                    "iss": self.issuer,
                    "aud": grant.client_id,
                    "sub": str(int(hashlib.sha256(grant.user.encode()).hexdigest()[:15], 16)),
                    "email": grant.user,
                    "email_verified": True,
                    "iat": now,
                    "exp": now + 3600,
                },
                self.signing_key,
            )
        return payload

    def _refresh(self, form: dict[str, str]) -> dict:
        with self.lock:
            grant = self.refresh.get(form.get("refresh_token", ""))
        if grant is None or grant.revoked:
            raise OAuthError("invalid_grant", "Token has been expired or revoked.")
        return self._access_payload(grant)

    def _access_payload(self, grant: Grant) -> dict:
        token = "ya29." + secrets.token_urlsafe(32)
        with self.lock:
            self.access[token] = (grant, time.time() + self.access_ttl_s)
        return {
            "access_token": token,
            "expires_in": self.access_ttl_s,
            "token_type": "Bearer",
            "scope": " ".join(grant.scopes),
        }

    # --- revoke and use ---------------------------------------------------------------

    def revoke(self, token: str) -> tuple[int, dict, bytes]:
        with self.lock:
            if token in self.refresh:
                self.refresh[token].revoked = True
            elif token in self.access:
                self.access.pop(token)
            else:
                return 400, {"Content-Type": "application/json"}, b'{"error": "invalid_token"}'
        return 200, {"Content-Type": "application/json"}, b"{}"

    def revoke_user(self, user: str) -> None:
        """The user removed Kith's access (or the admin did): every grant dies."""
        with self.lock:
            for grant in self.refresh.values():
                if grant.user == user:
                    grant.revoked = True

    def expire_access_tokens(self) -> None:
        with self.lock:
            self.access = {t: (g, 0.0) for t, (g, _) in self.access.items()}

    def bearer(self, authorization: str | None) -> Grant | None:
        if not authorization or not authorization.lower().startswith("bearer "):
            return None
        with self.lock:
            found = self.access.get(authorization[7:].strip())
        if found is None:
            return None
        grant, expires = found
        if grant.revoked or time.time() >= expires:
            return None
        return grant


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _jwt_hs256(claims: dict, key: bytes) -> str:
    """A compact JWS (RFC 7515) signed with HMAC-SHA256: the id_token's shape, the
    emulator's own key (Google signs with RS256; Kith reads the claims only)."""
    head = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    body = _b64(json.dumps(claims).encode())
    signature = hmac.new(key, f"{head}.{body}".encode(), hashlib.sha256).digest()
    return f"{head}.{body}.{_b64(signature)}"


def _page(status: int, title: str, text: str, raw: bool = False) -> tuple[int, dict, bytes]:
    body = text if raw else f"<p>{html.escape(text)}</p>"
    doc = f"<!doctype html><title>{html.escape(title)}</title>{body}"
    return status, {"Content-Type": "text/html; charset=utf-8"}, doc.encode()
