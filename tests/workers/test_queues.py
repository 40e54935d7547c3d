"""Queues and priorities: a backlog of background syncs does not starve a sync a person is
waiting for, and `/metrics` reports how many messages wait on each queue.

The worker here is the one-host shape at its worst: ONE `kith worker` process with two
threads consuming every queue. dramatiq gives each queue its own consumer that prefetches
at most 2 x threads messages, so a sync-now waits behind a handful of background syncs,
never behind the whole backlog.
"""

from __future__ import annotations

import time
from datetime import date

import dramatiq
import httpx
from prometheus_client.parser import text_string_to_metric_families

from service.jobs import QUEUES, Jobs, make_broker, queue_depths
from service.providers.google import with_emulator

from tests.support.digest import claimed_redis_url as redis_url
from tests.support.scale import Processes, add_user, connect_google, seed_google, start_google, wait_until

BACKLOG = 200
THREADS = 2


def depths_from_metrics(api: str) -> dict[str, float]:
    text = httpx.get(f"{api}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        if family.name == "kith_queue_depth":
            return {s.labels["queue"]: s.value for s in family.samples}
    raise AssertionError("no kith_queue_depth in /metrics")


def synced(database, account_ids) -> set[int]:
    with database.tx() as conn:
        return {
            r[0]
            for r in conn.execute(
                "SELECT id FROM accounts WHERE id = ANY(%s) AND last_synced_at IS NOT NULL", (list(account_ids),)
            )
        }


def test_metrics_report_the_depth_of_every_queue(settings, database, tmp_path):
    # Given known numbers of messages waiting on each queue (one sync delayed, as a retry is)
    broker = make_broker(settings.redis_url)
    jobs = Jobs(broker)

    for n in range(7):
        jobs.sync_account.send(n + 1)
    jobs.sync_account.send_with_options(args=(99,), delay=60_000)
    for n in range(5):
        jobs.sync_account_now.send(n + 1)
    for n in range(3):
        jobs.score_user.send(n + 1)
    for n in range(2):  # the digest's actor, by name (as a message from the scheduler arrives)
        broker.enqueue(
            dramatiq.Message(
                queue_name="email",
                actor_name="send_weekly_digest",
                args=(n + 1, date(2026, 11, 23).isoformat()),
                kwargs={},
                options={},
            )
        )
    procs = Processes(settings, tmp_path / "logs")
    try:
        # When an API process is scraped
        api = procs.api("api")
        depths = depths_from_metrics(api)
        # Then each queue's depth is there, delayed messages included, and agrees with Redis
        assert depths == {"interactive": 5, "sync": 8, "scoring": 3, "email": 2}
        assert set(depths) == set(QUEUES) and depths == queue_depths(broker.client)
    finally:
        procs.stop_all()


def test_a_sync_backlog_does_not_starve_a_sync_now(settings, database, tmp_path):
    # Given 200 users whose background syncs wait on the `sync` queue, and one more user;
    # every Google call takes 40 ms, so a sync takes a noticeable while
    google = start_google(quota_scale=1.0)
    google.faults.latency_s = 0.04
    for i in range(BACKLOG + 1):
        seed_google(google, f"b{i}@gmail.example", messages=3, events=1, seed=i)
    google.start()
    routed = with_emulator(settings, google)
    backlog, urgent, token = [], None, None
    for i in range(BACKLOG + 1):
        user_id, user_token = add_user(database, f"b{i}@kith.example")
        account_id = connect_google(database, routed, google, user_id, f"b{i}@gmail.example")
        if i < BACKLOG:
            backlog.append(account_id)
        else:
            urgent, token = account_id, user_token
    broker = make_broker(routed.redis_url)
    jobs = Jobs(broker)

    for account_id in backlog:
        jobs.sync_account.send(account_id)
    procs = Processes(routed, tmp_path / "logs")
    try:
        api = procs.api("api")
        assert depths_from_metrics(api)["sync"] == BACKLOG
        # and one worker process, two threads, on every queue, already busy with the backlog
        procs.worker("w", queues=QUEUES, threads=THREADS)
        wait_until(lambda: len(synced(database, backlog)) >= 5, timeout=90, what="the backlog to be under way")

        # When the last user asks for a sync now, through the API (the interactive queue)
        before = len(synced(database, backlog))
        asked = time.monotonic()
        response = httpx.post(
            f"{api}/v1/accounts/{urgent}/sync", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        assert response.status_code == 202
        wait_until(lambda: urgent in synced(database, [urgent]), timeout=90, interval=0.1, what="the sync-now")
        waited = time.monotonic() - asked
        after = len(synced(database, backlog))
        depth = depths_from_metrics(api)["sync"]

        # Then it was done while most of the backlog still waited: it overtook all but the few
        # background syncs the worker had already taken (prefetch 2 x threads, those running, and
        # those the other thread runs meanwhile), whatever the size of the backlog
        assert after - before <= 4 * THREADS + 2, (before, after)
        assert depth >= BACKLOG / 2 and after < BACKLOG / 2
        with database.tx() as conn:
            rows = conn.execute("SELECT count(*) FROM interactions WHERE account_id = %s", (urgent,)).fetchone()[0]
        assert rows == len(google.message_ids(f"b{BACKLOG}@gmail.example")) + 1
        print(
            f"\nsync-now done in {waited:.1f} s; {after - before} background syncs finished meanwhile, "
            f"{depth:.0f} of {BACKLOG} still queued"
        )
    finally:
        procs.stop_all()
        google.stop()
