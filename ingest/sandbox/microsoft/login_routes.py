"""The emulated Microsoft identity platform's routes: discovery, authorize (consent), token."""

from __future__ import annotations

import html
from urllib.parse import urlencode

from werkzeug.wrappers import Request, Response

from .responses import _json
from .identity import GrantError


def login(emulator, request: Request, path: str) -> Response:
    parts = [p for p in path.split("/") if p]
    if parts[-2:] == ["discovery", "instance"]:
        return _json(
            {
                "tenant_discovery_endpoint": f"{emulator.authority}/v2.0/.well-known/openid-configuration",
                "api-version": "1.1",
                "metadata": [],
            }
        )
    if len(parts) == 4 and parts[1:] == ["v2.0", ".well-known", "openid-configuration"]:
        return _json(emulator.identity.openid_configuration(parts[0]))
    if len(parts) == 4 and parts[1:3] == ["oauth2", "v2.0"] and parts[3] == "authorize":
        return authorize(emulator, request)
    if len(parts) == 4 and parts[1:3] == ["oauth2", "v2.0"] and parts[3] == "token" and request.method == "POST":
        try:
            return _json(
                emulator.identity.token(request.form.to_dict()),
                headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
            )
        except GrantError as exc:
            return _json(
                {
                    "error": exc.error,
                    "error_description": exc.description,
                    "error_codes": [int(exc.description[6 : exc.description.index(":")])]
                    if exc.description.startswith("AADSTS")
                    else [],
                },
                exc.status,
            )
    return _json({"error": "not_found", "error_description": path}, 404)


def authorize(emulator, request: Request) -> Response:
    args = request.values
    redirect_uri = args.get("redirect_uri", "")
    if not redirect_uri.startswith(("http://127.0.0.1", "http://localhost", "https://")):
        return _json({"error": "invalid_request", "error_description": "AADSTS50011: bad redirect_uri"}, 400)
    user = (args.get("login_hint") or emulator.default_user or "").lower()
    if request.method == "GET" and not emulator.auto_consent:
        fields = "".join(
            f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}">' for k, v in args.items(multi=True)
        )
        page = (
            f"<!doctype html><title>Sign in</title><h1>Kith wants to read mail and calendar metadata</h1>"
            f"<p>Signed in as {html.escape(user)}</p><form method=post>{fields}"
            f"<button name=consent value=yes>Accept</button></form>"
        )
        return Response(page, mimetype="text/html")
    state = args.get("state", "")
    try:
        code = emulator.identity.issue_code(
            user=user,
            client_id=args.get("client_id", ""),
            redirect_uri=redirect_uri,
            scope=args.get("scope", ""),
            challenge=args.get("code_challenge", ""),
            method=args.get("code_challenge_method", ""),
            nonce=args.get("nonce"),
        )
        query = {"code": code, "state": state, "session_state": "emulated"}
    except GrantError as exc:
        query = {"error": exc.error, "error_description": exc.description, "state": state}
    separator = "&" if "?" in redirect_uri else "?"
    return Response(status=302, headers={"Location": redirect_uri + separator + urlencode(query)})
