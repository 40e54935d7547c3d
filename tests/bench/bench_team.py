"""Benchmark: "who knows" for a domain in a team of 50 members with 5,000 contacts each,
at a fixed 50 requests/s, against a bare hello-world route served by the same app and
uvicorn process, in the same run.

    KITH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
    KITH_REDIS_URL=redis://127.0.0.1:6379/0 \\
    .venv/bin/python tests/bench/bench_team.py [--members 50] [--contacts 5000] [--rate 50] [--seconds 20]

Steps: a fresh migrated database; 50 users in one team, all sharing; each holds 5,000
shared ties (band and month) drawn from 60,000 addresses over 2,000 organisations whose
sizes follow a Zipf law, so the domain asked about (the largest) is known through
~30,000 rows of the shared table; one uvicorn process (`create_app` plus `/bench/hello`,
bench_api.serve); open-loop load from a separate process (bench_api._fixed_rate; latency
counted from each request's due time), first to the hello route, then to who-knows, then
to the organisation's reach (its 500 best-placed people), each at the same rate.
Goal: who-knows p99 <= 50 ms at 50 requests/s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests" / "bench"))

import bench_api  # noqa: E402

DOMAINS = 2000
UNIVERSE = 60_000
MONTHS = [date(2025 + (m // 12), m % 12 + 1, 1) for m in range(23)]


def seed(url: str, members: int, contacts: int, rng: random.Random) -> tuple[str, int, str]:
    """The team and its shared table; returns (the first member's token, team id, busiest domain)."""
    import psycopg

    from service import auth, store

    weights = [1.0 / (rank + 1) for rank in range(DOMAINS)]
    domains = [f"org{d}.example" for d in range(DOMAINS)]
    universe = [f"p{i}@{d}" for i, d in enumerate(rng.choices(domains, weights=weights, k=UNIVERSE))]
    with psycopg.connect(url) as conn:
        ids = [store.create_user(conn, f"member{i}@team.example", f"Member {i}") for i in range(members)]
        token = auth.create_token(conn, ids[0])
        team = conn.execute(
            "INSERT INTO teams (name, created_by) VALUES ('Bench', %s) RETURNING id", (ids[0],)
        ).fetchone()[0]
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO team_members (team_id, user_id, role, sharing) VALUES (%s, %s, %s, true)",
                [(team, u, "owner" if i == 0 else "member") for i, u in enumerate(ids)],
            )
            with cur.copy("COPY team_shared_ties (team_id, user_id, address, domain, band, month) FROM STDIN") as copy:
                for u in ids:
                    for address in rng.sample(universe, contacts):
                        band = rng.choices((1, 2, 3), weights=(6, 3, 1))[0]
                        month = None if rng.random() < 0.1 else rng.choice(MONTHS)
                        copy.write_row((team, u, address, address.rpartition("@")[2], band, month))
        rows = conn.execute(
            "SELECT count(*) FROM team_shared_ties WHERE team_id = %s AND domain = 'org0.example'", (team,)
        ).fetchone()[0]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE team_shared_ties")  # what autovacuum does after a bulk load
    print(f"seeded {members} members x {contacts} shared ties; the domain asked about is held in {rows} rows")
    return token, team, "org0.example"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--contacts", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=50)
    parser.add_argument("--seconds", type=float, default=20)
    args = parser.parse_args()
    server_url, redis_url = os.environ.get("KITH_DATABASE_URL"), os.environ.get("KITH_REDIS_URL")
    if not server_url or not redis_url:
        print("set KITH_DATABASE_URL and KITH_REDIS_URL", file=sys.stderr)
        return 2
    url = bench_api.make_database(server_url)
    server = None
    try:
        t0 = time.perf_counter()
        token, team, domain = seed(url, args.members, args.contacts, random.Random(18))
        print(f"seeding took {time.perf_counter() - t0:.1f}s")
        port = bench_api.free_port()
        server = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "bench" / "bench_api.py"), "--serve", url, redis_url, str(port)]
        )
        base = f"http://127.0.0.1:{port}"
        bench_api.wait_up(base + "/healthz")
        import httpx

        who_url = f"{base}/v1/team/{team}/who-knows?domain={domain}"
        org_url = f"{base}/v1/team/{team}/orgs/{domain}"
        answer = httpx.get(who_url, headers={"Authorization": f"Bearer {token}"}).json()
        assert len(answer["known_by"]) == args.members, answer
        hello = bench_api.fixed_rate(base + "/bench/hello?", token, args.rate, args.seconds)
        who = bench_api.fixed_rate(who_url, token, args.rate, args.seconds)
        org = bench_api.fixed_rate(org_url + "?", token, args.rate, args.seconds)
        print(
            f"\nfixed rate, {args.rate:.0f} req/s for {args.seconds:.0f}s (open loop, separate process), one uvicorn worker:"
        )
        for label, r in (
            ("hello-world          ", hello),
            ("who-knows (domain)   ", who),
            ("org reach (500 ppl)  ", org),
        ):
            print(
                f"  {label}: achieved {r['achieved_rps']:5.1f} req/s   p50 {r['p50_ms']:6.2f} ms   "
                f"p99 {r['p99_ms']:6.2f} ms   max {r['max_ms']:7.2f} ms   statuses {r['statuses']}"
            )
        print(f"  who-knows p99 / hello p99: {who['p99_ms'] / hello['p99_ms']:.1f}x")
        print(f"  who-knows p99 <= 50 ms : {'met' if who['p99_ms'] <= 50 else 'NOT met'}")
        print(f"  load average           : {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs (shared machine)")
        print(json.dumps({"hello": hello, "who_knows": who, "org_reach": org}))
        return 0
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
        bench_api.drop_database(server_url, url)


if __name__ == "__main__":
    sys.exit(main())
