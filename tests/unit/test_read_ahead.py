"""ReadAhead gives the inner connector's pages unchanged and in order, raises its errors
where they happened, and stops its reader when the consumer stops."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from ingest.connector import Connector
from ingest.errors import CursorExpired
from ingest.read_ahead import ReadAhead
from ingest.records import Page


class Counting(Connector):
    provider = "memory"

    def __init__(self, n: int, fail_at: int | None = None):
        self.n, self.fail_at, self.read = n, fail_at, 0

    def resources(self) -> list[str]:
        return ["r"]

    def pages(self, resource: str, cursor: str | None) -> Iterator[Page]:
        for i in range(int(cursor or 0), self.n):
            if i == self.fail_at:
                raise CursorExpired("gone")
            self.read += 1
            yield Page((), cursor=str(i + 1), complete=i + 1 == self.n)


def test_pages_come_unchanged_in_order_from_the_cursor():
    # Given a connector of 10 pages; when read ahead from cursor 3
    pages = list(ReadAhead(Counting(10), depth=2).pages("r", "3"))
    # Then the pages are the inner connector's, in order, the last one complete
    assert [p.cursor for p in pages] == [str(i) for i in range(4, 11)]
    assert [p.complete for p in pages] == [False] * 6 + [True]


def test_an_error_is_raised_after_the_pages_before_it():
    # Given a connector whose cursor expires at its fourth page
    got = []
    # When read ahead, Then the three pages before arrive and the error follows them
    with pytest.raises(CursorExpired):
        for page in ReadAhead(Counting(10, fail_at=3)).pages("r", None):
            got.append(page.cursor)
    assert got == ["1", "2", "3"]


def test_a_consumer_that_stops_stops_the_reader():
    # Given a long connector read two pages ahead
    inner = Counting(10_000)
    before = threading.active_count()
    pages = ReadAhead(inner, depth=2).pages("r", None)
    # When the consumer takes one page and stops (as the engine does when a commit fails)
    next(pages)
    time.sleep(0.2)
    pages.close()
    # Then the reader read no more than the depth allows, and its thread is gone
    assert inner.read <= 4
    assert threading.active_count() == before
