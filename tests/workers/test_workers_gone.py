"""Messages about an account or user that no longer exists end at once, without retries.

A sync queued before the account was deleted used to be retried 20 times with back-off, and
`kith demo`, which waits for its queues to drain (broker.join), waited on it. Real Redis
broker, a dramatiq worker in this process, real Postgres.
"""

from __future__ import annotations

import logging
import time

import dramatiq
import pytest

from service import context, store
from service.jobs import Jobs, make_broker

from tests.support.digest import claimed_redis_url as redis_url

JOIN_MS = 8_000  # the first retry alone would come after 1 s, and 20 of them take minutes


@pytest.fixture
def worker(settings, database):
    broker = make_broker(settings.redis_url)
    jobs = Jobs(broker)
    context.install(settings, database)
    worker = dramatiq.Worker(broker, worker_threads=1, worker_timeout=100)
    worker.start()
    yield broker, jobs
    worker.stop()
    broker.client.close()


def test_a_sync_or_import_for_what_is_gone_is_dropped_at_once(worker, database, tmp_path, caplog):
    broker, jobs = worker
    # Given an account and a user that existed when their messages were queued, and are gone
    with database.tx() as conn:
        uid = store.create_user(conn, "gone@example.org")
        account = store.ensure_account(conn, uid, "google", "gone@gmail.example")
        conn.execute("DELETE FROM users WHERE id = %s", (uid,))
    caplog.set_level(logging.INFO, logger="service.jobs.actors")
    # When syncs of the account (background and sync-now) and an import for the user are queued
    jobs.sync_account.send(account)
    jobs.sync_account_now.send(account)
    jobs.import_file.send(uid, "mbox", str(tmp_path / "missing.mbox"))
    # Then the queues drain at once, as `kith demo` waits for them to (no delayed retry)
    started = time.monotonic()
    for queue in ("sync", "interactive"):
        broker.join(queue, timeout=JOIN_MS)
    assert time.monotonic() - started < JOIN_MS / 1000
    assert broker.client.llen("dramatiq:sync.DQ") == broker.client.llen("dramatiq:interactive.DQ") == 0
    # and each message said why it ended, at info
    dropped = [r for r in caplog.records if "no longer exists" in r.getMessage()]
    assert len(dropped) == 3 and {r.levelno for r in dropped} == {logging.INFO}
    # and none was dead-lettered either
    assert broker.client.zcard("dramatiq:sync.XQ") == broker.client.zcard("dramatiq:interactive.XQ") == 0


def test_a_sync_that_fails_for_an_account_that_exists_is_still_retried(worker, database, caplog):
    _broker, jobs = worker
    # Given an account that exists but cannot be synced (files are imported, not synced)
    with database.tx() as conn:
        uid = store.create_user(conn, "here@example.org")
        account = store.ensure_account(conn, uid, "mbox", "here@example.org")
    # When its sync is queued
    jobs.sync_account.send(account)

    # Then the failure is retried: the actor runs again after its back-off (the retry's stay
    # on the delay queue is too short to be watched: the worker takes it into memory at once)
    def attempts() -> int:
        return sum(1 for r in caplog.records if f"sync_account({account})" in r.getMessage())

    deadline = time.monotonic() + JOIN_MS / 1000
    while attempts() < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert attempts() >= 2
