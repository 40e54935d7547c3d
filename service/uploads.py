"""Uploaded mbox and .ics files: kept under the data directory, imported, followed in Redis.

    kind = kind_of(kind, filename)                      "mbox" or "ics", or UploadRefused
    upload = await receive(settings, user, kind, chunks) the file under KITH_HOME/uploads/<user>/,
                                                        mode 0600, at most MAX_UPLOAD_BYTES
    run(db, statuses, upload)                           the existing file import (imports.import_file)
                                                        through the sync engine, then a scoring
    statuses.get(user, upload id)                       where it stands, for the progress bar

The import is the same as `kith import`: bad messages are quarantined with their reason and
the rest goes on. The file is deleted once read, whatever the outcome: it holds whole
messages, and Kith keeps no bodies. A server stopped mid-import leaves the file behind;
erasing the user (`erase`, from service.erasure) removes it with the rest. An import that brings in nothing (not an mbox, an empty calendar, a
failure before the first page) leaves no account behind: one this upload created is
removed again, and the file is deleted. The status lives in Redis for a week, so any API
process can answer for it; it holds counts and a sentence, never a header or an address.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass
from pathlib import Path

from ingest.errors import InputError, KithError

from .config import Settings
from .db import Database

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 2 * 1024**3
STATUS_TTL_SECONDS = 7 * 24 * 3600
EXTENSIONS = {".mbox": "mbox", ".mbx": "mbox", ".ics": "ics", ".ical": "ics", ".ifb": "ics"}
KINDS = ("mbox", "ics")


class UploadRefused(InputError):
    """The upload cannot be taken (unknown kind, too large, empty): a 4xx, nothing kept."""


class TooLarge(UploadRefused):
    pass


@dataclass(frozen=True)
class Upload:
    id: str
    user_id: int
    kind: str
    name: str  # the file name the person chose, for their eyes only (never logged)
    path: Path
    size: int


def kind_of(kind: str | None, filename: str | None) -> str:
    if kind:
        if kind not in KINDS:
            raise UploadRefused(f"kind must be mbox or ics, not {kind[:20]!r}")
        return kind
    suffix = Path(filename or "").suffix.lower()
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    raise UploadRefused("Say which kind of file this is (mbox or ics): its name ends in neither .mbox nor .ics.")


def upload_dir(settings: Settings, user_id: int) -> Path:
    path = settings.home_dir() / "uploads" / str(int(user_id))
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


async def receive(
    settings: Settings, user_id: int, kind: str, name: str, chunks: AsyncIterator[bytes], limit: int | None = None
) -> Upload:
    """Write the body to a new file of the user's; TooLarge (file removed) past `limit`."""
    limit = limit or MAX_UPLOAD_BYTES
    upload_id = secrets.token_hex(12)
    path = upload_dir(settings, user_id) / f"{upload_id}.{kind}"
    size = 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in chunks:
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"The file is larger than {limit // 1024**2} MiB.")
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if size == 0:
        path.unlink(missing_ok=True)
        raise UploadRefused("The file is empty.")
    return Upload(upload_id, user_id, kind, (name or f"upload.{kind}")[:200], path, size)


class Statuses:
    """Upload statuses in Redis, one key per upload of a user (a user sees only their own)."""

    def __init__(self, redis):
        self.redis = redis

    @staticmethod
    def key(user_id: int, upload_id: str) -> str:
        return f"kith:upload:{int(user_id)}:{upload_id}"

    def put(self, upload: Upload, state: str, text: str, **counts) -> None:
        body = {"id": upload.id, "kind": upload.kind, "name": upload.name, "size": upload.size, "state": state}
        body |= {"text": text, **counts}
        try:
            self.redis.set(self.key(upload.user_id, upload.id), json.dumps(body), ex=STATUS_TTL_SECONDS)
        except Exception as exc:  # the import goes on; only its progress bar goes blind
            log.warning("could not keep an upload's status", extra={"error": type(exc).__name__})

    def get(self, user_id: int, upload_id: str) -> dict | None:
        if not upload_id.isalnum() or len(upload_id) > 64:
            return None
        raw = self.redis.get(self.key(user_id, upload_id))
        return json.loads(raw) if raw else None


