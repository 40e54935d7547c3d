"""Benchmark: `kith ties --limit 20` on a scored user against `kith --help`, in the same run.

Both are fresh processes, as a person runs them; `--help` is the floor every command pays
(interpreter, typer, rich, Kith's CLI modules). The user has a kept snapshot of 20,000 ties
(tests/bench/bench_api.py's seed), so the read is the stored-snapshot path: no model
import, one query for the migration check. Goals: ties <= 2x help, and <= 0.5 s.

    KITH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python tests/bench/bench_reading.py [--contacts 20000] [--runs 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.bench_api import drop_database, make_database, seed  # noqa: E402


def _run(args: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "service.cli", *args], env=env, capture_output=True, text=True, cwd=ROOT
    )
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"kith {' '.join(args)} failed: {proc.stderr[-2000:]}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    server_url = os.environ.get("KITH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    url = make_database(server_url)
    try:
        seed(url, args.contacts)
        env = {**os.environ, "KITH_DATABASE_URL": url, "KITH_SECRET_KEY": "bench-reading"}
        env.setdefault("KITH_REDIS_URL", "redis://127.0.0.1:6379/0")
        ties_args = ["ties", "--user", "bench@example.org", "--limit", "20"]
        _run(ties_args, env)  # warm the page cache and .pyc files once
        helps, ties = [], []
        for _ in range(args.runs):  # interleaved: the machine is shared, so load hits both
            helps.append(_run(["--help"], env))
            ties.append(_run(ties_args, env))
    finally:
        drop_database(server_url, url)
    help_s, ties_s = statistics.median(helps), statistics.median(ties)
    print(f"kith --help:                median {help_s:.3f} s (best {min(helps):.3f} s) of {args.runs}")
    print(f"kith ties --limit 20:       median {ties_s:.3f} s (best {min(ties):.3f} s), {args.contacts} ties kept")
    print(
        f"ratio (medians):            {ties_s / help_s:.2f}x (goal <= 2x); best-of ratio {min(ties) / min(helps):.2f}x"
    )
    print(f"absolute (median):          {ties_s:.3f} s (goal <= 0.5 s)")


if __name__ == "__main__":
    main()
