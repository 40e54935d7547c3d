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


def _mbox(path, messages: int) -> None:
    from tests.bench.bench_import_scale import generate

    generate(path, messages)


def test_a_reader_process_gives_the_connectors_pages_unchanged(tmp_path):
    from datetime import datetime, timezone

    from ingest.mbox import MboxConnector
    from ingest.read_ahead import ProcessReadAhead

    # Given an mbox of 3,000 messages read in pages of 500 (Takeout copies, Sent mail)
    path = tmp_path / "a.mbox"
    _mbox(path, 3000)
    now = datetime(2030, 1, 1, tzinfo=timezone.utc)
    inner = MboxConnector(path, page_size=500, now=now, own=["me@example.com"])
    # When read by a reader process, from the start and from a cursor
    direct = list(inner.pages("mbox", None))
    ahead = list(ProcessReadAhead(inner).pages("mbox", None))
    resumed = list(ProcessReadAhead(inner).pages("mbox", direct[2].cursor))
    # Then the pages are the connector's own: the same items, cursors and own addresses
    assert len(direct) > 6
    assert ahead == direct
    assert resumed == direct[3:]


def test_a_reader_process_raises_the_connectors_error_and_stops_with_its_consumer(tmp_path):
    import os

    from ingest.mbox import MboxConnector
    from ingest.read_ahead import ProcessReadAhead

    path = tmp_path / "b.mbox"
    _mbox(path, 3000)
    # Given a cursor that points at no message, When read ahead, Then the cursor has expired
    with pytest.raises(CursorExpired):
        list(ProcessReadAhead(MboxConnector(path, page_size=500)).pages("mbox", "17"))
    # Given a consumer that takes one page and stops
    pages = ProcessReadAhead(MboxConnector(path, page_size=100)).pages("mbox", None)
    next(pages)
    children = _children()
    assert children
    pages.close()
    # Then its reader process is gone
    assert not [pid for pid in children if os.path.exists(f"/proc/{pid}") and _alive(pid)]


def _children() -> list[int]:
    import os

    me = str(os.getpid())
    out = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[1] == me:
                    out.append(int(pid))
        except OSError:
            continue
    return out


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
