"""One emulated Exchange Online mailbox: folders, messages, calendar, and their delta state.

Every change (add, update, move, delete) takes the next number of a mailbox-wide change
sequence. A delta round over a collection (a mail folder, or the calendar over a window)
is the set of entries whose last change falls in (base, upto]; pages walk it in (seq, id)
order, so an item changed while a client pages simply leaves this round and turns up in
the next. Deletions and moves leave tombstones, served as `@removed`. Tokens are opaque
base64 JSON carrying the collection, the bounds, and the mailbox's epoch: bumping the
epoch (`expire_delta_state`) makes every outstanding token stale, as Exchange does when
it drops sync state.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime

from .moments import stored_moment

WELL_KNOWN = {
    "inbox": "Inbox",
    "sentitems": "Sent Items",
    "drafts": "Drafts",
    "archive": "Archive",
    "deleteditems": "Deleted Items",
}


class StaleToken(Exception):
    """The token's sync state is gone (or belongs to another collection)."""


def graph_id(kind: str, key: str) -> str:
    """An id shaped like Graph's (base64url of a stable digest), distinct per kind."""
    digest = hashlib.sha256(f"{kind}:{key}".encode()).digest()
    return "AAMk" + base64.urlsafe_b64encode(digest).decode().rstrip("=")


def encode_token(state: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(state, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_token(token: str) -> dict:
    try:
        padded = token + "=" * (-len(token) % 4)
        state = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, TypeError):
        raise StaleToken("unreadable delta token") from None
    if not isinstance(state, dict):
        raise StaleToken("unreadable delta token")
    return state


@dataclass
class Entry:
    seq: int
    collection: str
    body: dict


@dataclass
class Mailbox:
    upn: str
    display_name: str
    user_id: str
    aliases: tuple[str, ...] = ()
    folders: dict[str, dict] = field(default_factory=dict)  # folder id -> mailFolder JSON
    entries: dict[str, Entry] = field(default_factory=dict)  # item id -> latest state
    tombstones: list[tuple[int, str, str]] = field(default_factory=list)  # (seq, id, collection)
    seq: int = 0
    epoch: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock)

    def __post_init__(self):
        for name, display in WELL_KNOWN.items():
            self.add_folder(name, display)

    # -- folders -------------------------------------------------------------------------
    def add_folder(self, well_known: str, display: str) -> str:
        folder_id = graph_id("folder", f"{self.upn}/{well_known}")
        self.folders.setdefault(
            folder_id,
            {
                "id": folder_id,
                "displayName": display,
                "parentFolderId": graph_id("folder", f"{self.upn}/root"),
                "childFolderCount": 0,
                "unreadItemCount": 0,
                "totalItemCount": 0,
                "isHidden": False,
                "_wellKnown": well_known,
            },
        )
        return folder_id

    def folder_id(self, name_or_id: str) -> str | None:
        if name_or_id in self.folders:
            return name_or_id
        for folder_id, folder in self.folders.items():
            if folder["_wellKnown"] == name_or_id.lower():
                return folder_id
        return None

    def folder_json(self, folder_id: str) -> dict:
        folder = {k: v for k, v in self.folders[folder_id].items() if not k.startswith("_")}
        folder["totalItemCount"] = sum(1 for e in self.entries.values() if e.collection == f"mail:{folder_id}")
        return folder

    # -- changes ---------------------------------------------------------------------------
    def _bump(self) -> int:
        self.seq += 1
        return self.seq

    def put(self, item_id: str, collection: str, body: dict) -> None:
        """Add or update an item; a collection change is a move (tombstone in the old one)."""
        with self.lock:
            seq = self._bump()
            old = self.entries.get(item_id)
            if old is not None and old.collection != collection:
                self.tombstones.append((seq, item_id, old.collection))
            self.entries[item_id] = Entry(seq, collection, body)

    def remove(self, item_id: str) -> bool:
        with self.lock:
            old = self.entries.pop(item_id, None)
            if old is None:
                return False
            self.tombstones.append((self._bump(), item_id, old.collection))
            return True

    def expire_delta_state(self) -> None:
        with self.lock:
            self.epoch += 1

    # -- delta -------------------------------------------------------------------------------
    def start_round(self, collection: str, base: int, extra: dict | None = None) -> dict:
        with self.lock:
            return {"c": collection, "b": base, "u": self.seq, "k": None, "e": self.epoch, **(extra or {})}

    def next_round(self, delta_state: dict, collection: str) -> dict:
        self.check(delta_state, collection)
        extra = {k: v for k, v in delta_state.items() if k not in ("c", "b", "u", "k", "e")}
        return self.start_round(collection, delta_state["u"], extra)

    def check(self, state: dict, collection: str) -> None:
        if state.get("e") != self.epoch:
            raise StaleToken("sync state not found")
        if state.get("c") != collection:
            raise StaleToken("the sync state belongs to another folder")

    def page(self, state: dict, size: int, keep=lambda body: True) -> tuple[list[dict], dict | None]:
        """One page of the round `state`: the entries, and the state after them (None: done)."""
        collection, base, upto = state["c"], state["b"], state["u"]
        after = tuple(state["k"]) if state.get("k") else None
        with self.lock:
            self.check(state, collection)
            changes: list[tuple[int, str, dict | None]] = [
                (e.seq, item_id, e.body)
                for item_id, e in self.entries.items()
                if e.collection == collection and base < e.seq <= upto and keep(e.body)
            ]
            if base > 0:
                changes += [
                    (seq, item_id, None)
                    for seq, item_id, c in self.tombstones
                    if c == collection and base < seq <= upto
                ]
            key = _newest_first if state.get("o") == "r" and base == 0 else _in_change_order
            changes = sorted((c for c in changes if after is None or key(c) > after), key=key)
            chunk = changes[:size]
            out = [
                copy.deepcopy(body) if body is not None else {"id": item_id, "@removed": {"reason": "deleted"}}
                for _, item_id, body in chunk
            ]
        if len(changes) > size:
            return out, {**state, "k": list(key(chunk[-1]))}
        return out, None


def _in_change_order(change: tuple[int, str, dict | None]) -> tuple:
    return (change[0], change[1])


def _newest_first(change: tuple[int, str, dict | None]) -> tuple:
    """receivedDateTime descending, then id: the order of `$orderby=receivedDateTime desc`."""
    stamp = (change[2] or {}).get("receivedDateTime") or ""
    try:
        moment = datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp() if stamp else 0.0
    except (ValueError, OverflowError, OSError):
        moment = 0.0  # a stamp only a fuzzer would seed: served last, like Graph's missing dates
    return (-moment, change[1])


def overlaps(event: dict, start: datetime, end: datetime) -> bool:
    begins, ends = stored_moment(event.get("start")), stored_moment(event.get("end"))
    return begins is not None and ends is not None and begins < end and ends > start
