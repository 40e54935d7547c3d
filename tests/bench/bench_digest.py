"""Benchmark: render and send N weekly digests through the dramatiq workers into a local
SMTP server (aiosmtpd in this process); digests per second, duplicates, missing.

    KITH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
    KITH_REDIS_URL=redis://127.0.0.1:6379/0 \\
    .venv/bin/python tests/bench/bench_digest.py [--users 10000] [--processes 2] [--threads 8]

Every user has ten ties scored now and a week ago (three to deepen, flags, moves), so each
mail is a full digest: content, HTML + text, chart PNG, outbox row, SMTP transaction.
The clock runs from the scheduler's sweep enqueueing everyone to the last 250.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from service import db as kdb  # noqa: E402
from service.jobs import make_broker  # noqa: E402
from service.digest import schedule  # noqa: E402
from tests.support.digest import NAMES, claim_redis_db, release_redis_db, start_smtp, tie  # noqa: E402


class CountingSink:
    """Keeps only what the figures need: Message-ID and recipients of each accepted mail."""

    def __init__(self):
        self.lock = threading.Lock()
        self.ids: Counter = Counter()
        self.recipients: Counter = Counter()
        self.last = 0.0
        self.first = 0.0

    async def handle_DATA(self, server, session, envelope):
        head = envelope.content[:4096]
        start = head.find(b"Message-ID: <")
        mid = head[start + 13 : head.find(b">", start)] if start >= 0 else b""
        with self.lock:
            self.ids[mid] += 1
            for r in envelope.rcpt_tos:
                self.recipients[r] += 1
            self.last = time.monotonic()
            self.first = self.first or self.last
        return "250 OK"

    def total(self) -> int:
        with self.lock:
            return sum(self.ids.values())


def seed(url: str, users: int, now: datetime) -> None:
    """Users due right now (UTC, this weekday and hour), ten ties each, two snapshots."""
    t0 = time.monotonic()
    weekday, hour = now.weekday(), now.hour
    with psycopg.connect(url) as conn:
        with conn.cursor() as cur:
            with cur.copy("COPY users (id, email, name, timezone) FROM STDIN") as copy:
                for u in range(1, users + 1):
                    copy.write_row((u, f"user{u}@bench.example", f"User {u}", "UTC"))
            with cur.copy("COPY digest_settings (user_id, weekday, hour) FROM STDIN") as copy:
                for u in range(1, users + 1):
                    copy.write_row((u, weekday, hour))
            with cur.copy("COPY people (id, user_id, display_name) FROM STDIN") as copy:
                for u in range(1, users + 1):
                    for i, name in enumerate(NAMES):
                        copy.write_row(((u - 1) * 10 + i + 1, u, name))
            with cur.copy(
                "COPY score_snapshots (user_id, person_id, as_of, strength, tier, reciprocity, "
                "flags, payload) FROM STDIN"
            ) as copy:
                before, after = now - timedelta(days=7), now - timedelta(hours=1)
                for u in range(1, users + 1):
                    for i, name in enumerate(NAMES):
                        pid = (u - 1) * 10 + i + 1
                        s = 90 - i * 8 + u % 5
                        recip = [10, -35, 5, 55, -60, 0, 20, -10, 40, 0][i]
                        flags = ["cooling"] if i == 1 else ["one_sided_you"] if i == 3 else []
                        rank = {1: 1, 3: 2, 6: 3}.get(i)
                        t_now = tie(
                            pid,
                            name,
                            s,
                            recip,
                            flags,
                            rank=rank,
                            suggestion="Suggest a walk or lunch next week" if rank else None,
                        )
                        t_before = tie(pid, name, s + (12 if i == 1 else -9 if i == 4 else 1), recip, [])
                        copy.write_row(
                            (u, pid, before, t_before["strength"], t_before["tier"], recip, [], Jsonb(t_before))
                        )
                        copy.write_row((u, pid, after, t_now["strength"], t_now["tier"], recip, flags, Jsonb(t_now)))
            cur.execute("SELECT setval('users_id_seq', %s), setval('people_id_seq', %s)", (users, users * 10))
        conn.commit()
        conn.execute("ANALYZE")
    print(f"seeded {users} users, {users * 10} ties x 2 snapshots in {time.monotonic() - t0:.1f}s")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=10_000)
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--timeout", type=float, default=900)
    args = ap.parse_args()

    server = os.environ.get("KITH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    redis_server = os.environ.get("KITH_REDIS_URL", "redis://127.0.0.1:6379/0")
    name = f"kith_bench_digest_{os.getpid()}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    info = psycopg.conninfo.conninfo_to_dict(server)
    info["dbname"] = name
    url = psycopg.conninfo.make_conninfo(**info)
    redis_url = claim_redis_db(redis_server)
    home = Path(f"/tmp/kith-bench-digest-{os.getpid()}")
    sink = CountingSink()
    controller = start_smtp(sink)
    worker = None
    db = None
    try:
        kdb.migrate(url)
        now = datetime.now(timezone.utc)
        seed(url, args.users, now)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KITH_")}
        env.update(
            {
                "KITH_DATABASE_URL": url,
                "KITH_REDIS_URL": redis_url,
                "KITH_HOME": str(home),
                "KITH_SECRET_KEY": "bench-secret",
                "KITH_BASE_URL": "https://kith.example.org",
                "KITH_SMTP_URL": f"smtp://127.0.0.1:{controller.port}",
                "PYTHONPATH": str(ROOT),
            }
        )
        broker = make_broker(redis_url)
        db = kdb.Database(url, min_size=1, max_size=2)
        import dramatiq
        import psutil

        def enqueue(user_id, week):
            broker.enqueue(
                dramatiq.Message(
                    queue_name="email", actor_name="send_weekly_digest", args=(user_id, week), kwargs={}, options={}
                )
            )

        # The scheduler's sweep enqueues everyone due (timed on its own), then the workers start:
        # the figure is the workers' rendering and sending, from their start to the last 250.
        t_sweep = time.monotonic()
        enqueued = schedule.sweep(db, enqueue, None)
        print(f"sweep enqueued {enqueued} digests in {time.monotonic() - t_sweep:.1f}s")
        log = open(home.with_suffix(".log"), "wb")
        me = psutil.Process()

        def cpu(ps):
            total = 0.0
            for p in ps:
                try:
                    t = p.cpu_times()
                    total += t.user + t.system
                except psutil.NoSuchProcess:
                    pass
            return total

        cpu_me0 = cpu([me])
        load0 = os.getloadavg()[0]
        t0 = time.monotonic()
        worker = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "dramatiq"),
                "service.jobs.worker:setup",
                "--processes",
                str(args.processes),
                "--threads",
                str(args.threads),
                "--queues",
                "email",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )
        time.sleep(1.0)
        procs = [psutil.Process(worker.pid)] + psutil.Process(worker.pid).children(recursive=True)
        deadline = t0 + args.timeout
        last_report = t0
        while sink.total() < args.users and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.5)
            if time.monotonic() - last_report > 10:
                last_report = time.monotonic()
                done = sink.total()
                print(f"  {done} sent, {done / (last_report - t0):.0f}/s")
        elapsed = (sink.last or time.monotonic()) - t0
        cpu_workers, cpu_me = cpu(procs), cpu([me]) - cpu_me0
        load1 = os.getloadavg()[0]
        time.sleep(2.0)  # anything late (a duplicate) would arrive now
        # A second sweep must find nothing left to do.
        again = schedule.sweep(db, enqueue, None)
        time.sleep(2.0)
        with db.tx() as conn:
            states = dict(conn.execute("SELECT state, count(*) FROM outbox GROUP BY state").fetchall())
        total = sink.total()
        unique = len(sink.ids)
        duplicates = total - unique
        expected = {f"user{u}@bench.example" for u in range(1, args.users + 1)}
        missing = len(expected - set(sink.recipients))
        extra_per_user = sum(c - 1 for c in sink.recipients.values() if c > 1)
        print(f"digests: {args.users}  workers: {args.processes} processes x {args.threads} threads")
        first = sink.first - t0 if sink.first else 0.0
        print(
            f"delivered: {total} mails ({unique} distinct Message-IDs) in {elapsed:.1f}s from worker start "
            f"-> {total / elapsed:.1f} digests/s; first mail after {first:.1f}s (worker boot), "
            f"{(total - 1) / max(1e-9, elapsed - first):.1f} digests/s from first to last"
        )
        print(f"duplicates: {duplicates} (by Message-ID), {extra_per_user} (by recipient); missing: {missing}")
        print(f"outbox states: {states}; second sweep enqueued: {again}")
        print(
            f"CPU: workers {cpu_workers:.1f}s ({1000 * cpu_workers / max(1, total):.1f} ms/digest), "
            f"SMTP server (this process) {cpu_me:.1f}s ({1000 * cpu_me / max(1, total):.1f} ms/digest); "
            f"load average {load0:.1f} -> {load1:.1f} on {os.cpu_count()} CPUs"
        )
        ok = duplicates == 0 and extra_per_user == 0 and missing == 0 and again == 0
        return 0 if ok else 1
    finally:
        if worker is not None and worker.poll() is None:
            worker.send_signal(signal.SIGTERM)
            try:
                worker.wait(30)
            except subprocess.TimeoutExpired:
                worker.kill()
        if db is not None:
            db.close()
        controller.stop()
        release_redis_db(redis_url)
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


if __name__ == "__main__":
    sys.exit(main())
