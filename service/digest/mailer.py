"""Mail out: SMTP (`KITH_SMTP_URL`) or, with no URL, `.eml` files in KITH_HOME/outbox.

Both mailers answer two questions for the outbox:

- `send(...)`: deliver. A refusal the server *replied* with, or a failure before the
  DATA command, raises `NotDelivered`: the message certainly did not go out. Anything
  else that breaks (connection lost while the message body or the final reply is in
  flight) propagates as is: the outcome is unknown.
- `delivered(user_id, message_id)`: is there *evidence* that this message went out? True / False,
  or None when the mailer cannot tell.

SMTP URL: `smtp://[user[:password]@]host[:port][?starttls=1&timeout=30&journal=ADDR&journal_maildir=PATH]`
(`smtps://` for implicit TLS). `journal` adds a Bcc recipient to every envelope, in the
same SMTP transaction as the real recipient (one final 250 covers both); `journal_maildir`
is where that journal mailbox can be read back (e.g. the relay's `always_bcc` delivered to
a Maildir). With both set, `delivered()` looks the Message-ID up in the journal; without,
it answers None and the outbox falls back to re-sending the identical message.

The file mailer writes each message to `outbox/<user id>/<Message-ID>.eml`, mode 0600 in a
0700 folder (a digest names a person's ties), atomically (temp file + link): the file exists
if and only if the message was delivered, so its `delivered()` is exact. One folder per user
lets `erase(user_id)` remove a user's mail without opening anyone else's.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import smtplib
import ssl
import threading
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from ingest.errors import KithError

log = logging.getLogger(__name__)


class NotDelivered(KithError):
    """The server refused, or the connection failed before DATA: certainly not sent."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


def _safe_name(message_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9._@+-]", "_", message_id)


class FileMailer:
    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def folder(self, user_id: int) -> Path:
        return self.directory / str(int(user_id))

    def path_for(self, user_id: int, message_id: str) -> Path:
        return self.folder(user_id) / f"{_safe_name(message_id)}.eml"

    def send(self, *, user_id: int, sender: str, recipient: str, message_id: str, message: bytes) -> None:
        final = self.path_for(user_id, message_id)
        final.parent.mkdir(mode=0o700, exist_ok=True)
        tmp = final.parent / f".tmp-{os.getpid()}-{threading.get_ident()}-{final.name}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(message)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.link(tmp, final)  # atomic, and refuses to overwrite: a second send is a no-op
        except FileExistsError:
            log.info("outbox file %s already there; not written twice", final.name)
        finally:
            tmp.unlink(missing_ok=True)

    def delivered(self, user_id: int, message_id: str) -> bool | None:
        legacy = self.directory / f"{_safe_name(message_id)}.eml"  # written before per-user folders
        return self.path_for(user_id, message_id).exists() or legacy.exists()

    def erase(self, user_id: int) -> int:
        """Remove every file held for this user; returns how many messages there were."""
        folder = self.folder(user_id)
        # Before per-user folders, files lay flat as digest.<user id>.<week>...eml.
        legacy = list(self.directory.glob(f"digest.{int(user_id)}.*.eml"))
        count = len(legacy) + (sum(1 for p in folder.glob("*.eml")) if folder.is_dir() else 0)
        for path in legacy:
            path.unlink(missing_ok=True)
        try:
            shutil.rmtree(folder)
        except FileNotFoundError:
            pass
        return count

    def close(self) -> None:
        pass


class SmtpMailer:
    """smtplib, one connection kept open per thread (a handshake per mail would cost more
    than the mail), re-opened when the server has dropped it."""

    def __init__(self, url: str):
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError(f"KITH_SMTP_URL must be smtp:// or smtps://, not {parts.scheme!r}")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        self.implicit_tls = parts.scheme == "smtps"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or (465 if self.implicit_tls else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.starttls = query.get("starttls", "0") in ("1", "true", "yes")
        self.timeout = float(query.get("timeout", "30"))
        self.journal = query.get("journal") or None
        self.journal_maildir = Path(query["journal_maildir"]) if query.get("journal_maildir") else None
        self._local = threading.local()

    def _open(self) -> smtplib.SMTP:
        conn: smtplib.SMTP
        if self.implicit_tls:
            conn = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=ssl.create_default_context())
        else:
            conn = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            if self.starttls:
                conn.starttls(context=ssl.create_default_context())
        conn.ehlo_or_helo_if_needed()
        if self.username:
            conn.login(self.username, self.password or "")
        return conn

    def _connection(self, fresh: bool = False) -> smtplib.SMTP:
        conn = getattr(self._local, "conn", None)
        if conn is not None and fresh:
            self._drop()
            conn = None
        if conn is None:
            conn = self._open()
            self._local.conn = conn
        return conn

    def _drop(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            try:
                conn.close()
            except OSError:
                pass

    def send(self, *, user_id: int, sender: str, recipient: str, message_id: str, message: bytes) -> None:
        recipients = [recipient] + ([self.journal] if self.journal else [])
        try:
            try:
                conn = self._connection()
                code, _reply = conn.mail(sender)
            except (smtplib.SMTPServerDisconnected, OSError):
                # An idle connection the server closed: nothing of this message was sent yet.
                conn = self._connection(fresh=True)
                code, _reply = conn.mail(sender)
            if code != 250:
                conn.rset()
                raise NotDelivered(f"MAIL FROM refused: {code}", permanent=code >= 500)
            for rcpt in recipients:
                code, _reply = conn.rcpt(rcpt)
                if code not in (250, 251):
                    conn.rset()
                    raise NotDelivered(f"RCPT TO refused: {code}", permanent=code >= 500)
        except NotDelivered:
            raise
        except (smtplib.SMTPException, OSError) as exc:
            self._drop()
            raise NotDelivered(f"SMTP failed before DATA: {type(exc).__name__}") from exc
        # From here on a failure is ambiguous: the server may have queued the message.
        try:
            code, _reply = conn.data(message)
        except smtplib.SMTPResponseException as exc:
            # The server answered DATA or the final dot with an error: it did not take it.
            self._drop()
            raise NotDelivered(f"DATA refused: {exc.smtp_code}", permanent=exc.smtp_code >= 500) from exc
        except BaseException:
            self._drop()
            raise
        if code != 250:
            raise NotDelivered(f"DATA refused: {code}", permanent=code >= 500)

    def delivered(self, user_id: int, message_id: str) -> bool | None:
        if not (self.journal and self.journal_maildir):
            return None
        wanted = f"<{message_id}>"
        parser = BytesHeaderParser(policy=default_policy)
        for sub in ("new", "cur"):
            folder = self.journal_maildir / sub
            if not folder.is_dir():
                continue
            for entry in os.scandir(folder):
                try:
                    with open(entry.path, "rb") as fh:
                        head = fh.read(16384).split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
                except OSError:
                    continue
                if str(parser.parsebytes(head).get("Message-ID", "")).strip() == wanted:
                    return True
        return False

    def close(self) -> None:
        self._drop()


_MAILERS: dict[str, FileMailer | SmtpMailer] = {}
_MAILERS_LOCK = threading.Lock()


def mailer_for(settings) -> FileMailer | SmtpMailer:
    """One mailer per destination and process, so SMTP connections are reused."""
    key = settings.smtp_url or f"file:{settings.outbox_dir()}"
    with _MAILERS_LOCK:
        if key not in _MAILERS:
            _MAILERS[key] = SmtpMailer(settings.smtp_url) if settings.smtp_url else FileMailer(settings.outbox_dir())
        return _MAILERS[key]