def _account(conn, user_id: int, kind: str) -> int | None:
    row = conn.execute(
        "SELECT a.id FROM accounts a JOIN users u ON u.id = a.user_id"
        " WHERE a.user_id = %s AND a.provider = %s AND a.address = lower(u.email)",
        (user_id, kind),
    ).fetchone()
    return row[0] if row else None


def _forget_if_empty(db: Database, user_id: int, kind: str) -> None:
    """Remove the file account this upload created, if nothing came in through it."""
    with db.tx() as conn:
        account_id = _account(conn, user_id, kind)
        if account_id is not None:
            conn.execute(
                "DELETE FROM accounts a WHERE a.id = %s AND a.user_id = %s"
                " AND NOT EXISTS (SELECT 1 FROM interactions i WHERE i.account_id = a.id)",
                (account_id, user_id),
            )


def _reasons(db: Database, user_id: int, kind: str) -> list[str]:
    with db.tx() as conn:
        account_id = _account(conn, user_id, kind)
        if account_id is None:
            return []
        rows = conn.execute(
            "SELECT reason, count(*) FROM quarantine WHERE account_id = %s GROUP BY reason ORDER BY 2 DESC LIMIT 3",
            (account_id,),
        ).fetchall()
    return [f"{reason} ({n})" for reason, n in rows]


def run(db: Database, statuses: Statuses, upload: Upload) -> None:
    """Import the uploaded file, keep its status, score the user; never raises."""
    from .imports import import_file
    from .ties.scoring import score_user

    with db.tx() as conn:
        existed = _account(conn, upload.user_id, upload.kind) is not None
    seen = {"written": 0, "quarantined": 0}
    what = "messages" if upload.kind == "mbox" else "events"

    def progress(_resource, total, _page) -> None:
        seen.update(written=total.written, quarantined=total.quarantined)
        statuses.put(upload, "importing", f"Importing: {total.written} {what} so far.", **seen)

    statuses.put(upload, "importing", "Reading the file.", **seen)
    failure = None
    try:
        import_file(db, upload.user_id, upload.kind, upload.path, progress=progress)
    except KithError as exc:
        failure = str(exc).replace(str(upload.path), upload.name)
    except Exception as exc:  # a bug or an outage: say so plainly, keep the details in the log
        log.exception("upload import failed", extra={"user_id": upload.user_id, "error": type(exc).__name__})
        failure = "Kith could not finish reading the file."
    if failure is None and seen["written"] == 0:
        reasons = _reasons(db, upload.user_id, upload.kind)
        failure = f"No {what} could be read from {upload.name}" + (
            f": {'; '.join(reasons)}." if reasons else " (is it an empty file?)."
        )
    # The file holds whole messages, bodies too, and Kith keeps no bodies: it goes once read.
    upload.path.unlink(missing_ok=True)
    if failure is not None:
        if not existed:
            _forget_if_empty(db, upload.user_id, upload.kind)
        statuses.put(upload, "failed", f"Nothing imported from {upload.name}: {failure}", **seen)
        return
    statuses.put(upload, "scoring", f"Imported {seen['written']} {what}; scoring your ties.", **seen)
    try:
        score_user(db, upload.user_id)
    except Exception as exc:
        log.exception("scoring after an upload failed", extra={"error": type(exc).__name__})
    note = f"; {seen['quarantined']} set aside as unreadable" if seen["quarantined"] else ""
    statuses.put(upload, "done", f"Imported {seen['written']} {what} from {upload.name}{note}.", **seen)


def erase(settings: Settings, user_id: int) -> int:
    """Remove the user's uploaded files still on disk; how many there were."""
    folder = settings.home_dir() / "uploads" / str(int(user_id))
    if not folder.is_dir():
        return 0
    files = [f for f in folder.iterdir() if f.is_file()]
    for f in files:
        f.unlink(missing_ok=True)
    folder.rmdir()
    return len(files)


def describe(upload: Upload) -> dict:
    body = asdict(upload)
    body.pop("path")
    return body


__all__ = ["Upload", "UploadRefused", "TooLarge", "Statuses", "kind_of", "receive", "run", "erase", "MAX_UPLOAD_BYTES"]
