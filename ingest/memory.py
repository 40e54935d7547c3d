"""An in-memory connector: the reference every real connector's behaviour is held to.

The source is a change log (items and `Removed` markers, in order). A full sync pages
through the live state as of a mark in that log; an incremental round pages through the
log after the cursor's mark. Cursors ("epoch:mode:offset:mark") are valid until
`expire_cursors()` bumps the epoch, which is what a provider does when it drops sync state.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .errors import CursorExpired
from .files import FileConnector
from .records import Interaction, Item, Page, Quarantined, Removed


def _key(item: Item) -> str:
    return item.ref if isinstance(item, Quarantined) else item.provider_id


class MemoryConnector(FileConnector):
    provider = "memory"

    def __init__(
        self, items: Iterable[Item] = (), *, page_size: int = 2, resource: str = "memory", own: Iterable[str] = ()
    ):
        if page_size < 1:
            raise ValueError("page_size must be at least 1")
        super().__init__(None, resource=resource, page_size=page_size, own=own)
        self.log: list[Item] = list(items)
        self.epoch = 0

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

    # -- FileConnector ----------------------------------------------------------------------------
    def _read(self, cursor: str | None) -> Iterator[Page]:
        if cursor is None:
            mode, offset, mark = "full", 0, len(self.log)
        else:
            try:
                epoch_text, mode, offset_text, mark_text = cursor.split(":")
                epoch, offset, mark = int(epoch_text), int(offset_text), int(mark_text)
            except ValueError:
                raise CursorExpired("unreadable cursor") from None
            if epoch != self.epoch or mode not in ("full", "inc") or mark > len(self.log):
                raise CursorExpired("cursor from an earlier sync state")
        return self._pages(mode, offset, mark)

    def _pages(self, mode: str, offset: int, mark: int) -> Iterator[Page]:
        full = mode == "full"
        source = list(self.live(mark).values()) if full else self.log[mark:]
        end_mark = mark if full else len(self.log)
        own = tuple(self._own) if full else ()
        for chunk, complete in self._batches(source[offset:]):
            offset += len(chunk)
            cursor = f"{self.epoch}:inc:0:{end_mark}" if complete else f"{self.epoch}:{mode}:{offset}:{mark}"
            yield Page(
                chunk, cursor, complete=complete, full_sync=full, own_addresses=own, progress=(offset, len(source))
            )
