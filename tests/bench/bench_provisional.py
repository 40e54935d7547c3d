"""Benchmark: a fifteen-year Gmail mailbox at Google's real quota — seconds from the end of
OAuth to the first provisional ties, and how many of the provisional top 10 are in the
final top 10.

    KITH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres KITH_REDIS_URL=redis://127.0.0.1:6379/0 \
        .venv/bin/python tests/bench/bench_provisional.py --messages 20000 [--rest sync|load]

The emulator runs in a process of its own at 250 units/s per user (`--scale 1`, the real
quota; messages.get 5 units, threads.get 10, messages.list 5). The clock starts when the
account's credentials are stored (the end of OAuth) and the first sync starts, as the
`sync_account` actor does, through the real connector, engine, store and
`service.sync.ProvisionalWatch`; the provisional scoring runs beside it, as the `scoring`
queue's worker would. The first ties count from the moment a reader on another connection
sees the snapshot (the scoring's commit); the accuracy panel the worker measures after that
commit is printed apart. Goals: first provisional ties <= 120 s; >= 8 of the provisional
top 10 in the final top 10.

`--rest sync` lets the first sync run to its end at the quota (a 20,000-message mailbox
takes about six minutes). `--rest load` stops it once the first provisional ties are
written and stores the rest of the mailbox directly (the same metadata JSON through the
same parser and store, so the final scores are those a finished sync gives); the time the
full sync would take is then estimated from the rate measured so far, and printed as such.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from concurrent.futures import Future
from datetime import datetime, timezone
from multiprocessing.managers import BaseManager
from pathlib import Path

import psycopg
from psycopg import sql
from pydantic import SecretStr

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from ingest.audience import own_forms
from ingest.google import SCOPES, parse_message
from ingest.google.gmail import METADATA_HEADERS
from ingest.records import Page
from ingest.sandbox.google import start_google_emulator
from ingest.sandbox.google.gmail_api import message_json
from ingest.sandbox.google.mailbox import Mailbox, add_world_message
from ingest.sandbox.world import generate_world
from ingest.sync import run_sync
from service import coverage, db as kdb
from service.config import Settings
from service.providers.credentials import save_credentials
from service.providers.google import build_connector
from service.store import create_user, ensure_account
from service.sync import ProvisionalWatch
from service.sync_store import AccountSyncStore
from service.ties import snapshots
from service.ties.scoring import score_user
from tests.support.scale import fresh_database

YEARS = 15
PER_SCALE = 26_808  # Google messages of seed 7 over fifteen years at scale 1 (measured)


def world_of(messages: int, as_of: datetime, seed: int = 7):
    """A fifteen-year world whose Google mailbox holds `messages` (its newest ones)."""
    import dataclasses

    scale = messages / PER_SCALE * 1.03
    while True:
        world = generate_world(seed, days=365 * YEARS, scale=scale, as_of=as_of)
        google = sorted(world.messages_for("google"), key=lambda m: m.date)
        if len(google) >= messages:
            break
        scale *= 1.1
    others = tuple(m for m in world.messages if m.account != "google")
    return dataclasses.replace(world, messages=tuple(google[-messages:]) + others)


class EmulatorProcess(BaseManager):
    """The emulator in a process of its own, as Google is on machines of its own."""


def _start(messages: int, as_of: str, scale: float):
    return start_google_emulator(world_of(messages, datetime.fromisoformat(as_of)), quota_scale=scale)


EmulatorProcess.register("emulator", callable=_start)


class Stop(Exception):
    """The provisional ties are measured; the rest of the mailbox is loaded directly."""


def top(conn, user_id: int, n: int = 10) -> list[str]:
    """The first `n` ties of the latest snapshot as `kith ties`, the API and the digest list them."""
    return [t["contact"] for t in snapshots.list_ties(conn, user_id, limit=n)]


def visible_after(url: str, user_id: int, started: float) -> Future:
    """The moment (seconds after `started`) a reader first sees a snapshot newer than the
    ones there now: what the API and dashboard show once a scoring commits, polled every
    20 ms on a connection of its own (the accuracy panel is measured after that commit)."""
    seen: Future = Future()
    with psycopg.connect(url, autocommit=True) as conn:
        before = conn.execute("SELECT max(as_of) FROM score_snapshots WHERE user_id = %s", (user_id,)).fetchone()[0]

    def poll() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            while True:
                row = conn.execute("SELECT max(as_of) FROM score_snapshots WHERE user_id = %s", (user_id,)).fetchone()
                if row[0] is not None and row[0] != before:
                    seen.set_result(time.monotonic() - started)
                    return
                time.sleep(0.02)

    threading.Thread(target=poll, daemon=True).start()
    return seen


def load_rest(world, store: AccountSyncStore) -> int:
    """Store the whole mailbox as a finished full sync would (same JSON, parser and store)."""
    address = world.account_address("google")
    aliases = [a for a in world.user_aliases if "@" in a and a.lower() != world.work_email.lower()]
    own = own_forms((address, *aliases))
    mailbox = Mailbox(address)
    stored = [add_world_message(mailbox, m) for m in world.messages_for("google")]
    generation = store.load("gmail").generation
    chunk = 2000
    for start in range(0, len(stored), chunk):
        items = tuple(
            parse_message(message_json(m, "metadata", list(METADATA_HEADERS)), own=own)
            for m in stored[start : start + chunk]
        )
        last = start + chunk >= len(stored)
        page = Page(items=items, cursor='{"phase": "incr", "history_id": 0}' if last else None, complete=last)
        store.commit_page("gmail", page, "incremental" if last else "initial", generation)
    store.set_account_state("incremental", None)
    return len(stored)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--scale", type=float, default=1.0, help="quota clock; 1 is Google's real 250 units/s")
    parser.add_argument("--rest", choices=("sync", "load"), default="sync")
    parser.add_argument(
        "--provisional", type=int, default=1, help="with --rest load: provisional scorings to see before loading"
    )
    args = parser.parse_args()
    server = os.environ.get("KITH_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    redis_url = os.environ.get("KITH_REDIS_URL") or "redis://127.0.0.1:6379/0"
    as_of = datetime.now(timezone.utc).replace(microsecond=0)

    built = time.monotonic()
    manager = EmulatorProcess()
    manager.start()
    emu = manager.emulator(args.messages, as_of.isoformat(), args.scale)
    world = world_of(args.messages, as_of) if args.rest == "load" else None
    print(f"world and emulator ready in {time.monotonic() - built:.0f} s")
    name, url = fresh_database(server, "kith_bench")
    database = kdb.Database(url, min_size=1, max_size=6)
    scorer: list[threading.Thread] = []
    try:
        user_email = emu.user()
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
            user_id = create_user(conn, user_email)
            account_id = ensure_account(conn, user_id, "google", user_email, scopes=list(SCOPES))
            save_credentials(
                conn, settings, account_id, {"refresh_token": emu.issue_refresh_token(), "scopes": list(SCOPES)}
            )
        total = len(emu.message_ids())
        print(f"mailbox: {total} messages over {YEARS} years; quota {250 * args.scale:.0f} units/s")

        started = time.monotonic()  # the end of OAuth: credentials stored, first sync queued
        firsts: list[tuple[float, list[str], datetime | None, int]] = []

        def score(uid: int) -> None:
            asked = time.monotonic() - started

            def run() -> None:
                seen = visible_after(url, uid, started)
                score_user(database, uid)
                done = time.monotonic() - started
                with database.tx() as conn:
                    ranked = top(conn, uid)
                    shown = coverage.latest(conn, uid)
                    stored = conn.execute("SELECT count(*) FROM interactions WHERE user_id = %s", (uid,)).fetchone()
                at = seen.result(timeout=60)
                firsts.append((at, ranked, shown.since, stored[0]))
                print(
                    f"  provisional ties readable at {at:.1f} s (asked for at {asked:.1f} s; the scoring, its "
                    f"accuracy panel included, done at {done:.1f} s): {shown.note()} ({stored[0]} items stored)"
                )

            if not scorer or not scorer[-1].is_alive():  # one scoring at a time, as one worker
                scorer.append(threading.Thread(target=run))
                scorer[-1].start()

        def stop_when_measured(resource, report, page) -> None:
            if args.rest == "load" and len(firsts) >= args.provisional:
                raise Stop

        store = AccountSyncStore(database, account_id)
        connector = build_connector(settings, database, account_id)
        watch = ProvisionalWatch(database, user_id, score, stop_when_measured)
        try:
            run_sync(store, connector, progress=watch)
            synced = True
        except Stop:
            synced = False
        finally:
            connector.close()
        for thread in scorer:
            thread.join()
        usage = emu.usage()
        elapsed = time.monotonic() - started
        with database.tx() as conn:
            seen = conn.execute(
                "SELECT count(*) FROM interactions WHERE account_id = %s AND resource = 'gmail'", (account_id,)
            ).fetchone()[0]
        rate = seen / elapsed
        if synced:
            print(
                f"full sync: {elapsed:.0f} s, {usage.units} units {dict(usage.requests)}, refused {usage.refused}, {seen} stored"
            )
        else:
            print(
                f"stopped after {elapsed:.0f} s with {seen} of {total} messages ({usage.units} units {dict(usage.requests)}, "
                f"refused {usage.refused}); at {rate:.1f} messages/s the full sync would take about "
                f"{total / rate / 60:.0f} min (estimate)"
            )
            loaded = load_rest(world, store)
            print(f"  the rest loaded directly: {loaded} messages through the same parser and store")
        score_user(database, user_id)
        with database.tx() as conn:
            final = top(conn, user_id)
            final_state = coverage.latest(conn, user_id)
        assert not final_state.provisional
        if not firsts:
            print("no provisional ties were made")
            return
        first_s, first_top, since, _ = firsts[0]
        kept = len(set(first_top) & set(final))
        print(
            f"first provisional ties readable: {first_s:.1f} s after OAuth (goal <= 120), mail since {since:%Y-%m-%d}"
        )
        print(f"provisional top 10 in the final top 10: {kept} of 10 (goal >= 8)")
        for n, (at, ranked, _, _) in enumerate(firsts[1:], 2):
            print(f"  refinement {n} at {at:.0f} s: {len(set(ranked) & set(final))} of 10 in the final top 10")
    finally:
        database.close()
        manager.shutdown()
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


if __name__ == "__main__":
    main()
