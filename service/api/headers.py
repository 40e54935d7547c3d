"""Security headers on every response: one pure ASGI middleware, whatever the route.

Pages show names and addresses that strangers wrote, so the browser is told to run no script
and apply no style but the app's own files (no 'unsafe-inline': markup that slipped through
escaping stays inert), to let no site frame a page (a framed dashboard can be clicked into
"Sync now"), not to guess content types, and to send no Referer to other sites (digest links
carry signed tokens in their query). Not "no-referrer": under it Chromium posts forms with
`Origin: null`, and the dashboard's forms are checked by their Origin. A route that needs another policy sets its own header; it is kept.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from ..config import Settings


def _origin(url: str) -> str | None:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme in ("http", "https") and parts.netloc else None


def content_security_policy(settings: Settings) -> str:
    # "Reconnect" is a form whose answer redirects to the provider's sign-in page; Chromium
    # holds redirects after a form to form-action too.
    providers = sorted({o for o in (_origin(settings.google_auth_uri), _origin(settings.ms_authority)) if o})
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "form-action " + " ".join(["'self'", *providers]),
            "base-uri 'none'",
            "frame-ancestors 'none'",
        ]
    )


def security_headers(settings: Settings) -> dict[str, str]:
    return {
        "Content-Security-Policy": content_security_policy(settings),
        "X-Frame-Options": "DENY",  # frame-ancestors for browsers that predate it
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
    }


class SecurityHeaders:
    """Adds `headers` to every HTTP response that does not already carry them."""

    def __init__(self, app, headers: dict[str, str]):
        self.app = app
        self.headers = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers.items()]

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                extra = [(name, value) for name, value in self.headers if name not in present]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, send_with_headers)
