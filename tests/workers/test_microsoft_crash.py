"""Crash safety: a worker SIGKILLed mid-sync (between pages and inside a page's
transaction), restarted while the mailbox keeps changing, leaves the database equal to
the emulator's mailbox — nothing lost, nothing twice."""

from __future__ import annotations

import json
import os
import signal
import sys
from datetime import datetime

import pytest

from ingest.sandbox.microsoft import start_microsoft_emulator
from ingest.sandbox.world import generate_world
from service.providers import microsoft
from service.store import create_user

from tests.conftest import ROOT
from tests.support.zygote import zygote_fixture

pytestmark = pytest.mark.slow  # worker processes killed mid-sync, on the Graph emulator


def worker_main() -> None:
    """One worker run (in a child of the zygote): `sys.argv[1:]` = account id, the commit to
    die at, where ("after" a page's commit, "inside" its transaction, "none") and the page size."""
    from ingest.sync import run_sync
    from service import sync_store
    from service.config import Settings
    from service.db import Database

    account_id, kill_at, where, page_size = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    settings = Settings()
    db = Database(settings.database_url)
    commits = 0

    def die_if_due():
        if commits == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    commit_page = sync_store.AccountSyncStore.commit_page
    remove = sync_store.remove_interactions  # the name commit_page calls

    def counted_commit(self, *args, **kwargs):
        nonlocal commits
        report = commit_page(self, *args, **kwargs)
        commits += 1
        if where == "after":
            die_if_due()
        return report

    def dying_remove(*args, **kwargs):
        # Inside the page's transaction, after its rows are written and before the cursor is.
        if where == "inside" and commits + 1 == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return remove(*args, **kwargs)

    # Patched in this child only: the zygote and the test keep the real ones.
    sync_store.AccountSyncStore.commit_page = counted_commit
    sync_store.remove_interactions = dying_remove
    connector = microsoft.build_connector(settings, db, account_id, page_size=page_size)
    run_sync(sync_store.AccountSyncStore(db, account_id), connector)
    print("done")


# The worker's modules, imported once by a zygote that forks each worker run
# (tests/support/zygote.py): a new interpreter importing them was most of a run's CPU time.
WORKER_MODULES = [
    "ingest.sync",
    "service.config",
    "service.db",
    "service.providers.microsoft",
    "service.sync_store",
    "tests.workers.test_microsoft_crash",
]
zygote, _zygote = zygote_fixture(WORKER_MODULES)


def run_worker(env, account_id, kill_at, where, page_size=120):
    """One worker process, forked from the zygote: its exit status, stdout and stderr."""
    return _zygote[-1].run(
        "tests.workers.test_microsoft_crash:worker_main",
        env,
        timeout=120,
        argv=[str(account_id), str(kill_at), where, str(page_size)],
    )


def worker_env(ms, emulator) -> dict[str, str]:
    """The environment of a worker process syncing from the Graph emulator."""
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "KITH_DATABASE_URL": ms.database_url,
        "KITH_REDIS_URL": ms.redis_url,
        "KITH_HOME": str(ms.home),
        "KITH_SECRET_KEY": "test-secret-key-not-for-production",
        "KITH_MS_CLIENT_ID": emulator.client_id,
        "KITH_MS_CLIENT_SECRET": emulator.client_secret,
        "KITH_MS_AUTHORITY": emulator.authority,
        "KITH_GRAPH_BASE": emulator.graph_base,
        "KITH_CA_BUNDLE": emulator.ca_file,
        "REQUESTS_CA_BUNDLE": "/nonexistent/ca.pem",
    }


