"""The interactive API reference at /docs, under a CSP that forbids inline script.

FastAPI's own page starts Swagger UI with an inline <script>, which the app's policy
(headers.py) blocks. This page loads the same Swagger UI files and starts them from
/static/swagger-init.js; its policy names the one CDN those files come from, and nothing
else beyond the app's own origin.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

SWAGGER_CDN = "https://cdn.jsdelivr.net"
SWAGGER_DIST = f"{SWAGGER_CDN}/npm/swagger-ui-dist@5"
POLICY = "; ".join(
    [
        "default-src 'none'",
        f"script-src 'self' {SWAGGER_CDN}",
        f"style-src 'self' {SWAGGER_CDN}",
        "img-src 'self' data:",
        "connect-src 'self'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
PAGE = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Kith API</title><link rel="stylesheet" href="{SWAGGER_DIST}/swagger-ui.css"></head>
<body><div id="swagger-ui" data-openapi-url="/openapi.json"></div>
<script src="{SWAGGER_DIST}/swagger-ui-bundle.js"></script>
<script src="/static/swagger-init.js"></script></body></html>"""

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def docs() -> HTMLResponse:
    return HTMLResponse(PAGE, headers={"Content-Security-Policy": POLICY})
