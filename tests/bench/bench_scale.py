"""Benchmark: first full sync of many users' mailboxes and calendars with 1, 2 and 4 worker
processes, over one Redis and one PostgreSQL, against the emulators.

    KITH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres KITH_REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python tests/bench/bench_scale.py [--users 200] [--messages 2000] [--events 40] \\
        [--microsoft 0.5] [--workers 1,2,4] [--threads 4] [--quota-scale 1]

Half the users (--microsoft) have an Exchange mailbox, the others a Gmail one; each has a
calendar. Each emulator runs in a process of its own (as the providers run on machines of
their own). The users, accounts and credentials are made once; before each round the
synced data, sync states and Redis (queues, quota buckets) are wiped, so every round is a
first full sync of everyone. Workers are `kith worker --processes N --threads T --queue sync`,
started and idle before the clock starts; the clock stops when every account has finished
its first sync. Scoring is left queued (not timed). Figures printed per round: wall time,
rows/s, lost and extra rows, and for Gmail the most units any one user received in any
1 s and 10 s (Google's ceiling is 250 units/s per user, times --quota-scale) and the
emulator's refusals (with how many fell near a stall of the emulator's process), and where
the CPU went (workers, emulators, this database's Postgres backends) and how long the
workers' threads waited for a core. Redis: a database index claimed as
tests.support.digest does, so other runs' workers neither eat nor flush our queues.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from multiprocessing.managers import BaseManager
from pathlib import Path

import psycopg
import redis
from psycopg import sql
from pydantic import SecretStr

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from service import db as kdb  # noqa: E402
from service.jobs import Jobs, make_broker, queue_depths  # noqa: E402
from service.config import Settings  # noqa: E402
from tests.support.digest import claim_redis_db, release_redis_db  # noqa: E402
from tests.support.scale import fresh_database, process_env  # noqa: E402
from tests.support.scale_world import add_user, connect_microsoft, seed_google, seed_microsoft, start_google  # noqa: E402


CLAIM_S = 3 * 3600


class GoogleSide:
    """The Google emulator and its seeded users, living in the emulator's process."""

    def __init__(self, users: list[str], messages: int, events: int, scale: float):
        self.emu = start_google(scale)
        for n, address in enumerate(users):
            seed_google(self.emu, address, messages=messages, events=events, seed=n)
        self.emu.start()
        self.users = users
        self.stalls: list[tuple[float, float]] = []  # (when, how late) of the heartbeat below
        import threading

        threading.Thread(target=self._heartbeat, daemon=True).start()

    def _heartbeat(self) -> None:
        """A thread that wants to run every 50 ms: when it runs late, so did the emulator's
        request threads (same process, same interpreter lock, same share of the CPU), and
        the requests waiting then are charged together when it catches up."""
        while True:
            before = time.monotonic()
            time.sleep(0.05)
            late = time.monotonic() - before - 0.05
            if late > 0.25:
                self.stalls.append((time.monotonic(), late))

    def overrides(self) -> dict:
        return self.emu.settings_overrides()

    def refresh_token(self, address: str) -> str:
        return self.emu.issue_refresh_token(address)

    def expected(self) -> dict[str, int]:
        return {u: len(self.emu.message_ids(u)) + len(self.emu.event_ids("primary", u)) for u in self.users}

    def reset(self) -> None:
        quota = self.emu.quota
        with quota.lock:
            quota.charges.clear()
            quota.refusals.clear()
            quota.gmail.clear()
            quota.calendar.clear()
        quota.reset_usage()
        self.stalls.clear()

    def refusals(self) -> tuple:
        """Refusals, the users they hit, and the distinct seconds they fell in: many users
        refused in the same few seconds means the emulator stalled (it charges when it gets
        to a request), not that one user's budget was overspent."""
        with self.emu.quota.lock:
            seen = list(self.emu.quota.refusals)
        stalls = list(self.stalls)
        near = sum(1 for t, _ in seen if any(-1.5 <= t - when <= 1.5 for when, _ in stalls))
        return (
            len(seen),
            len({u for _, u in seen}),
            len({int(t) for t, _ in seen}),
            near,
            len(stalls),
            max((late for _, late in stalls), default=0.0),
        )

    def report(self) -> dict:
        quota = self.emu.quota
        return {
            u: (
                quota.peak_units_per_second(u, 1.0),
                quota.peak_units_per_second(u, 10.0),
                quota.refused(u),
                quota.used(u, "gmail").units,
                quota.peak_units_per_second(u, 60.0) * 60,
            )
            for u in self.users
        }


