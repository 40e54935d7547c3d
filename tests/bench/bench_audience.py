"""The 100,000-address attack, end to end (on demand, not in the default run):

    KITH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python tests/bench/bench_audience.py [--normal 2000] [--crowd 100000]

A user's mbox of `--normal` ordinary messages, imported alone and then again with one
message to `--crowd` distinct addresses: for each, the import (`import_file`, as
`kith import mbox`), a scoring run (`score_user`, as `kith score`) and the first page of
exclusions (as GET /v1/exclusions returns it) each run in a fresh process, which reports
its CPU time and peak RSS. The rows the import left (people, participants) are counted.
Goal: the crowd costs scoring nothing measurable, and people rows stay those of the
ordinary mail. `--tree DIR` measures another checkout (the code before the fix, say) with
this same script.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psycopg
from psycopg import sql

ROOT = Path(__file__).resolve().parents[2]
ME = "me@home.example"

_PHASE = """
import json, resource, sys, time
from service.db import Database
from service import people, store
from service.imports import import_file
from service.ties.scoring import score_user
url, phase, path = sys.argv[1:4]
db = Database(url, min_size=1, max_size=2)
started, clock = time.process_time(), time.perf_counter()
with db.tx() as conn:
    row = conn.execute("SELECT id FROM users WHERE email = %s", (sys.argv[4],)).fetchone()
    user_id = row[0] if row else store.create_user(conn, sys.argv[4])
extra = {}
if phase == "import":
    import_file(db, user_id, "mbox", path)
elif phase == "score":
    extra["ties"] = len(score_user(db, user_id))
else:
    with db.tx() as conn:
        if not hasattr(people, "exclusion_rows"):  # a tree from before paging: the route sent it all
            body = people.exclusions(conn, user_id)
        else:
            try:
                from service.people import exclusion_pages
            except ImportError:  # a tree from before service/people/ was a package
                from service import exclusion_pages
            page = exclusion_pages.exclusion_page(conn, user_id)
            body = {"items": page.items, "next_cursor": page.next_cursor}
    extra["bytes"] = len(json.dumps(body, default=str))
db.close()
print(json.dumps({"cpu_s": round(time.process_time() - started, 2), "wall_s": round(time.perf_counter() - clock, 2),
                  "peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024), **extra}))
"""


def write_mbox(path: Path, normal: int, crowd: int) -> None:
    t0 = datetime(2026, 1, 5, tzinfo=timezone.utc)
    with open(path, "w") as f:
        for i in range(normal):
            t = t0 + timedelta(hours=3 * i)
            contact = f"friend{(i // 2) % 60}@pals.example"  # each friend writes and is written to
            frm, to, label = (ME, contact, "Sent") if i % 2 == 0 else (contact, ME, "Inbox")
            f.write(
                f"From 1{i}@xxx {t:%a %b %d %H:%M:%S +0000 %Y}\nX-Gmail-Labels: {label}\n"
                f"Message-ID: <m{i}@x>\nDate: {t:%a, %d %b %Y %H:%M:%S +0000}\nFrom: {frm}\nTo: {to}\n\nhi\n\n"
            )
        if crowd:
            t = t0 + timedelta(days=1)
            to = ", ".join(f"Person {k} <p{k}@crowd.example>" for k in range(crowd - 2))
            f.write(
                f"From 9@xxx {t:%a %b %d %H:%M:%S +0000 %Y}\nX-Gmail-Labels: Inbox\nMessage-ID: <big@x>\n"
                f"Date: {t:%a, %d %b %Y %H:%M:%S +0000}\nFrom: Boss <boss@crowd.example>\nTo: {to}\n"
                f"Cc: {ME}\n\nbody\n\n"
            )


def run(server: str, normal: int, crowd: int, workdir: Path, tree: Path = ROOT) -> dict:
    name = f"bench_audience_{os.getpid()}_{crowd}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = server.rsplit("/", 1)[0] + "/" + name
    try:
        subprocess.run(
            [sys.executable, "-c", "from service.db import migrate; import sys; migrate(sys.argv[1])", url],
            cwd=tree,
            check=True,
        )
        path = workdir / f"mail-{crowd}.mbox"
        write_mbox(path, normal, crowd)
        out = {}
        for phase in ("import", "score", "exclusions"):
            done = subprocess.run(
                [sys.executable, "-c", _PHASE, url, phase, str(path), ME], cwd=tree, capture_output=True, text=True
            )
            if done.returncode:
                raise SystemExit(f"{phase} failed:\n{done.stderr[-3000:]}")
            out[phase] = json.loads(done.stdout.strip().splitlines()[-1])
        with psycopg.connect(url) as conn:
            out["people_rows"] = conn.execute("SELECT count(*) FROM people").fetchone()[0]
            out["participant_rows"] = conn.execute("SELECT count(*) FROM participants").fetchone()[0]
        return out
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--normal", type=int, default=2000)
    parser.add_argument("--crowd", type=int, default=100_000)
    parser.add_argument(
        "--tree",
        type=Path,
        default=ROOT,
        help="a checkout to measure (e.g. `git archive <commit>` unpacked: before and after)",
    )
    args = parser.parse_args()
    server = os.environ.get("KITH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    with tempfile.TemporaryDirectory() as tmp:
        for crowd in (0, args.crowd):
            print(
                f"{args.normal} ordinary messages + {'one to ' + str(crowd) if crowd else 'nothing else'}:",
                json.dumps(run(server, args.normal, crowd, Path(tmp), args.tree.resolve())),
                flush=True,
            )


if __name__ == "__main__":
    main()
