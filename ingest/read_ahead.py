"""ReadAhead: a connector whose next page is read while the store writes the last one.

    ReadAhead(MboxConnector(path)).pages(resource, cursor) -> the same pages, in order

Reading a file is Python work (split, parse, identity); storing a page is mostly a wait on
PostgreSQL. A thread reads up to `depth` pages ahead, so the two overlap and an import
takes about the longer of them rather than their sum. Nothing else changes: pages arrive in
the connector's order with its cursors, the engine commits each before it takes the next,
so a crash still repeats at most the pages not yet committed (read-ahead pages are simply
read again). An error of the connector (CursorExpired, InputError ...) is raised where the
page it stopped would have been; a consumer that stops early stops the reader.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator

from .connector import Connector
from .records import Page

__all__ = ["ReadAhead"]

_END = object()


class ReadAhead(Connector):
    """Wraps a connector; its pages are read by a thread, `depth` pages ahead."""

    def __init__(self, inner: Connector, depth: int = 2):
        self.inner = inner
        self.depth = max(1, depth)
        self.provider = inner.provider

    def resources(self) -> list[str]:
        return self.inner.resources()

    def own_addresses(self) -> list[str]:
        return self.inner.own_addresses()

    def close(self) -> None:
        self.inner.close()

    def pages(self, resource: str, cursor: str | None) -> Iterator[Page]:
        ready: queue.Queue[object] = queue.Queue(maxsize=self.depth)
        stop = threading.Event()

        def put(value: object) -> bool:
            while not stop.is_set():
                try:
                    ready.put(value, timeout=0.1)
                    return True
                except queue.Full:
                    continue
            return False

        def read() -> None:
            try:
                for page in self.inner.pages(resource, cursor):
                    if not put(page):
                        return
                put(_END)
            except BaseException as exc:  # handed to the consumer, raised there
                put(exc)

        reader = threading.Thread(target=read, name=f"read-ahead {resource[:40]}", daemon=True)
        reader.start()
        try:
            while True:
                value = ready.get()
                if value is _END:
                    return
                if isinstance(value, BaseException):
                    raise value
                assert isinstance(value, Page)
                yield value
        finally:
            stop.set()
            reader.join()
