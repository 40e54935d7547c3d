"""Benchmark: GET /v1/ties?limit=50 for a user with 5,000 contacts, against a bare hello-world
route served by the same app and uvicorn setup, in the same run.

    KITH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
    KITH_REDIS_URL=redis://127.0.0.1:6379/0 \\
    .venv/bin/python tests/bench/bench_api.py [--contacts 5000] [--seconds 10] [--connections 32]

Steps: a fresh migrated database with one user, 5,000 people and a scored snapshot of
5,000 ties (payloads shaped like the scorer's); one uvicorn process (one worker, the
production app from `create_app`, plus `/bench/hello` returning a small JSON object);
load from a separate process on loopback:
  1. saturation: `wrk` (Debian package `wrk`) with keep-alive connections, for rps, p50, p99;
  2. a fixed 200 requests/s for the ties route (open loop, a raw asyncio HTTP/1.1 client in
     its own process; latency counted from each request's due time), for p50 and p99.
Goal: ties rps >= 0.4 x hello rps; p99 <= 25 ms at 200 rps.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

AS_OF = datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc)
TIERS = ("strong", "medium", "weak", "fading")
FLAGS = ((), ("cooling",), (), ("dormant",), ("one_sided_you",), (), ("one_sided_them",))


# --- data -------------------------------------------------------------------------------


def make_database(server_url: str) -> str:
    import psycopg
    from psycopg import sql

    from service import db as kdb

    name = f"kith_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    info = psycopg.conninfo.conninfo_to_dict(server_url)
    info["dbname"] = name
    url = psycopg.conninfo.make_conninfo(**info)
    kdb.migrate(url)
    return url


def drop_database(server_url: str, url: str) -> None:
    import psycopg
    from psycopg import sql

    name = psycopg.conninfo.conninfo_to_dict(url)["dbname"]
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def seed(url: str, contacts: int) -> str:
    """A user with `contacts` people and one snapshot of as many ties; returns their token."""
    import psycopg
    from psycopg.types.json import Jsonb

    from service import auth, store

    with psycopg.connect(url) as conn:
        user_id = store.create_user(conn, "bench@example.org", name="Bench")
        token = auth.create_token(conn, user_id)
        with conn.cursor() as cur:
            with cur.copy("COPY people (user_id, display_name) FROM STDIN") as copy:
                for i in range(contacts):
                    copy.write_row((user_id, f"Contact {i:05d}"))
            ids = [r[0] for r in cur.execute("SELECT id FROM people WHERE user_id = %s ORDER BY id", (user_id,))]
            with cur.copy("COPY person_addresses (user_id, address, person_id) FROM STDIN") as copy:
                for i, pid in enumerate(ids):
                    copy.write_row((user_id, f"contact{i:05d}@example.net", pid))
            with cur.copy(
                "COPY score_snapshots (user_id, person_id, as_of, strength, tier, reciprocity, flags,"
                " payload) FROM STDIN"
            ) as copy:
                for i, pid in enumerate(ids):
                    strength = round(100 * ((i * 7919) % contacts) / contacts)
                    tie = {
                        "contact": f"contact{i:05d}@example.net",
                        "name": f"Contact {i:05d}",
                        "addresses": [f"contact{i:05d}@example.net"],
                        "strength": strength,
                        "tier": TIERS[min(3, (100 - strength) // 25)],
                        "reciprocity": (i * 37) % 201 - 100,
                        "flags": list(FLAGS[i % len(FLAGS)]),
                        "last_interaction": (AS_OF - timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        "explanation": [
                            f"{i % 9} one-to-one meetings in the last 90 days",
                            f"you answered {i % 13} of their messages within a day",
                            "they started most recent threads",
                        ],
                        "ledger": {
                            "initiated_by_you": i % 11,
                            "initiated_by_them": i % 17,
                            "replies_by_you": i % 5,
                            "replies_by_them": i % 7,
                            "meetings_you_set": i % 3,
                            "meetings_they_set": i % 4,
                        },
                        "person_id": pid,
                        "suggestion": None,
                        "deepen_rank": None,
                        "colleague": False,
                    }
                    copy.write_row(
                        (user_id, pid, AS_OF, strength, tie["tier"], tie["reciprocity"], tie["flags"], Jsonb(tie))
                    )
        conn.execute("ANALYZE")
    return token


# --- the server (its own process) ---------------------------------------------------------


def serve(database_url: str, redis_url: str, port: int, pool_size: int) -> None:
    import uvicorn

    from service.api.app import create_app
    from service.api.logs import LOG_CONFIG
    from service.config import Settings

    app = create_app(
        Settings(database_url=database_url, redis_url=redis_url, home=Path("/tmp/kith-bench-home")), pool_size=pool_size
    )

    @app.get("/bench/hello", include_in_schema=False)
    async def hello() -> dict:
        return {"hello": "world"}

    # The access log goes to /dev/null: the same cost is paid for both routes, and the
    # terminal stays readable.
    config = dict(LOG_CONFIG)
    config["handlers"] = {"stderr": {"class": "logging.FileHandler", "formatter": "json", "filename": os.devnull}}
    uvicorn.run(app, host="127.0.0.1", port=port, log_config=config, access_log=False, timeout_graceful_shutdown=5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_up(url: str, timeout: float = 30) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"server did not answer {url}")


# --- load ---------------------------------------------------------------------------------


def _ms(text: str) -> float:
    found = re.match(r"([\d.]+)(us|ms|s|m)$", text)
    if found is None:
        raise RuntimeError(f"unexpected wrk latency {text!r}")
    value, unit = found.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc), to cost a request independently of
    how busy the machine is."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(url: str, token: str | None, seconds: int, connections: int, threads: int, pid: int | None = None) -> dict:
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency", url]
    if token:
        cmd[1:1] = ["-H", f"Authorization: Bearer {token}"]
    before = cpu_seconds(pid) if pid else 0.0
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    spent = cpu_seconds(pid) - before if pid else 0.0
    if not re.search(r"99%\s+\S+", out):
        raise RuntimeError(f"wrk gave no latency distribution:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    total = int(re.search(r"(\d+) requests in", out).group(1))
    return {
        "rps": rps,
        "p50_ms": p50,
        "p99_ms": p99,
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
        "server_cpu_ms_per_request": round(1000 * spent / max(1, total), 3),
    }


async def _fixed_rate(url: str, token: str, rate: float, seconds: float, connections: int = 32) -> dict:
    """Open-loop load: request i is due at start + i/rate, whatever the earlier ones do, and its
    latency counts from when it was due (so a slow server cannot hide queueing).

    Raw HTTP/1.1 keep-alive over asyncio streams: the client spends microseconds per request,
    so the figures are the server's, not the load generator's.
    """
    parts = urlsplit(url)
    request = (
        f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\nAuthorization: Bearer {token}\r\n\r\n"
    ).encode()
    due: asyncio.Queue = asyncio.Queue()
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    async def exchange(reader, writer) -> int:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
        await reader.readexactly(length)
        return status

    async def connection():
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        for _ in range(3):  # warm up this connection
            await exchange(reader, writer)
        while (when := await due.get()) is not None:
            status = await exchange(reader, writer)
            latencies.append((time.perf_counter() - when) * 1000)
            statuses[status] = statuses.get(status, 0) + 1
        writer.close()

    workers = [asyncio.create_task(connection()) for _ in range(connections)]
    await asyncio.sleep(0.5)
    n = int(rate * seconds)
    begin = time.perf_counter()
    for i in range(n):
        when = begin + i / rate
        delay = when - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        due.put_nowait(when)
    for _ in workers:
        due.put_nowait(None)
    await asyncio.gather(*workers)
    elapsed = time.perf_counter() - begin
    latencies.sort()
    return {
        "rate": rate,
        "sent": n,
        "achieved_rps": n / elapsed,
        "statuses": statuses,
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))],
        "max_ms": latencies[-1],
    }


def fixed_rate(url: str, token: str, rate: float, seconds: float) -> dict:
    """Run the open-loop client in its own process (not the server's, not this one)."""
    code = (
        f"import asyncio, json, sys; sys.path.insert(0, {str(ROOT / 'tests' / 'bench')!r});"
        f"import bench_api; print(json.dumps(asyncio.run(bench_api._fixed_rate("
        f"{url!r}, {token!r}, {rate}, {seconds}))))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


# --- main -------------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--pool-size", type=int, default=8, help="connections per pool (the app's default: 8)")
    parser.add_argument("--serve", nargs=3, metavar=("DATABASE_URL", "REDIS_URL", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], args.serve[1], int(args.serve[2]), args.pool_size)
        return 0
    if not shutil.which("wrk"):
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    server_url = os.environ.get("KITH_DATABASE_URL")
    redis_url = os.environ.get("KITH_REDIS_URL")
    if not server_url or not redis_url:
        print("set KITH_DATABASE_URL and KITH_REDIS_URL", file=sys.stderr)
        return 2
    url = make_database(server_url)
    server = None
    try:
        t0 = time.perf_counter()
        token = seed(url, args.contacts)
        print(f"seeded {args.contacts} contacts and ties in {time.perf_counter() - t0:.1f}s")
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, __file__, "--serve", url, redis_url, str(port), "--pool-size", str(args.pool_size)]
        )
        base = f"http://127.0.0.1:{port}"
        wait_up(base + "/healthz")
        ties_url = base + "/v1/ties?limit=50"
        import httpx

        page = httpx.get(ties_url, headers={"Authorization": f"Bearer {token}"}).json()
        assert len(page["items"]) == 50 and page["next_cursor"], page
        print(f"one page: {len(httpx.get(ties_url, headers={'Authorization': f'Bearer {token}'}).content)} bytes")
        wrk(base + "/bench/hello", None, 2, args.connections, args.threads)  # warm-up
        wrk(ties_url, token, 2, args.connections, args.threads)
        hello = wrk(base + "/bench/hello", None, args.seconds, args.connections, args.threads, server.pid)
        ties = wrk(ties_url, token, args.seconds, args.connections, args.threads, server.pid)
        steady = fixed_rate(ties_url, token, args.rate, args.seconds)
        ratio = ties["rps"] / hello["rps"]
        print(f"\nsaturation, wrk -t{args.threads} -c{args.connections} -d{args.seconds}s, one uvicorn worker:")
        for label, r in (("hello-world      ", hello), ("/v1/ties?limit=50", ties)):
            print(
                f"  {label} : {r['rps']:8.0f} req/s   p50 {r['p50_ms']:6.2f} ms   p99 {r['p99_ms']:6.2f} ms   "
                f"non-2xx {r['non_2xx']}   server CPU {r['server_cpu_ms_per_request']:.3f} ms/request"
            )
        print(f"  ratio ties/hello  : {ratio:.2f}   (goal >= 0.40: {'met' if ratio >= 0.4 else 'NOT met'})")
        print(f"  load average      : {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (shared machine)")
        print(f"\nfixed rate, {args.rate:.0f} req/s for {args.seconds}s (open loop, separate process):")
        print(
            f"  /v1/ties?limit=50 : achieved {steady['achieved_rps']:.0f} req/s   p50 {steady['p50_ms']:.2f} ms   "
            f"p99 {steady['p99_ms']:.2f} ms   max {steady['max_ms']:.2f} ms   statuses {steady['statuses']}"
        )
        print(f"  p99 <= 25 ms      : {'met' if steady['p99_ms'] <= 25 else 'NOT met'}")
        print(json.dumps({"hello": hello, "ties": ties, "ratio": round(ratio, 3), "fixed_rate": steady}))
        return 0
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)  # graceful: uvicorn drains, the lifespan closes the pool
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
        drop_database(server_url, url)


if __name__ == "__main__":
    sys.exit(main())
