"""An in-memory connector: the reference every real connector's behaviour is held to.

The source is a change log (items and `Removed` markers, in order). A full sync pages
through the live state as of a mark in that log; an incremental round pages through the
log after the cursor's mark. Cursors ("epoch:mode:offset:mark") are valid until
`expire_cursors()` bumps the epoch, which is what a provider does when it drops sync state.
"""
from __future__ import annotations

from typing import Iterable, Iterator

from .connector import Connector
from .errors import ConfigError, CursorExpired
from .records import Interaction, Item, Page, Quarantined, Removed


def _key(item: Item) -> str:
    return item.ref if isinstance(item, Quarantined) else item.provider_id


class MemoryConnector(Connector):
    provider = "memory"

    def __init__(self, items: Iterable[Item] = (), *, page_size: int = 2, resource: str = "memory",
                 own: Iterable[str] = ()):
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        self.log: list[Item] = list(items)
        self.page_size = page_size
        self.resource = resource
        self.epoch = 0
        self._own = tuple(own)

    # -- changing the source ------------------------------------------------------------------
    def add(self, item: Item) -> None:
        self.log.append(item)

    def remove(self, provider_id: str) -> None:
        self.log.append(Removed(provider_id))

    def expire_cursors(self) -> None:
        self.epoch += 1

    def live(self, mark: int | None = None) -> dict[str, Item]:
        """The source's state after the first `mark` log entries (all of them by default)."""
        state: dict[str, Item] = {}
        for item in self.log[: len(self.log) if mark is None else mark]:
            if isinstance(item, Removed):
                state.pop(item.provider_id, None)
            else:
                state[_key(item)] = item
        return state

    def present(self) -> set[str]:
        return {k for k, v in self.live().items() if isinstance(v, Interaction)}

    # -- Connector --------------------------------------------------------------------------------
    def resources(self) -> list[str]:
        return [self.resource]

    def own_addresses(self) -> list[str]:
        return list(self._own)

    def pages(self, resource: str, cursor: str | None) -> Iterator[Page]:
        if resource != self.resource:
            raise ConfigError(f"not a resource of this connector: {resource}")
        if cursor is None:
            mode, offset, mark = "full", 0, len(self.log)
        else:
            try:
                epoch, mode, offset, mark = cursor.split(":")
                epoch, offset, mark = int(epoch), int(offset), int(mark)
            except ValueError:
                raise CursorExpired("unreadable cursor") from None
            if epoch != self.epoch or mode not in ("full", "inc") or mark > len(self.log):
                raise CursorExpired("cursor from an earlier sync state")
        return self._pages(mode, offset, mark)

    def _pages(self, mode: str, offset: int, mark: int) -> Iterator[Page]:
        full = mode == "full"
        source = list(self.live(mark).values()) if full else self.log[mark:]
        end_mark = mark if full else len(self.log)
        while True:
            chunk = tuple(source[offset: offset + self.page_size])
            offset += len(chunk)
            if offset < len(source):
                yield Page(chunk, f"{self.epoch}:{mode}:{offset}:{mark}", complete=False, full_sync=full,
                           own_addresses=self._own if full else (), progress=(offset, len(source)))
                continue
            yield Page(chunk, f"{self.epoch}:inc:0:{end_mark}", complete=True, full_sync=full,
                       own_addresses=self._own if full else (), progress=(offset, len(source)))
            return
