"""Microsoft 365 sync through Graph delta, against the TLS emulator, with the real stack
(msal token cache, Redis throttle, sync engine, PostgreSQL store).

    .venv/bin/pytest tests/bench/bench_microsoft.py -s -o addopts=""

Figures printed: Graph requests per 1,000 messages for a full sync of a >= 20,000-message
mailbox (goal <= 2), peak requests in flight per mailbox (must be <= 4; also under a burst
of 3 processes x 4 threads wanting 12), lost and duplicated messages (0 and 0), and the
requests of an incremental round with no changes (goal: one per folder and calendar).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter

from ingest.sandbox.microsoft import start_microsoft_emulator
from ingest.sandbox.world import generate_world
from ingest.sync import run_sync
from service.providers import microsoft
from service.store import create_user
from service.sync_store import AccountSyncStore

from ..conftest import ROOT
from tests.emulators.test_microsoft_connector import WORKER

TARGET = 20_000


def test_full_and_incremental_sync_of_a_20k_mailbox(settings, database):
    world = generate_world(7, scale=10)
    emulator = start_microsoft_emulator(world)
    try:
        # Top the world's mailbox up to the target with more inbox mail.
        have = len(emulator.message_ids())
        for n in range(max(0, TARGET - have)):
            emulator.add_message(sender=(f"Extra {n % 300}", f"extra{n % 300}@example.org"))
        expected = emulator.message_ids()
        ms = microsoft.with_emulator(settings, emulator)
        with database.tx() as conn:
            user_id = create_user(conn, world.user_email)
        account_id = microsoft.connect_headless(ms, database, user_id)
        store = AccountSyncStore(database, account_id)
        connector = microsoft.build_connector(ms, database, account_id)
        emulator.reset_stats()

        started = time.perf_counter()
        reports = run_sync(store, connector)
        elapsed = time.perf_counter() - started
        mail_requests = sum(1 for _, path, _ in emulator.log if path.startswith("/me/mailFolders"))
        calendar_requests = sum(1 for _, path, _ in emulator.log if path.startswith("/me/calendarView"))
        total_requests = emulator.graph_requests()
        peak = emulator.peak_wanted
        with database.tx() as conn:
            rows = conn.execute(
                "SELECT provider_id, message_id FROM interactions WHERE account_id = %s AND kind = 'email'",
                (account_id,),
            ).fetchall()
        held = {r[0] for r in rows}
        lost = len(expected - held)
        duplicated = len(rows) - len({r[1] for r in rows})
        messages = len(expected)

        emulator.reset_stats()
        run_sync(store, connector)
        incremental = emulator.graph_requests()
        per_resource = Counter(
            "calendar" if "calendarView" in path else path.split("/")[3] for _, path, _ in emulator.log
        )
        connector.close()

        # A burst: 3 processes x 4 threads want 12 concurrent requests of this mailbox.
        emulator.reset_stats()
        emulator.latency = 0.05
        token = emulator.access_token_for()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER, emulator.graph_base, emulator.ca_file, token, ms.redis_url, "redis"],
                stdout=subprocess.PIPE,
                text=True,
                env=env,
                cwd=ROOT,
            )
            for _ in range(3)
        ]
        errors = [p.communicate(timeout=120)[0].strip() for p in procs]
        burst_peak, burst_429 = emulator.peak_wanted, sum(1 for *_, s in emulator.log if s == 429)
    finally:
        emulator.stop()

    print(
        f"\nfull sync: {messages} messages in {elapsed:.1f}s ({messages / elapsed:.0f} msg/s), "
        f"{sum(r.written for r in reports)} rows written"
    )
    print(
        f"Graph requests: {total_requests} total, {mail_requests} for mail, {calendar_requests} for calendar, 1 for /me"
    )
    print(f"Graph mail requests per 1,000 messages: {1000 * mail_requests / messages:.2f} (goal <= 2)")
    print(
        f"peak requests in flight, as sent by clients (sequential engine): {peak}; under a 12-wide burst "
        f"of 3 processes: {burst_peak}, {burst_429} refused with 429 (must be <= 4, 0)"
    )
    print(f"lost: {lost}, duplicated: {duplicated}")
    print(
        f"incremental round with no changes: {incremental} requests, per folder/calendar "
        f"{sorted(per_resource.values())} (goal: 1 per resource)"
    )
    assert messages >= TARGET and lost == 0 and duplicated == 0
    assert 1000 * mail_requests / messages <= 2
    assert peak <= 4 and burst_peak <= 4 and burst_429 == 0 and errors == ["", "", ""]
    assert incremental == len(per_resource) == 3 and set(per_resource.values()) == {1}
