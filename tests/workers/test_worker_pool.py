"""A worker process's connection pool fits its threads: every thread's sync holds a
connection for its account's lock and takes another to write, all at the same time."""

from __future__ import annotations

import threading

from service.context import Context, pool_size
from service.sync import account_lock

THREADS = 12  # more than half the old fixed pool of 8


def test_every_thread_can_hold_its_lock_and_write_at_once(settings, monkeypatch):
    monkeypatch.setenv("KITH_WORKER_THREADS", str(THREADS))
    context = Context(settings)
    context.db.pool.timeout = 5.0  # fail in seconds, not the default 30
    all_in = threading.Barrier(THREADS, timeout=20)
    errors: list[BaseException] = []

    def sync(account_id: int) -> None:
        try:
            with account_lock(context.db, account_id):
                with context.db.tx() as conn:
                    conn.execute("SELECT 1")
                    all_in.wait()  # every thread holds its lock and a write connection now
        except BaseException as exc:
            errors.append(exc)
            all_in.abort()

    try:
        threads = [threading.Thread(target=sync, args=(1000 + n,)) for n in range(THREADS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        context.db.close()
    assert errors == []


def test_pool_size_follows_the_thread_count(monkeypatch):
    monkeypatch.setenv("KITH_WORKER_THREADS", "16")
    assert pool_size() == 34
    monkeypatch.setenv("KITH_WORKER_THREADS", "2")
    assert pool_size() == 8  # never below the old default
    monkeypatch.delenv("KITH_WORKER_THREADS")
    assert pool_size() == 8
