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

import os
import pickle
import queue
import subprocess
import sys
import threading
from pathlib import Path
from collections.abc import Iterator

from .connector import Connector
from .records import Page

__all__ = ["ProcessReadAhead", "ReadAhead"]

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


class ProcessReadAhead(Connector):
    """Wraps a connector; its pages are read in a separate process, about a page ahead.

    For a connector whose reading is mostly Python work (an mbox: split, parse, addresses):
    in a thread it would hold the interpreter lock the storing thread needs between its
    round trips to PostgreSQL, so the two would take turns; a process of its own reads on
    the other core. The connector must pickle (an MboxConnector does: a path and settings).
    The reader is a fresh interpreter (neither forked from this process, which has database
    threads, nor one that imports its main module again); pages come back pickled through
    its stdout, in order, with their cursors. The pipe holds about one page, so memory stays
    bounded. The reader stops when the consumer does: if the consumer dies (SIGKILL), the
    reader's next write finds the pipe closed and it exits.
    """

    def __init__(self, inner: Connector):
        self.inner = inner
        self.provider = inner.provider
        self._learned: tuple[str, ...] = ()

    def resources(self) -> list[str]:
        return self.inner.resources()

    def own_addresses(self) -> list[str]:
        # The reader process learns them; each page carries what it knew.
        return sorted(set(self.inner.own_addresses()) | set(self._learned))

    def close(self) -> None:
        self.inner.close()

    def pages(self, resource: str, cursor: str | None) -> Iterator[Page]:
        root = str(Path(__file__).resolve().parents[1])
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        reader = subprocess.Popen(
            [sys.executable, "-c", "from ingest.read_ahead import _reader_main; _reader_main()"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
        )
        assert reader.stdin is not None and reader.stdout is not None
        try:
            pickle.dump((self.inner, resource, cursor), reader.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            reader.stdin.close()
            while True:
                try:
                    value = pickle.load(reader.stdout)
                except EOFError:
                    raise RuntimeError(f"the reader of {resource[:80]} stopped (exit code {reader.wait()})") from None
                if isinstance(value, BaseException):
                    raise value
                if not isinstance(value, Page):
                    return  # the end marker
                if value.own_addresses:
                    self._learned = value.own_addresses
                yield value
        finally:
            reader.stdout.close()
            try:
                reader.wait(timeout=1)
            except subprocess.TimeoutExpired:  # stopped early: nobody reads what it parses
                reader.kill()
                reader.wait()


def _reader_main() -> None:
    """The reader process: every page to stdout, then an end marker (None), or the error."""
    # The pages go to a private copy of stdout; anything else printed here goes to stderr,
    # so no stray line can corrupt the stream the consumer unpickles.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    inner, resource, cursor = pickle.load(sys.stdin.buffer)
    try:
        for page in inner.pages(resource, cursor):
            pickle.dump(page, out, protocol=pickle.HIGHEST_PROTOCOL)
            out.flush()
        pickle.dump(None, out)
        out.flush()
    except (BrokenPipeError, ConnectionResetError):
        return  # the consumer is gone
    except BaseException as exc:  # raised in the consumer where the page would have been
        try:
            try:
                data = pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:  # an error that does not pickle: its kind and words
                data = pickle.dumps(RuntimeError(f"{type(exc).__name__}: {exc}"[:500]))
            out.write(data)
            out.flush()
        except (BrokenPipeError, ConnectionResetError):
            return
