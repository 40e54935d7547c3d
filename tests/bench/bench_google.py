"""Benchmark: Gmail full sync of a 20,000-message mailbox under the enforced quota, then an
incremental sync after 100 new messages, through the real connector, engine and store.

    KITH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres KITH_REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python tests/bench/bench_google.py [--messages 20000] [--scale 20]

The emulator's quota clock runs `--scale` times faster than Google's (x20: 5,000 units/s
instead of 250) and the connector's budget is scaled the same way, so the shape of the
limit is Google's and the run takes seconds instead of minutes. Figures printed:
quota units per second as a share of the ceiling (goal >= 0.9), messages per 1,000 units
(goal >= 200), messages lost and duplicated (goal 0), units of the incremental sync after
100 new messages (goal <= 600), and refusals by the emulator (goal 0).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time
import sys
from multiprocessing.managers import BaseManager
from pathlib import Path

import psycopg
from psycopg import sql
from pydantic import SecretStr

from ingest.google import SCOPES
from ingest.sandbox.google import start_google_emulator
from ingest.sandbox.world import generate_world
from ingest.sync import run_sync
from service import db as kdb
from service.config import Settings
from service.providers.credentials import save_credentials
from service.providers.google import build_connector
from service.store import create_user, ensure_account
from service.sync_store import AccountSyncStore

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.support.scale import fresh_database


def world_of(messages: int, seed: int = 7):
    scale = max(1.0, messages / 3600)
    while True:  # the generator's volume per scale unit is not exact: grow until enough
        world = generate_world(seed, scale=scale)
        google = sorted(world.messages_for("google"), key=lambda m: m.date)[-messages:]
        if len(google) >= messages:
            break
        scale *= 1.1
    others = tuple(m for m in world.messages if m.account != "google")
    return dataclasses.replace(world, messages=tuple(google) + others)


class EmulatorProcess(BaseManager):
    """The emulator in a process of its own, as Google is on machines of its own: the
    connector's process keeps its core, and the figures measure the connector."""


def _start(messages: int, scale: float):
    return start_google_emulator(world_of(messages), quota_scale=scale)


EmulatorProcess.register("emulator", callable=_start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--in-process", action="store_true", help="run the emulator in this process")
    parser.add_argument("--new", type=int, default=100)
    args = parser.parse_args()
    server = os.environ.get("KITH_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    redis_url = os.environ.get("KITH_REDIS_URL") or "redis://127.0.0.1:6379/0"

    world = world_of(args.messages)
    manager = None
    if args.in_process:
        emu = start_google_emulator(world, quota_scale=args.scale)
    else:
        manager = EmulatorProcess()
        manager.start()
        emu = manager.emulator(args.messages, args.scale)
    name, url = fresh_database(server, "kith_bench")
    database = kdb.Database(url, min_size=1, max_size=4)
    try:
        settings = Settings(
            **{**emu.settings_overrides(), "google_client_secret": SecretStr("kith-emulator-secret")},
            database_url=url,
            redis_url=redis_url,
            google_quota_scale=args.scale,
            secret_key="bench-secret",
            home=f"/tmp/{name}",
            google_calendars="primary",
        )
        with database.tx() as conn:
            user_id = create_user(conn, world.user_email)
            account_id = ensure_account(conn, user_id, "google", world.user_email, scopes=list(SCOPES))
            save_credentials(
                conn, settings, account_id, {"refresh_token": emu.issue_refresh_token(), "scopes": list(SCOPES)}
            )
        ceiling = 250.0 * args.scale
        mailbox = emu.message_ids()
        print(f"mailbox: {len(mailbox)} messages, quota ceiling {ceiling:.0f} units/s (250 x {args.scale:g})")

        connector = build_connector(settings, database, account_id)
        started = time.monotonic()
        run_sync(AccountSyncStore(database, account_id), connector, resources=["gmail"])
        wall = time.monotonic() - started
        connector.close()
        usage = emu.usage()
        first, last = usage.first, usage.last
        with database.tx() as conn:
            rows = conn.execute(
                "SELECT provider_id FROM interactions WHERE account_id = %s AND resource = 'gmail'", (account_id,)
            ).fetchall()
        stored = [r[0] for r in rows]
        lost = len(mailbox - set(stored))
        duplicated = len(stored) - len(set(stored)) + len(set(stored) - mailbox)
        active = last - first
        print(f"full sync: {wall:.1f} s wall, {usage.units} units, {dict(usage.requests)}")
        print(
            f"  units/s as share of ceiling: {usage.units / active / ceiling:.3f} (first to last request, "
            f"{active:.1f} s); over the whole wall time: {usage.units / wall / ceiling:.3f}"
        )
        print(f"  messages per 1,000 units: {len(mailbox) * 1000 / usage.units:.1f}")
        print(f"  lost: {lost}, duplicated: {duplicated}, refused by the emulator: {usage.refused}")

        ids = sorted(mailbox)
        for i in range(args.new):
            thread = ids[i] if i % 4 == 0 else None  # a quarter are replies in existing threads
            emu.add_message(
                thread_id=thread,
                labels=["INBOX"],
                headers=[
                    ("From", f"new{i}@example.org"),
                    ("To", world.user_email),
                    ("Date", "Mon, 23 Nov 2026 10:00:00 +0000"),
                    ("Message-ID", f"<new{i}@example.org>"),
                ],
            )
        emu.reset_usage()
        connector = build_connector(settings, database, account_id)
        run_sync(AccountSyncStore(database, account_id), connector, resources=["gmail"])
        connector.close()
        usage = emu.usage()
        with database.tx() as conn:
            count = conn.execute(
                "SELECT count(*) FROM interactions WHERE account_id = %s AND resource = 'gmail'", (account_id,)
            ).fetchone()[0]
        print(
            f"incremental after {args.new} new messages: {usage.units} units {dict(usage.requests)}; "
            f"stored {count}, mailbox {len(emu.message_ids())}, refused {usage.refused}"
        )
    finally:
        database.close()
        emu.stop()
        if manager is not None:
            manager.shutdown()
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


if __name__ == "__main__":
    main()
