"""Google's batch format: a multipart/mixed body of `application/http` parts, each a whole
HTTP request; the answer is a multipart/mixed body of HTTP responses in the same order,
each `Content-ID: <response-ID>` for the request part's `<ID>`."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from http import HTTPStatus

MAX_PARTS = 100


@dataclass
class Part:
    content_id: str
    method: str
    target: str  # path?query
    headers: dict[str, str]  # lower-case names
    body: bytes


class BatchError(ValueError):
    pass


def _boundary(content_type: str) -> str:
    for param in content_type.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.lower() == "boundary":
            return value.strip().strip('"')
    raise BatchError("batch requests are multipart/mixed with a boundary")


def _head_and_rest(text: str) -> tuple[list[str], str]:
    head, _, rest = text.replace("\r\n", "\n").partition("\n\n")
    return [line for line in head.split("\n") if line.strip()], rest


def parse_batch(content_type: str, body: bytes) -> list[Part]:
    """Split the multipart body by hand (RFC 2046 5.1.1): the email package's header
    registry costs more than everything else the emulator does."""
    if "multipart/mixed" not in content_type.lower():
        raise BatchError("batch requests are multipart/mixed with a boundary")
    delimiter = "--" + _boundary(content_type)
    text = body.decode("utf-8", "replace")
    chunks = text.split(delimiter)
    parts = []
    for chunk in chunks[1:]:
        if chunk.startswith("--"):
            break  # the close delimiter
        part_lines, payload = _head_and_rest(chunk.lstrip("\r\n"))
        part_headers = {}
        for line in part_lines:
            name, _, value = line.partition(":")
            part_headers[name.strip().lower()] = value.strip()
        lines, rest = _head_and_rest(payload)
        if not lines or len(lines[0].split()) < 2:
            raise BatchError("a batch part does not hold an HTTP request")
        request_line = lines[0].split()
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        parts.append(
            Part(
                content_id=part_headers.get("content-id", ""),
                method=request_line[0].upper(),
                target=request_line[1],
                headers=headers,
                body=rest.rstrip("\r\n").encode(),
            )
        )
    if not parts:
        raise BatchError("an empty batch")
    if len(parts) > MAX_PARTS:
        raise BatchError(f"A batch may hold at most {MAX_PARTS} calls; this one has {len(parts)}")
    return parts


def render_batch(responses: list[tuple[Part, int, dict, bytes]]) -> tuple[str, bytes]:
    boundary = "batch_" + secrets.token_hex(12)
    chunks = []
    for part, status, headers, body in responses:
        cid = part.content_id
        if cid.startswith("<") and cid.endswith(">"):
            cid = f"<response-{cid[1:-1]}>"
        reason = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else ""
        inner = [f"HTTP/1.1 {status} {reason}"]
        inner += [f"{k}: {v}" for k, v in headers.items()]
        inner.append(f"Content-Length: {len(body)}")
        chunks.append(
            f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: {cid}\r\n\r\n"
            + "\r\n".join(inner)
            + "\r\n\r\n"
            + body.decode()
            + "\r\n"
        )
    payload = "".join(chunks) + f"--{boundary}--\r\n"
    return f"multipart/mixed; boundary={boundary}", payload.encode()
