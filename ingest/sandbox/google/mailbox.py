"""The emulator's Gmail mailbox: messages, labels, sendAs aliases and the history log.

Like Gmail, every change (message added, deleted, labels changed) gets the next history
id of the mailbox, and `history.list` replays changes after a start id. History ids of
different mailboxes live in far-apart ranges, so an id from another account is as
unknown here as it is at Google (404). Old history is forgotten past `history_floor`.
Bodies are kept only to prove they are never served.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import format_datetime, formataddr

SYSTEM_LABELS = (
    "INBOX",
    "SENT",
    "DRAFT",
    "SPAM",
    "TRASH",
    "UNREAD",
    "STARRED",
    "IMPORTANT",
    "CATEGORY_PERSONAL",
    "CATEGORY_SOCIAL",
    "CATEGORY_PROMOTIONS",
    "CATEGORY_UPDATES",
    "CATEGORY_FORUMS",
    "CHAT",
)


@dataclass
class StoredMessage:
    id: str
    thread_id: str
    internal_ms: int
    headers: list[tuple[str, str]]
    labels: list[str]
    history_id: int
    size_estimate: int = 0
    body: str = ""  # never served under format=metadata

    def sort_key(self) -> tuple[int, str]:
        return (self.internal_ms, self.id)


@dataclass
class HistoryRecord:
    id: int
    kind: str  # "added" | "deleted" | "labelsAdded" | "labelsRemoved"
    message_id: str
    thread_id: str
    label_ids: tuple[str, ...]  # labels changed (labels*), or labels at the time (added)


def history_base(address: str) -> int:
    """Where this mailbox's history ids start: far from any other mailbox's."""
    digest = int.from_bytes(hashlib.sha256(address.encode()).digest()[:3], "big")
    return 1_000 + digest * 10_000_000


def _hex_id(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


@dataclass
class Mailbox:
    address: str
    name: str = ""
    aliases: tuple[str, ...] = ()
    user_labels: dict[str, str] = field(default_factory=dict)  # id -> name
    messages: dict[str, StoredMessage] = field(default_factory=dict)
    history: list[HistoryRecord] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self):
        self.history_id = history_base(self.address)
        self.history_floor = self.history_id  # ids older than this are forgotten (404)
        self._ordered: list[StoredMessage] | None = None
        self._threads: dict[str, set[str]] = {}

    # --- changes ------------------------------------------------------------------

    def _bump(self) -> int:
        self.history_id += 1
        return self.history_id

    def add(
        self,
        *,
        id: str | None = None,
        thread_id: str | None = None,
        headers: list[tuple[str, str]],
        labels=(),
        internal_ms: int | None = None,
        body: str = "",
        size_estimate: int = 0,
        record: bool = True,
    ) -> StoredMessage:
        with self.lock:
            now_ms = int(datetime.now(timezone.utc).timestamp() * 1000)
            mid = id or _hex_id(self.address, str(len(self.messages)), str(now_ms), repr(headers))
            hid = self._bump()
            message = StoredMessage(
                id=mid,
                thread_id=thread_id or mid,
                internal_ms=internal_ms if internal_ms is not None else now_ms,
                headers=list(headers),
                labels=list(labels),
                history_id=hid,
                size_estimate=size_estimate or 200 + len(body),
                body=body,
            )
            self.messages[mid] = message
            self._threads.setdefault(message.thread_id, set()).add(mid)
            self._ordered = None
            if record:
                self.history.append(HistoryRecord(hid, "added", mid, message.thread_id, tuple(message.labels)))
            return message

    def delete(self, message_id: str) -> bool:
        with self.lock:
            message = self.messages.pop(message_id, None)
            if message is None:
                return False
            self._threads.get(message.thread_id, set()).discard(message_id)
            self._ordered = None
            self.history.append(
                HistoryRecord(self._bump(), "deleted", message_id, message.thread_id, tuple(message.labels))
            )
            return True

    def modify(self, message_id: str, add=(), remove=()) -> None:
        with self.lock:
            message = self.messages[message_id]
            added = [label for label in add if label not in message.labels]
            removed = [label for label in remove if label in message.labels]
            for label in added:
                message.labels.append(label)
                message.history_id = self._bump()
                self.history.append(
                    HistoryRecord(message.history_id, "labelsAdded", message_id, message.thread_id, (label,))
                )
            for label in removed:
                message.labels.remove(label)
                message.history_id = self._bump()
                self.history.append(
                    HistoryRecord(message.history_id, "labelsRemoved", message_id, message.thread_id, (label,))
                )

    def forget_history(self) -> None:
        """Drop all history: every earlier start id is now stale (Gmail keeps about a week)."""
        with self.lock:
            self.history.clear()
            self.history_floor = self.history_id

    # --- reads --------------------------------------------------------------------

    def ordered(self) -> list[StoredMessage]:
        """Newest first, as messages.list returns them."""
        with self.lock:
            if self._ordered is None:
                self._ordered = sorted(self.messages.values(), key=StoredMessage.sort_key, reverse=True)
            return self._ordered

    def thread(self, thread_id: str) -> list[StoredMessage]:
        with self.lock:
            found = [self.messages[i] for i in self._threads.get(thread_id, ())]
        return sorted(found, key=StoredMessage.sort_key)

    def history_after(self, start: int) -> list[HistoryRecord] | None:
        """Records after `start`, or None when `start` is unknown to this mailbox."""
        with self.lock:
            if start < self.history_floor or start > self.history_id:
                return None
            return [r for r in self.history if r.id > start]

    def labels(self) -> list[dict]:
        out = [{"id": label, "name": label, "type": "system"} for label in SYSTEM_LABELS]
        out += [{"id": lid, "name": name, "type": "user"} for lid, name in self.user_labels.items()]
        return out


def headers_of_world_message(message) -> list[tuple[str, str]]:
    """The RFC 5322 header lines of a synthetic-world message (ingest.sandbox.world)."""
    headers: list[tuple[str, str]] = []
    if message.sender:
        headers.append(("From", formataddr(message.sender)))
    for name, group in (("To", message.to), ("Cc", message.cc), ("Bcc", message.bcc)):
        if group:
            headers.append((name, ", ".join(formataddr(a) for a in group)))
    if getattr(message, "subject", None):
        headers.append(("Subject", message.subject))
    if message.date is not None:
        headers.append(("Date", format_datetime(message.date)))
    if message.message_id:
        headers.append(("Message-ID", f"<{message.message_id}>"))
    if message.in_reply_to:
        headers.append(("In-Reply-To", f"<{message.in_reply_to}>"))
    if message.references:
        headers.append(("References", " ".join(f"<{r}>" for r in message.references)))
    headers.extend(message.extra_headers)
    return headers


def add_world_message(mailbox: Mailbox, message, record: bool = False) -> StoredMessage:
    labels = list(message.labels)
    if getattr(message, "is_draft", False) and "DRAFT" not in labels:
        labels.append("DRAFT")
    internal = int(message.date.timestamp() * 1000) if message.date is not None else None
    return mailbox.add(
        id=message.gmail_id,
        thread_id=message.thread_id,
        headers=headers_of_world_message(message),
        labels=labels,
        internal_ms=internal,
        body=message.body,
        size_estimate=getattr(message, "size_estimate", 0),
        record=record,
    )