class MicrosoftSide:
    def __init__(self, users: list[str], messages: int, events: int):
        from ingest.sandbox.microsoft import MicrosoftEmulator

        self.emu = MicrosoftEmulator()
        for n, upn in enumerate(users):
            seed_microsoft(self.emu, upn, messages=messages, events=events, seed=10_000 + n)
        self.users = users

    def overrides(self) -> dict:
        e = self.emu
        return {
            "ms_client_id": e.client_id,
            "ms_client_secret": e.client_secret,
            "ms_authority": e.authority,
            "graph_base": e.graph_base,
            "ca_bundle": e.ca_file,
        }

    def expected(self) -> dict[str, int]:
        from tests.support.scale_world import microsoft_expected

        return {u: sum(len(ids) for ids in microsoft_expected(self.emu, u).values()) for u in self.users}

    def reset(self) -> None:
        self.emu.reset_stats()

    def report(self) -> dict:
        return {
            "peak_in_flight": self.emu.peak_in_flight,
            "peak_wanted": self.emu.peak_wanted,
            "refused": sum(1 for _, _, s in self.emu.log if s == 429),
            "requests": len(self.emu.log),
        }


class Emulators(BaseManager):
    pass


Emulators.register("google", callable=GoogleSide)
Emulators.register("microsoft", callable=MicrosoftSide)


def wipe(database, redis_url: str) -> None:
    with database.tx() as conn:
        conn.execute("TRUNCATE interactions, participants, sync_state, quarantine CASCADE")
        conn.execute("UPDATE accounts SET status = 'initial', last_synced_at = NULL, last_error = NULL")
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    # Keep our claim on this database index (see tests.support.digest.claim_redis_db).
    client.set("kith:test:claim", str(os.getpid()), ex=CLAIM_S)
    client.close()


TICK = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids) -> float:
    """User + system CPU time of these processes so far (those gone count nothing)."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        total += int(fields[11]) + int(fields[12])
    return total / TICK


def run_queue_seconds(pids) -> float:
    """Time these processes' threads spent runnable but waiting for a core (schedstat)."""
    total = 0
    for pid in pids:
        for task in Path(f"/proc/{pid}/task").glob("*"):
            try:
                total += int((task / "schedstat").read_text().split()[1])
            except (FileNotFoundError, ProcessLookupError, IndexError):
                pass
    return total / 1e9


def group_pids(pgid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) == pgid:
                    found.append(int(entry.name))
            except ProcessLookupError:
                pass
    return found


def backend_pids(database, name: str) -> list[int]:
    with database.tx() as conn:
        return [
            r[0]
            for r in conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,)
            )
        ]


