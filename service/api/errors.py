"""Error bodies: every 4xx and 5xx answers `{"error": code, "message": text, "details": [...]}`.

    HTTPException (FastAPI / Starlette) -> its status, code from the status
    RequestValidationError              -> 422 "invalid_request", one detail per bad field
    any other exception                 -> 500 "internal_error", logged with its traceback

A client never has to parse HTML or guess: the message says what was wrong, and
`details` points at the field (`loc`) when one is to blame.
"""

from __future__ import annotations

import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("kith.api")

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "too_many_requests",
}


class ErrorBody(BaseModel):
    """What every 4xx and 5xx answer carries."""

    model_config = {
        "json_schema_extra": {
            "examples": [
                {
                    "error": "invalid_request",
                    "message": "query.limit: Input should be less than or equal to 200",
                    "details": [
                        {
                            "loc": ["query", "limit"],
                            "message": "Input should be less than or equal to 200",
                            "type": "less_than_equal",
                        }
                    ],
                }
            ]
        }
    }
    error: str = Field(description="A stable code: not_found, invalid_request, unauthorized, ...")
    message: str = Field(description="What was wrong, for a person.")
    details: list = Field(description="Per-field problems, when a field is to blame.")


def documented(*statuses: int) -> dict:
    """OpenAPI `responses` entries for these error statuses, all with the ErrorBody shape."""
    text = {
        400: "The request is malformed (e.g. a cursor this API did not give out).",
        401: "Missing, unknown or revoked bearer token.",
        404: "Not found for this user.",
        409: "Conflicts with the current state.",
        413: "The request body is too large.",
        422: "A parameter or field is not valid.",
        503: "A backing service is not reachable.",
    }
    return {s: {"model": ErrorBody, "description": text.get(s, HTTPStatus(s).phrase)} for s in statuses}


def error_body(status: int, message: str, details: list | None = None, code: str | None = None) -> dict:
    return {
        "error": code or CODES.get(status, HTTPStatus(status).phrase.lower().replace(" ", "_")),
        "message": message,
        "details": details or [],
    }


def error_response(
    status: int, message: str, details: list | None = None, headers: dict | None = None, code: str | None = None
) -> JSONResponse:
    return JSONResponse(error_body(status, message, details, code), status_code=status, headers=headers)


def _plain(value):
    """Validation inputs may hold bytes or odd objects; keep the JSON body serialisable."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return repr(value)[:200]


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method the schema documents for a concrete path.

    Routing stops at the first route whose path matches, so Starlette's own Allow header
    names only that route's methods; a path served by several routes needs them all.
    """
    table = getattr(app.state, "allow_table", None)
    if table is None:
        table = []
        for template, item in app.openapi()["paths"].items():
            pattern = re.compile("^" + re.sub(r"\\{[^}]+\\}", "[^/]+", re.escape(template)) + "$")
            table.append((pattern, [m.upper() for m in item if m in ("get", "put", "post", "delete", "patch")]))
        app.state.allow_table = table
    # A literal path (/v1/people/merge) wins over a template that also matches it
    # (/v1/people/{person_id}), as it does in routing.
    matches = [(pattern.pattern.count("[^/]+"), found) for pattern, found in table if pattern.match(path)]
    fewest = min((n for n, _ in matches), default=0)
    methods: list[str] = []
    for n, found in matches:
        if n == fewest:
            methods += [m for m in found if m not in methods]
    return methods


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    # Starlette types every handler as taking Exception; `install` registers this one for
    # HTTPException only, so anything else reaching it is a wiring bug: let it surface.
    if not isinstance(exc, StarletteHTTPException):
        raise exc
    if exc.status_code == 405:
        methods = allowed_methods(request.app, request.url.path)
        if methods:
            return error_response(
                405,
                f"{request.method} is not allowed here; use {', '.join(methods)}.",
                headers={"Allow": ", ".join(methods)},
            )
    detail = exc.detail
    details: list[dict[str, Any]]
    if isinstance(detail, dict):
        message = str(detail.get("message", HTTPStatus(exc.status_code).phrase))
        details = detail.get("details") or []
        code = detail.get("error")
    else:
        message = str(detail) if detail else HTTPStatus(exc.status_code).phrase
        details, code = [], None
    return error_response(exc.status_code, message, details, getattr(exc, "headers", None), code)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    if not isinstance(exc, RequestValidationError):  # registered for it alone, as above
        raise exc
    details: list[dict[str, Any]] = []
    for err in exc.errors():
        loc = [str(part) for part in err.get("loc", ())]
        details.append({"loc": loc, "message": err.get("msg", "invalid"), "type": err.get("type", "")})
    first = details[0] if details else None
    where = ".".join(first["loc"]) if first else "request"
    message = f"{where}: {first['message']}" if first else "The request is not valid."
    if len(details) > 1:
        message += f" (and {len(details) - 1} more problem{'s' if len(details) > 2 else ''})"
    return error_response(422, message, _plain(details))


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    route = getattr(request.scope.get("route"), "path", "unmatched")
    log.exception("unhandled error", extra={"route": route, "method": request.method})
    return error_response(500, "Something went wrong on our side; it has been logged.")


def install(app: FastAPI) -> None:
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(Exception, _unexpected)
