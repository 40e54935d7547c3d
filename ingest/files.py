"""What the connectors of a source held whole share: one resource, read from a cursor.

    FileConnector            one resource, own addresses, pages cut from a stream of items
    ├── MemoryConnector      a change log in memory (ingest.memory): the contract's reference
    ├── MboxConnector        an mbox file, byte-offset cursors (ingest.mbox)
    └── IcsConnector         an .ics file, item-count cursors (ingest.ics)

A subclass says how to read its source from a cursor (`_read`); the base checks the
resource, opens the file (an unreadable one is an `InputError` with a clear message, never a
traceback), cuts a stream of items into pages of `page_size`, and keeps the addresses the
source says are the user's. The API connectors (Google, Microsoft) have many resources and
their own paging, so they implement `Connector` directly.
"""

from __future__ import annotations

import os
from abc import abstractmethod
from pathlib import Path
from typing import BinaryIO
from collections.abc import Iterable, Iterator

from .connector import Connector
from .errors import ConfigError, InputError, KithError
from .records import Item, Page

__all__ = ["FileConnector"]


class FileConnector(Connector):
    """One resource read whole from `path` (None: a source held in memory)."""

    def __init__(self, path: str | os.PathLike[str] | None, *, resource: str, page_size: int, own: Iterable[str] = ()):
        self.path = Path(path) if path is not None else None
        self.resource = resource
        self.page_size = page_size
        self._own: list[str] = list(own)

    @property
    def name(self) -> str:
        """How messages name the source (a file's name, never its directory)."""
        return self.path.name if self.path is not None else self.provider

    def resources(self) -> list[str]:
        return [self.resource]

    def own_addresses(self) -> list[str]:
        return list(self._own)

    def pages(self, resource: str, cursor: str | None) -> Iterator[Page]:
        if resource != self.resource:
            raise self._unknown(resource)
        return self._read(cursor)

    @abstractmethod
    def _read(self, cursor: str | None) -> Iterator[Page]:
        """Pages of the one resource from `cursor` (None: a full sync), as `pages` promises."""

    def _unknown(self, resource: str) -> KithError:
        # A file names what the user gave; an in-memory source is a programming mistake.
        if self.path is None:
            return ConfigError(f"not a resource of this connector: {resource}")
        return InputError(f"{self.name} has no resource {resource!r}")

    def _cannot_read(self, exc: OSError) -> InputError:
        return InputError(f"cannot read {self.path}: {exc.strerror}")

    def _open(self) -> BinaryIO:
        assert self.path is not None, "only a file is opened"
        try:
            return open(self.path, "rb")
        except OSError as exc:
            raise self._cannot_read(exc) from None

    def _read_bytes(self) -> bytes:
        with self._open() as f:
            try:
                return f.read()
            except OSError as exc:
                raise self._cannot_read(exc) from None

    def _batches(self, stream: Iterable[Item]) -> Iterator[tuple[tuple[Item, ...], bool]]:
        """(up to page_size items, whether the stream ended with them); one look-ahead item
        says a page is the last, so an empty stream still gives one (empty, complete) page."""
        items = iter(stream)
        end = object()
        pending: object = next(items, end)
        while True:
            batch: list[Item] = []
            while pending is not end and len(batch) < self.page_size:
                batch.append(pending)  # type: ignore[arg-type]  # not `end`, so an Item
                pending = next(items, end)
            complete = pending is end
            yield tuple(batch), complete
            if complete:
                return
