"""Routes for uploading an mbox or .ics file and following its import.

    POST /v1/uploads?kind=mbox&name=All%20mail.mbox   the raw file as the body (not a form)
         -> 202 {id, kind, name, size, status_url}; the import runs after the answer
    GET  /v1/uploads/{id}                              -> {state, text, written, quarantined}

The dashboard's upload form posts to its own route (dashboard/actions.py, session and CSRF
instead of a bearer token) and both share service.uploads. Bodies up to
uploads.MAX_UPLOAD_BYTES pass the app's body-size limit on these paths only (BODY_LIMITS).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query as Q, Request
from fastapi.responses import JSONResponse
from starlette.background import BackgroundTask

from .. import uploads
from .deps import Config, Db, User
from .errors import documented

router = APIRouter(prefix="/v1/uploads", tags=["accounts"])
BODY_LIMITS = {"/v1/uploads": uploads.MAX_UPLOAD_BYTES, "/uploads": uploads.MAX_UPLOAD_BYTES}
UploadId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$")]


async def accept(request: Request, settings, db, user: int, kind: str | None, name: str | None) -> JSONResponse:
    """Store the body and answer 202, importing after the answer; 4xx for what cannot be taken."""
    try:
        chosen = uploads.kind_of(kind, name)
        upload = await uploads.receive(settings, user, chosen, name or "", request.stream())
    except uploads.TooLarge as exc:
        raise HTTPException(413, str(exc)) from None
    except uploads.UploadRefused as exc:
        raise HTTPException(422, str(exc)) from None
    statuses = uploads.Statuses(request.app.state.redis)
    statuses.put(upload, "received", "Received; the import starts in a moment.", written=0, quarantined=0)
    body = uploads.describe(upload) | {"status_url": f"{request.url.path.rstrip('/')}/{upload.id}"}
    return JSONResponse(body, status_code=202, background=BackgroundTask(uploads.run, db, statuses, upload))


def status(request: Request, user: int, upload_id: str) -> dict:
    try:
        found = uploads.Statuses(request.app.state.redis).get(user, upload_id)
    except Exception:
        raise HTTPException(503, "Upload progress is not available right now (Redis does not answer).") from None
    if found is None:
        raise HTTPException(404, f"No upload {upload_id[:64]}.")
    return found


@router.post(
    "",
    status_code=202,
    responses=documented(404, 413, 422),
    summary="Upload an mbox or .ics file to import",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
    description="Send the file itself as the request body (`Content-Type: application/octet-stream`). "
    "`kind` is `mbox` or `ics`; without it the kind comes from `name`'s extension. The import runs "
    "after the answer, as `kith import` does (unreadable items are quarantined); follow it at "
    "`status_url`. An import that brings in nothing leaves no account behind.",
)
async def upload(
    request: Request,
    user: User,
    settings: Config,
    db: Db,
    kind: Annotated[str | None, Q(pattern="^(mbox|ics)$")] = None,
    name: Annotated[str | None, Q(max_length=200)] = None,
) -> JSONResponse:
    return await accept(request, settings, db, user, kind, name)


@router.get(
    "/{upload_id}",
    responses=documented(404, 503),
    summary="Where an upload's import stands",
    description="`state` is received, importing, scoring, done or failed; `text` says it in a sentence.",
)
def upload_status(upload_id: UploadId, request: Request, user: User) -> dict:
    return status(request, user, upload_id)
