"""Gmail REST handlers of the emulator (gmail.v1): profile, messages, threads, history,
labels and sendAs, with the `gmail.metadata` scope's refusals (`q`, `format=full|raw`)."""

from __future__ import annotations

from typing import ClassVar

import base64
import bisect
import json

from .mailbox import Mailbox, StoredMessage

FULL_SCOPES = {
    "https://mail.google.com/",
    "https://www.googleapis.com/auth/gmail.readonly",
    "https://www.googleapis.com/auth/gmail.modify",
}
METADATA_SCOPE = "https://www.googleapis.com/auth/gmail.metadata"
READ_SCOPES = FULL_SCOPES | {METADATA_SCOPE}
SETTINGS_SCOPES = READ_SCOPES | {"https://www.googleapis.com/auth/gmail.settings.basic"}


class ApiError(Exception):
    STATUS: ClassVar[dict[int, str]] = {
        400: "INVALID_ARGUMENT",
        401: "UNAUTHENTICATED",
        403: "PERMISSION_DENIED",
        404: "NOT_FOUND",
        410: "FAILED_PRECONDITION",
        429: "RESOURCE_EXHAUSTED",
        500: "INTERNAL",
        503: "UNAVAILABLE",
    }

    def __init__(self, code: int, message: str, reason: str, domain: str = "global", headers: dict | None = None):
        super().__init__(message)
        self.code, self.message, self.reason, self.domain = code, message, reason, domain
        self.headers = headers or {}

    def body(self) -> dict:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "errors": [{"message": self.message, "domain": self.domain, "reason": self.reason}],
                "status": self.STATUS.get(self.code, "UNKNOWN"),
            }
        }


def not_found() -> ApiError:
    return ApiError(404, "Requested entity was not found.", "notFound")


def _one(query: dict[str, list[str]], name: str, default: str | None = None) -> str | None:
    values = query.get(name)
    return values[-1] if values else default


def _int(query, name, default: int, maximum: int) -> int:
    raw = _one(query, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ApiError(400, f"Invalid value for {name}: {raw}", "invalid") from None
    return max(1, min(value, maximum))


def _encode_token(value) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _decode_token(token: str):
    try:
        return json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, TypeError):
        raise ApiError(400, "Invalid pageToken", "invalid") from None


def _require(scopes, allowed) -> None:
    if not set(scopes) & set(allowed):
        raise ApiError(403, "Request had insufficient authentication scopes.", "insufficientPermissions")


def _metadata_only(scopes) -> bool:
    return not (set(scopes) & FULL_SCOPES)


def message_json(message: StoredMessage, fmt: str, wanted: list[str]) -> dict:
    body = {
        "id": message.id,
        "threadId": message.thread_id,
        "labelIds": list(message.labels),
        "historyId": str(message.history_id),
        "internalDate": str(message.internal_ms),
        "sizeEstimate": message.size_estimate,
    }
    if fmt == "minimal":
        return body
    lowered = {w.lower() for w in wanted}
    headers = [{"name": k, "value": v} for k, v in message.headers if not lowered or k.lower() in lowered]
    body["payload"] = {"partId": "", "mimeType": "text/plain", "filename": "", "headers": headers}
    return body


def _format(query, scopes) -> str:
    fmt = (_one(query, "format") or "full").lower()
    if fmt not in ("minimal", "full", "raw", "metadata"):
        raise ApiError(400, f"Invalid value at 'format' ({fmt})", "invalidArgument")
    if fmt in ("full", "raw") and _metadata_only(scopes):
        raise ApiError(403, f"Metadata scope doesn't allow format {fmt.upper()}", "forbidden")
    if fmt in ("full", "raw"):
        # Kith's emulator never serves bodies, whatever the scope.
        raise ApiError(403, f"The emulator does not serve format {fmt.upper()}", "forbidden")
    return fmt


def get_profile(mailbox: Mailbox, scopes, query) -> dict:
    _require(scopes, READ_SCOPES)
    threads = {m.thread_id for m in mailbox.messages.values()}
    return {
        "emailAddress": mailbox.address,
        "messagesTotal": len(mailbox.messages),
        "threadsTotal": len(threads),
        "historyId": str(mailbox.history_id),
    }