def test_sigkilled_workers_leave_the_database_equal_to_the_mailbox(settings, database):
    world = generate_world(7)
    emulator = start_microsoft_emulator(world)
    try:
        ms = microsoft.with_emulator(settings, emulator)
        with database.tx() as conn:
            user_id = create_user(conn, world.user_email)
        account_id = microsoft.connect_headless(ms, database, user_id)
        env = worker_env(ms, emulator)
        synced = sorted(emulator.message_ids())
        # Given workers killed at several points of the first full sync and of later rounds,
        # with mail arriving, being deleted and moved in between
        for round_, (kill_at, where) in enumerate(
            [(2, "after"), (3, "inside"), (5, "after"), (1, "inside"), (4, "inside")]
        ):
            proc = run_worker(env, account_id, kill_at, where)
            assert proc.returncode == -signal.SIGKILL, proc.stderr[-2000:]
            emulator.add_message(sender=("New", f"new{round_}@example.org"))
            emulator.add_message(folder="sentitems", to=[("Bo", f"bo{round_}@example.org")])
            emulator.delete_message(synced[round_ * 7])
            emulator.move_message(synced[round_ * 7 + 1], "sentitems" if round_ % 2 else "inbox")
            emulator.move_message(synced[round_ * 7 + 2], "archive")
        # When a worker finally runs to the end (finishing the interrupted round, whose snapshot
        # predates the last changes), and the next scheduled round runs after it
        for _ in range(2):
            proc = run_worker(env, account_id, -1, "none")
            assert proc.returncode == 0 and proc.stdout.strip() == "done", proc.stderr[-2000:]
        # Then the database holds exactly the mailbox: none lost, none twice
        with database.tx() as conn:
            mail = conn.execute(
                "SELECT provider_id, message_id FROM interactions WHERE account_id = %s AND kind = 'email'",
                (account_id,),
            ).fetchall()
            meetings = {
                r[0]
                for r in conn.execute(
                    "SELECT provider_id FROM interactions WHERE account_id = %s AND kind = 'meeting'", (account_id,)
                ).fetchall()
            }
            cursor = conn.execute(
                "SELECT cursor FROM sync_state WHERE account_id = %s AND resource = 'calendar'", (account_id,)
            ).fetchone()[0]
            states = {
                r[0]
                for r in conn.execute("SELECT state FROM sync_state WHERE account_id = %s", (account_id,)).fetchall()
            }
        ids = [r[0] for r in mail]
        expected = emulator.message_ids()
        assert (set(ids) - expected, expected - set(ids)) == (set(), set())
        assert len(ids) == len(expected)
        assert len(set(r[1] for r in mail)) == len(mail)
        window = json.loads(cursor)
        start, end = (datetime.fromisoformat(window[k].replace("Z", "+00:00")) for k in ("start", "end"))
        assert meetings == emulator.event_ids(start, end) and meetings
        assert states == {"incremental"}
    finally:
        emulator.stop()


def test_sigkill_in_the_newest_first_rounds_stores_every_message_once(settings, database):
    """A first sync reads each mail folder newest first (sent items, then the inbox). Killed
    between pages and inside a page's transaction, the restarted sync goes on from the stored
    nextLink: no message lost, none fetched and stored a second time (audit triggers count
    every committed write of a row)."""
    from tests.support.scale import audit, install_audit

    world = generate_world(7)
    emulator = start_microsoft_emulator(world)
    try:
        ms = microsoft.with_emulator(settings, emulator)
        with database.tx() as conn:
            user_id = create_user(conn, world.user_email)
        account_id = microsoft.connect_headless(ms, database, user_id)
        install_audit(database)
        env = worker_env(ms, emulator)
        # Given workers killed after a page's commit or inside its transaction, over and over,
        # while the first sync reads the folders newest first (small pages: many kill points)
        mid_round = 0  # kills that left a folder's newest-first round half read
        for n in range(80):
            kill_at, where = ((4, "after"), (6, "inside"), (5, "after"), (7, "inside"))[n % 4]
            proc = run_worker(env, account_id, kill_at, where, page_size=60)
            assert proc.returncode in (0, -signal.SIGKILL), proc.stderr[-2000:]
            with database.tx() as conn:
                cursors = [
                    json.loads(r[0]) if r[0] else {}
                    for r in conn.execute(
                        "SELECT cursor FROM sync_state WHERE account_id = %s AND resource LIKE 'mail:%%'",
                        (account_id,),
                    ).fetchall()
                ]
            mid_round += any(c.get("newest") and c.get("full") for c in cursors)
            if proc.returncode == 0:
                break
        # When a worker runs to the end, and the next round after it
        for _ in range(2):
            proc = run_worker(env, account_id, -1, "none")
            assert proc.returncode == 0 and proc.stdout.strip() == "done", proc.stderr[-2000:]
        # Then kills came in the middle of the newest-first rounds
        print(f"{n + 1} workers, {mid_round} killed in the middle of a newest-first round")
        assert mid_round >= 3, mid_round
        # and the store holds exactly the mailbox, and no row was written twice
        with database.tx() as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT provider_id FROM interactions WHERE account_id = %s AND kind = 'email'", (account_id,)
                ).fetchall()
            ]
        assert sorted(ids) == sorted(emulator.message_ids())
        assert audit(database)["rewritten"] == []
    finally:
        emulator.stop()
