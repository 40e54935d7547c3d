"""JSON answers and Graph's error shape, shared by the emulator's identity and Graph routes."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

from werkzeug.wrappers import Request, Response

MESSAGE_PROPERTIES = {
    "id",
    "categories",
    "changeKey",
    "createdDateTime",
    "lastModifiedDateTime",
    "bccRecipients",
    "body",
    "bodyPreview",
    "ccRecipients",
    "conversationId",
    "conversationIndex",
    "flag",
    "from",
    "hasAttachments",
    "importance",
    "inferenceClassification",
    "internetMessageHeaders",
    "internetMessageId",
    "isDeliveryReceiptRequested",
    "isDraft",
    "isRead",
    "isReadReceiptRequested",
    "parentFolderId",
    "receivedDateTime",
    "replyTo",
    "sender",
    "sentDateTime",
    "subject",
    "toRecipients",
    "uniqueBody",
    "webLink",
}
CONTENT = {"body", "bodyPreview", "uniqueBody", "internetMessageHeaders"}  # not under Mail.ReadBasic
DEFAULT_PAGE = 10
PREFER = re.compile(r'([A-Za-z.]+)\s*=\s*("[^"]*"|[^,\s]+)')


def _json(payload, status: int = 200, headers: dict | None = None) -> Response:
    return Response(json.dumps(payload), status=status, headers=headers or {}, mimetype="application/json")


def graph_error(status: int, code: str, message: str, headers: dict | None = None) -> Response:
    return _json(
        {
            "error": {
                "code": code,
                "message": message,
                "innerError": {
                    "date": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"),
                    "request-id": "00000000-0000-0000-0000-000000000000",
                },
            }
        },
        status,
        headers,
    )


def prefer(request: Request) -> dict[str, str]:
    found: dict[str, str] = {}
    for value in request.headers.getlist("Prefer"):
        for key, raw in PREFER.findall(value):
            found[key.lower()] = raw.strip('"')
    return found