def list_messages(mailbox: Mailbox, scopes, query) -> dict:
    _require(scopes, READ_SCOPES)
    if _one(query, "q") and _metadata_only(scopes):
        raise ApiError(403, "Metadata scope does not support 'q' parameter", "forbidden")
    size = _int(query, "maxResults", 100, 500)
    ordered = mailbox.ordered()
    start = 0
    token = _one(query, "pageToken")
    if token:
        last = tuple(_decode_token(token))
        start = bisect.bisect_left(ordered, 1, key=lambda m: 0 if m.sort_key() >= last else 1)
    labels = set(query.get("labelIds", []))
    hide = set() if (_one(query, "includeSpamTrash") or "").lower() == "true" else {"SPAM", "TRASH"}
    picked: list[StoredMessage] = []
    i = start
    while i < len(ordered) and len(picked) < size:
        m = ordered[i]
        i += 1
        if hide & set(m.labels) or (labels and not labels <= set(m.labels)):
            continue
        picked.append(m)
    body: dict = {"resultSizeEstimate": len(ordered)}
    if picked:
        body["messages"] = [{"id": m.id, "threadId": m.thread_id} for m in picked]
    if i < len(ordered) and picked:
        body["nextPageToken"] = _encode_token(list(picked[-1].sort_key()))
    return body


def get_message(mailbox: Mailbox, scopes, query, message_id: str) -> dict:
    _require(scopes, READ_SCOPES)
    fmt = _format(query, scopes)
    message = mailbox.messages.get(message_id)
    if message is None:
        raise not_found()
    return message_json(message, fmt, query.get("metadataHeaders", []))


def get_thread(mailbox: Mailbox, scopes, query, thread_id: str) -> dict:
    _require(scopes, READ_SCOPES)
    fmt = _format(query, scopes)
    messages = mailbox.thread(thread_id)
    if not messages:
        raise not_found()
    wanted = query.get("metadataHeaders", [])
    return {
        "id": thread_id,
        "historyId": str(max(m.history_id for m in messages)),
        "messages": [message_json(m, fmt, wanted) for m in messages],
    }


def list_history(mailbox: Mailbox, scopes, query) -> dict:
    _require(scopes, READ_SCOPES)
    raw = _one(query, "startHistoryId")
    if raw is None:
        raise ApiError(400, "Missing required parameter: startHistoryId", "required")
    try:
        start = int(raw)
    except ValueError:
        raise ApiError(400, f"Invalid startHistoryId: {raw}", "invalid") from None
    records = mailbox.history_after(start)
    if records is None:
        raise not_found()
    kinds = {k for k in query.get("historyTypes", [])}
    names = {
        "messageAdded": "added",
        "messageDeleted": "deleted",
        "labelAdded": "labelsAdded",
        "labelRemoved": "labelsRemoved",
    }
    if kinds:
        wanted = {names.get(k, k) for k in kinds}
        records = [r for r in records if r.kind in wanted]
    size = _int(query, "maxResults", 100, 500)
    offset = int(_decode_token(_one(query, "pageToken"))) if _one(query, "pageToken") else 0
    chunk = records[offset : offset + size]
    body: dict = {"historyId": str(mailbox.history_id)}
    history = []
    for r in chunk:
        ref = {"id": r.message_id, "threadId": r.thread_id}
        entry: dict = {"id": str(r.id), "messages": [ref]}
        if r.kind == "added":
            entry["messagesAdded"] = [{"message": dict(ref, labelIds=list(r.label_ids))}]
        elif r.kind == "deleted":
            entry["messagesDeleted"] = [{"message": ref}]
        else:
            current = mailbox.messages.get(r.message_id)
            labels = list(current.labels) if current else []
            entry[r.kind] = [{"message": dict(ref, labelIds=labels), "labelIds": list(r.label_ids)}]
        history.append(entry)
    if history:
        body["history"] = history
    if offset + size < len(records):
        body["nextPageToken"] = _encode_token(offset + size)
    return body


def list_labels(mailbox: Mailbox, scopes, query) -> dict:
    _require(scopes, READ_SCOPES | {"https://www.googleapis.com/auth/gmail.labels"})
    return {"labels": mailbox.labels()}


def list_send_as(mailbox: Mailbox, scopes, query) -> dict:
    _require(scopes, SETTINGS_SCOPES)
    out = [
        {
            "sendAsEmail": mailbox.address,
            "displayName": mailbox.name,
            "replyToAddress": "",
            "signature": "",
            "isPrimary": True,
            "isDefault": True,
        }
    ]
    for alias in mailbox.aliases:
        out.append(
            {
                "sendAsEmail": alias,
                "displayName": mailbox.name,
                "replyToAddress": "",
                "signature": "",
                "isDefault": False,
                "treatAsAlias": True,
                "verificationStatus": "accepted",
            }
        )
    return {"sendAs": out}
