"""Exactly one digest per user and week: the outbox state machine.

A row per (user_id, week) in table `outbox`:

    (none) --render--> rendered --commit--> sending --SMTP 250--> sent
       \\--nothing to say / disabled--> skipped

Rules, and why each crash is safe:

1. The message is rendered once, with its Message-ID, and its bytes are stored in the row
   (`rendered`). Every later attempt sends those very bytes: a re-send is the same mail,
   not a second one that merely looks alike.
2. `sending` is committed *before* the SMTP transaction starts, `sent` after the server's
   final 250. A worker killed while the row says `rendered` has provably not started SMTP:
   the next attempt sends (no skip, no duplicate).
3. A failure the server *answered* (4xx/5xx) or a failure before DATA is certain
   non-delivery: the row goes back to `rendered`.
4. A row found in `sending` means an attempt died somewhere between step 2 and the `sent`
   commit, possibly after the server accepted. Only evidence decides: the mailer's
   `delivered(user_id, message_id)`. The file mailer is exact (the file is the delivery). SMTP is
   exact when a journal is configured (a Bcc recipient in the same SMTP transaction, read
   back from its Maildir): found -> mark `sent`, not found -> the server never took the
   transaction (it delivers all recipients of one transaction or none) -> send.
5. Attempts for one (user, week) are serialised by a session-level Postgres advisory
   lock. A killed worker's session ends with it, so the lock is free exactly when no
   attempt is alive: a `sending` row seen under the lock is an abandoned one, never one a
   live worker is in the middle of.

Durability: `sending` and `sent` are ordinary synchronous commits. `rendered` is written
with synchronous_commit off (a database crash that loses it only means rendering again, with
the same Message-ID), and the synchronous `sending` commit before any SMTP flushes it anyway.

The honest edge. Plain SMTP cannot tell the client whether a message was accepted when
the connection dies after the final dot and before the 250 arrives, nor can any client
record "accepted" in the same instant the server accepts (two generals). Without a
journal, `delivered()` answers None and the outbox re-sends the identical message with
the same Message-ID: at-least-once in that window (the few milliseconds between writing
the final dot and the `sent` commit), never at-most-once; receivers that collapse copies
with one Message-ID (Gmail, for one, is widely observed to) then show it once.
With a journal, the edge moves to the journal itself: a relay that accepts the
transaction but files the journal copy later than the recovery looks (or loses it)
turns into the same identical re-send. The journal check runs only on recovery, which
with dramatiq's retry back-off or the scheduler's re-enqueue comes seconds to minutes
after the crash. The lock argument assumes the database notices a dead session (it does
at once for a killed process; TCP keepalive bounds it for a vanished host); a worker that
is alive but cut off from the database while mid-SMTP keeps sending while a second one may
take over: that is the same identical re-send, not a different mail.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.policy import default as default_policy
from datetime import date, datetime
from collections.abc import Callable

import psycopg
from psycopg import errors as pg_errors

from ingest.errors import KithError

from ..db import scalar
from .faults import point as fault_point
from .mailer import NotDelivered
from .render import Rendered

log = logging.getLogger(__name__)

LOCK_WAIT = "30s"


class OutboxBusy(KithError):
    """Another attempt for this user and week holds the lock (it is alive and working)."""


@dataclass(frozen=True, slots=True)
class Row:
    state: str
    message_id: str
    subject: str
    message: bytes | None
    sent_at: datetime | None


def lock_key(user_id: int, week: date) -> int:
    digest = hashlib.blake2b(f"kith-outbox:{user_id}:{week.isoformat()}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def load(conn: psycopg.Connection, user_id: int, week: date) -> Row | None:
    row = conn.execute(
        "SELECT state, message_id, subject, message, sent_at FROM outbox WHERE user_id = %s AND week = %s",
        (user_id, week),
    ).fetchone()
    return Row(row[0], row[1], row[2], bytes(row[3]) if row[3] is not None else None, row[4]) if row else None


def _set_state(conn: psycopg.Connection, user_id: int, week: date, state: str) -> None:
    # One statement in autocommit: committed when execute() returns.
    # sent_at: when the attempt started while 'sending', when it was accepted once 'sent'.
    conn.execute(
        "UPDATE outbox SET state = %s, sent_at = CASE WHEN %s IN ('sending', 'sent') "
        "THEN now() ELSE sent_at END WHERE user_id = %s AND week = %s",
        (state, state, user_id, week),
    )


def _save(conn: psycopg.Connection, user_id: int, week: date, state: str, rendered: Rendered | None) -> None:
    # Not flushed to disk on its own (synchronous_commit off): losing it to a database crash
    # only means rendering again, with the same Message-ID; and the 'sending' commit that
    # must precede any SMTP flushes the WAL up to and including this row anyway.
    with conn.pipeline(), conn.transaction():
        conn.execute("SET LOCAL synchronous_commit = off")
        conn.execute(
            "INSERT INTO outbox (user_id, week, state, message_id, subject, message) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (user_id, week) DO UPDATE SET state = EXCLUDED.state, "
            "message_id = EXCLUDED.message_id, subject = EXCLUDED.subject, message = EXCLUDED.message, "
            "sent_at = NULL, created_at = now()",
            (
                user_id,
                week,
                state,
                rendered.message_id if rendered else "",
                rendered.subject if rendered else "",
                rendered.message if rendered else None,
            ),
        )


class _Lock:
    """Session-level advisory lock: held across the commits of one attempt, and released
    by the server itself if the session dies with its worker."""

    def __init__(self, conn: psycopg.Connection, key: int):
        self.conn, self.key = conn, key

    def __enter__(self):
        if scalar(self.conn.execute("SELECT pg_try_advisory_lock(%s)", (self.key,))):
            return self
        try:  # contended: wait a while for the other attempt to finish
            with self.conn.transaction():
                self.conn.execute(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'")
                self.conn.execute("SELECT pg_advisory_lock(%s)", (self.key,))
        except pg_errors.LockNotAvailable:
            raise OutboxBusy(f"outbox lock {self.key} held by a live attempt") from None
        return self

    def __exit__(self, *exc):
        if self.conn.closed or self.conn.broken:
            return False
        if self.conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            self.conn.rollback()
        self.conn.execute("SELECT pg_advisory_unlock(%s)", (self.key,))
        return False


def deliver(
    conn: psycopg.Connection,
    mailer,
    user_id: int,
    week: date,
    *,
    render: Callable[[psycopg.Connection, int], Rendered | None],
    force: bool = False,
    retry_skipped: bool = False,
) -> str:
    """Send this user's digest for `week` at most once and at least once; returns
    "sent", "already_sent" or "skipped".

    `render(conn, resend)` builds the message (or None: nothing to send, record 'skipped');
    it runs at most once per (user, week) unless `force`. `force` is the explicit manual
    re-send: a fresh message with a new Message-ID even if this week's went out.
    `retry_skipped` renders again a week recorded as skipped (an explicit send), never
    one that was sent.
    """
    # Every state change must really commit before the next step (a savepoint inside an
    # implicit transaction would not): autocommit, with explicit transactions where needed.
    saved = conn.autocommit
    if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
        conn.rollback()
    conn.autocommit = True
    try:
        return _deliver(conn, mailer, user_id, week, render=render, force=force, retry_skipped=retry_skipped)
    finally:
        if not conn.closed and not conn.broken:
            conn.autocommit = saved


def _deliver(conn, mailer, user_id: int, week: date, *, render, force: bool, retry_skipped: bool = False) -> str:
    with _Lock(conn, lock_key(user_id, week)):
        row = load(conn, user_id, week)
        again = row is not None and row.state == "skipped" and retry_skipped
        if row is not None and not force:
            if row.state == "sent":
                return "already_sent"
            if row.state == "skipped" and not again:
                return "skipped"
        if row is None or force or again:
            resend = int(time.time()) if (force and row is not None and row.state == "sent") else 0
            rendered = render(conn, resend)
            _save(conn, user_id, week, "skipped" if rendered is None else "rendered", rendered)
            if rendered is None:
                return "skipped"
            row = Row("rendered", rendered.message_id, rendered.subject, rendered.message, None)
            sender, recipient = rendered.sender, rendered.recipient
            fault_point("after_render")
        elif row.message is None:
            # Only 'skipped' rows go without a message, and those returned above.
            raise LookupError(f"outbox row of user {user_id}, week {week} is {row.state!r} without its message")
        else:
            sender, recipient = envelope(row.message)
        if row.state == "sending":
            evidence = mailer.delivered(user_id, row.message_id)
            if evidence is True:
                log.info("outbox %s/%s: found delivered after a crash; recorded as sent", user_id, week)
                _set_state(conn, user_id, week, "sent")
                return "already_sent"
            if evidence is None:
                log.warning(
                    "outbox %s/%s: a previous attempt died mid-send and the mailer cannot tell "
                    "whether it went out; re-sending the identical message %s",
                    user_id,
                    week,
                    row.message_id,
                )
        _set_state(conn, user_id, week, "sending")
        fault_point("before_send")
        try:
            mailer.send(
                user_id=user_id, sender=sender, recipient=recipient, message_id=row.message_id, message=row.message
            )
        except NotDelivered:
            _set_state(conn, user_id, week, "rendered")
            raise
        fault_point("after_send")
        _set_state(conn, user_id, week, "sent")
        return "sent"


def envelope(message: bytes) -> tuple[str, str]:
    """MAIL FROM and RCPT TO, read back from the stored message (From and To headers)."""
    head = message.split(b"\r\n\r\n", 1)[0]
    headers = BytesHeaderParser(policy=default_policy).parsebytes(head)
    return _first_address(headers["From"]), _first_address(headers["To"])


def _first_address(header) -> str:
    # The registry's parse, not parseaddr on the decoded text: a display name may hold
    # quotes, commas or an "@" of its own.
    addresses = getattr(header, "addresses", ()) if header is not None else ()
    return addresses[0].addr_spec if addresses else ""