def run_round(
    settings,
    database,
    accounts: dict[int, tuple[str, str]],
    expected: dict[str, int],
    google,
    microsoft,
    processes: int,
    threads: int,
    logs: Path,
    name: str,
    emulator_pids: list[int],
) -> dict:
    wipe(database, settings.redis_url)
    google.reset()
    microsoft.reset()
    env = process_env(settings, f"bench-w{processes}")
    log = open(logs / f"workers-{processes}.log", "wb")
    proc = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "kith"),
            "worker",
            "--processes",
            str(processes),
            "--threads",
            str(threads),
            "--queue",
            "sync",
        ],
        env=env,
        cwd=str(ROOT),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        time.sleep(8 + 2 * processes)  # workers up and idle before the clock starts
        broker = make_broker(settings.redis_url)
        jobs = Jobs(broker)

        workers_pids = group_pids(proc.pid)
        waited0 = run_queue_seconds(workers_pids)
        cpu0 = {
            "workers": cpu_seconds(workers_pids),
            "emulators": cpu_seconds(emulator_pids),
            "postgres": cpu_seconds(backend_pids(database, name)),
        }
        started = time.monotonic()
        for account_id in accounts:
            jobs.sync_account.send(account_id)
        while True:
            with database.tx() as conn:
                pending = conn.execute("SELECT count(*) FROM accounts WHERE last_synced_at IS NULL").fetchone()[0]
            if pending == 0:
                break
            if proc.poll() is not None:
                raise RuntimeError(f"workers exited: {(logs / f'workers-{processes}.log').read_text()[-2000:]}")
            time.sleep(0.5)
        wall = time.monotonic() - started
        # Backends of this database only (the server is shared); they live as long as the workers.
        waited = run_queue_seconds(group_pids(proc.pid)) - waited0
        cpu = {
            "workers": cpu_seconds(group_pids(proc.pid)) - cpu0["workers"],
            "emulators": cpu_seconds(emulator_pids) - cpu0["emulators"],
            "postgres": cpu_seconds(backend_pids(database, name)) - cpu0["postgres"],
        }
        with open("/proc/loadavg") as fh:
            load = fh.read().split()[0]
        depth = queue_depths(broker.client)
    finally:
        import signal

        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
    with database.tx() as conn:
        counts = dict(conn.execute("SELECT account_id, count(*) FROM interactions GROUP BY account_id").fetchall())
    lost = sum(max(0, expected[box] - counts.get(a, 0)) for a, (_, box) in accounts.items())
    extra = sum(max(0, counts.get(a, 0) - expected[box]) for a, (_, box) in accounts.items())
    rows = sum(counts.values())
    return {
        "processes": processes,
        "wall": wall,
        "rows": rows,
        "lost": lost,
        "extra": extra,
        "google": google.report(),
        "refusals": google.refusals(),
        "microsoft": microsoft.report(),
        "scoring_queued": depth["scoring"],
        "cpu": cpu,
        "load": load,
        "workers_waited": waited,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--events", type=int, default=40)
    parser.add_argument("--microsoft", type=float, default=0.5, help="share of users on Microsoft 365")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--quota-scale", type=float, default=1.0)
    args = parser.parse_args()
    server = os.environ.get("KITH_DATABASE_URL") or "postgresql://postgres@127.0.0.1:5432/postgres"
    # A Redis database index of our own: on the shared one, other runs' workers and tests would
    # consume or flush our queues (the claim protocol of tests.support.digest).
    redis_url = claim_redis_db(os.environ.get("KITH_REDIS_URL") or "redis://127.0.0.1:6379/0", ttl=CLAIM_S)

    n_ms = round(args.users * args.microsoft)
    g_users = [f"g{i}@gmail.example" for i in range(args.users - n_ms)]
    m_users = [f"m{i}@contoso.example" for i in range(n_ms)]
    t0 = time.monotonic()
    # One process per emulator: each has its own interpreter lock, as each provider its machines.
    managers = [Emulators(), Emulators()]
    for manager in managers:
        manager.start()
    google = managers[0].google(g_users, args.messages, args.events, args.quota_scale)
    microsoft = managers[1].microsoft(m_users, args.messages, args.events)
    emulator_pids = [m._process.pid for m in managers]
    print(
        f"seeded {len(g_users)} Gmail + {len(m_users)} Exchange mailboxes of {args.messages} messages "
        f"and {args.events} meetings in {time.monotonic() - t0:.1f} s",
        flush=True,
    )

    name, url = fresh_database(server, "kith_bench_scale")
    home = Path(f"/tmp/{name}")
    home.mkdir(parents=True, exist_ok=True)
    g = google.overrides()
    settings = Settings(
        **{**g, "google_client_secret": SecretStr(g["google_client_secret"])},
        **microsoft.overrides(),
        database_url=url,
        redis_url=redis_url,
        google_quota_scale=args.quota_scale,
        secret_key="bench-secret",
        home=home,
    )
    database = kdb.Database(url, min_size=1, max_size=4)
    try:
        t0 = time.monotonic()
        accounts: dict[int, tuple[str, str]] = {}
        from ingest.google import SCOPES
        from service.providers.credentials import save_credentials
        from service.store import ensure_account

        for n, box in enumerate(g_users + m_users):
            user_id, _ = add_user(database, f"user{n}@kith.example")
            if box in g_users:
                with database.tx() as conn:
                    account_id = ensure_account(conn, user_id, "google", box, scopes=list(SCOPES))
                    save_credentials(
                        conn,
                        settings,
                        account_id,
                        {"refresh_token": google.refresh_token(box), "scopes": list(SCOPES), "address": box},
                    )
                accounts[account_id] = ("google", box)
            else:
                accounts[connect_microsoft(database, settings, user_id, box)] = ("microsoft", box)
        expected = {**google.expected(), **microsoft.expected()}
        total = sum(expected[box] for _, box in accounts.values())
        print(
            f"connected {len(accounts)} accounts in {time.monotonic() - t0:.1f} s; {total} rows to sync "
            f"per round; {os.cpu_count()} cores",
            flush=True,
        )

        results = []
        for processes in [int(p) for p in args.workers.split(",")]:
            r = run_round(
                settings,
                database,
                accounts,
                expected,
                google,
                microsoft,
                processes,
                args.threads,
                home,
                name,
                emulator_pids,
            )
            results.append(r)
            peaks = r["google"].values()
            ceiling = 250.0 * args.quota_scale
            print(
                f"{processes} worker process(es) x {args.threads} threads: {r['wall']:.1f} s, "
                f"{r['rows'] / r['wall']:.0f} rows/s, lost {r['lost']}, extra {r['extra']}; Gmail per user: "
                f"max {max((p[0] for p in peaks), default=0):.0f} units in any 1 s, "
                f"max {max((p[1] for p in peaks), default=0):.0f} units/s over any 10 s (ceiling {ceiling:.0f} as a moving "
                f"average that allows short bursts; the emulator lets 1 s of units through at once), "
                f"max {max((p[4] for p in peaks), default=0):.0f} units in any minute "
                f"(Google's per-minute quota {ceiling * 60:.0f}), "
                f"refused {sum(p[2] for p in peaks)} ({r['refusals'][1]} users, "
                f"in {r['refusals'][2]} distinct seconds, "
                f"{r['refusals'][3]} within 1.5 s of one of the emulator's {r['refusals'][4]} stalls > 0.25 s, "
                f"longest {r['refusals'][5]:.1f} s); "
                f"Graph: {r['microsoft']}; "
                f"scoring left queued {r['scoring_queued']}",
                flush=True,
            )
            busy = sum(r["cpu"].values())
            print(
                "  CPU seconds: "
                + ", ".join(f"{k} {v:.0f}" for k, v in r["cpu"].items())
                + f"; {busy / r['wall']:.2f} of {os.cpu_count()} cores busy with this run "
                f"(load average at the end {r['load']}); the workers' threads waited "
                f"{r['workers_waited']:.0f} s in the run queue for a core",
                flush=True,
            )
        if results:
            first = results[0]["wall"]
            print("speed-up: " + ", ".join(f"{r['processes']} -> {first / r['wall']:.2f}x" for r in results))
    finally:
        database.close()
        for manager in managers:
            manager.shutdown()
        release_redis_db(redis_url)
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


if __name__ == "__main__":
    main()
