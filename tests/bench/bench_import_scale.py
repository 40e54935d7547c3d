"""Benchmark: a 1,000,000-message mbox imported end to end into PostgreSQL, against the
lower bound measured in the same run, and the import's peak memory.

    KITH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/python tests/bench/bench_import_scale.py [--messages 1000000] [--keep FILE]

The file is headers only (generated here; Takeout's form: X-GM-THRID, X-Gmail-Labels, one
message in twenty written twice under another label), 20,000 correspondents.

- ours: `service.imports.import_file` in a fresh process (parse, identity, store, people
  refreshed), on empty tables; wall time and peak RSS (VmHWM). Goal: <= 300 MB.
- the bound: the stdlib header parser alone on the same file (split the simplest way,
  `BytesHeaderParser` on each header block) plus a raw COPY of the very rows the import
  stored (dumped after it, tables emptied) back into the same tables. Goal: ours within
  1.4x of parser + COPY.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from email import policy
from email.parser import BytesHeaderParser
from email.utils import format_datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.bench_api import drop_database, make_database  # noqa: E402

ME = "me@example.com"
LABELS = ["Inbox,Opened,Category Personal", "Archived,Opened", "Inbox,Important,Unread", "Inbox,Category Updates"]
FIRST = ["Ana", "Bruno", "Chloé", "Dmitri", "Eva", "Farid", "Grace", "Hiro", "Inés", "Jonas", "Kofi", "Lena"]
LAST = ["Ruiz", "Vidal", "Okafor", "Müller", "Smith", "Nakamura", "García", "Olsen", "Berg", "Costa"]
SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "ta", "vo", "sa", "de", "fi"]
DOMAINS = ["example.org", "globex.example", "gmail.com", "northwind.example", "univ.example.edu"]


def generate(path: Path, messages: int, contacts: int = 20_000, seed: int = 1) -> int:
    """Write a headers-only Takeout-like mbox; returns how many copies were written."""
    rng = random.Random(seed)
    people = []
    for i in range(contacts):
        # Names as varied as a real address book's: few people share one.
        rest, syllables = i // (len(FIRST) * len(LAST)), ""
        while rest:
            rest, digit = divmod(rest, len(SYLLABLES))
            syllables += SYLLABLES[digit]
        first, last = FIRST[i % len(FIRST)], LAST[(i // len(FIRST)) % len(LAST)] + syllables
        address = f"{first.lower()}.{last.lower()}{i}@{DOMAINS[i % len(DOMAINS)]}".encode("ascii", "ignore").decode()
        people.append(f"{first} {last} <{address}>")
    # Heavy-tailed: a few people write a lot, most a little.
    weights = list(itertools.accumulate(1.0 / (1 + i) ** 0.9 for i in range(contacts)))
    t0 = datetime(2011, 1, 1, tzinfo=timezone.utc)
    step = (15 * 365 * 86400) / messages
    copies = 0
    with open(path, "w", encoding="utf-8", newline="\n") as out:
        batch: list[str] = []
        picks = rng.choices(people, cum_weights=weights, k=messages)
        for n in range(messages):
            date = t0 + timedelta(seconds=int(n * step))
            other = picks[n]
            sent = rng.random() < 0.3
            to = [ME] if not sent else [other]
            if rng.random() < 0.25:
                to += rng.choices(people, cum_weights=weights, k=rng.randint(1, 4))
            cc = ", ".join(rng.choices(people, k=2)) if rng.random() < 0.1 else ""
            labels = "Sent,Opened" if sent else rng.choice(LABELS)
            head = (
                f"X-GM-THRID: {1500000000000000000 + n // 3}\n"
                f"Message-ID: <{n:x}.{seed}@mail.example>\n"
                f"Date: {format_datetime(date)}\n"
                f"From: {'Me <' + ME + '>' if sent else other}\n"
                f"To: {', '.join(to)}\n" + (f"Cc: {cc}\n" if cc else "") + f"Subject: note {n}\n"
                "MIME-Version: 1.0\n"
            )
            if n % 4 == 1:
                head += f"In-Reply-To: <{n - 1:x}.{seed}@mail.example>\nReferences: <{n - 1:x}.{seed}@mail.example>\n"
            stamp = f"{date:%a %b %d %H:%M:%S +0000 %Y}"
            batch.append(f"From {1500000000000000000 + n}@xxx {stamp}\nX-Gmail-Labels: {labels}\n{head}\n")
            if n % 20 == 7:  # Takeout writes it again under another label, a little later
                batch.append(f"From {1500000000000000000 + n}@xxx {stamp}\nX-Gmail-Labels: Important\n{head}\n")
                copies += 1
            if len(batch) >= 10_000:
                out.write("".join(batch))
                batch.clear()
        out.write("".join(batch))
    return messages + copies


def stdlib_parse(path: Path) -> int:
    """The stdlib header parser alone: whole file read, split on the separators, each header
    block parsed with BytesHeaderParser (compat32)."""
    parser = BytesHeaderParser(policy=policy.compat32)
    parsed = 0
    with open(path, "rb") as f:
        data = f.read()
    for chunk in data.split(b"\nFrom 15")[0:]:
        message = parser.parsebytes(chunk.split(b"\n", 1)[1])
        parsed += message["From"] is not None
    return parsed


_CHILD = """
import os, sys, time
from service.db import Database
from service.imports import import_file
from tests.bench.bench_import_scale import ChildrenPeak, backend_cpu

def hwm_mb():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024

url, path, user_id = sys.argv[1], sys.argv[2], int(sys.argv[3])
dbname = url.rsplit("dbname=", 1)[1].split()[0]
db = Database(url, min_size=1, max_size=2)
base = hwm_mb()
watch = ChildrenPeak()
started, cpu, pg = time.perf_counter(), os.times(), backend_cpu(dbname)
import_file(db, user_id, "mbox", path, addresses=["me@example.com"])
elapsed, cpu_end = time.perf_counter() - started, os.times()
cpu_s = sum(cpu_end[:4]) - sum(cpu[:4])  # this process and its children, all threads
print(elapsed, base, hwm_mb(), cpu_s, backend_cpu(dbname) - pg, watch.stop())
db.close()
"""


class ChildrenPeak:
    """Polls the peak RSS (VmHWM) of this process's children (the import's reader process)
    twice a second; `stop()` gives the largest seen, in MB."""

    def __init__(self) -> None:
        import threading

        self.peak_kb, self.done = 0, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        me = str(os.getpid())
        while not self.done.wait(0.5):
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    with open(f"/proc/{pid}/stat") as f:
                        if f.read().rsplit(")", 1)[1].split()[1] != me:
                            continue
                    with open(f"/proc/{pid}/status") as f:
                        kb = next((int(x.split()[1]) for x in f if x.startswith("VmHWM:")), 0)
                    self.peak_kb = max(self.peak_kb, kb)
                except (OSError, IndexError, ValueError):
                    continue

    def stop(self) -> float:
        self.done.set()
        self.thread.join()
        return self.peak_kb / 1024


def backend_cpu(dbname: str) -> float:
    """CPU seconds used so far by the PostgreSQL backends serving `dbname`, when the server
    runs on this machine (read from /proc; 0 elsewhere). Only for reading the noisy machine:
    the goal is judged on wall time."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                words = f.read().split()
            if len(words) < 4 or not words[0].startswith(b"postgres:") or words[3] != dbname.encode():
                continue
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
        except (OSError, IndexError, ValueError):
            continue
    return total / os.sysconf("SC_CLK_TCK")


TABLES = ("interactions", "participants")


def dump_and_reload(url: str, folder: Path) -> tuple[float, float, dict[str, int]]:
    """Dump the stored rows of the import's tables, empty them, and time COPYing them back."""
    import psycopg

    counts = {}
    with psycopg.connect(url, autocommit=True) as conn:
        for table in TABLES:
            with open(folder / f"{table}.copy", "wb") as f, conn.cursor().copy(f"COPY {table} TO STDOUT") as copy:
                for block in copy:
                    f.write(block)
        conn.execute("TRUNCATE participants, interactions CASCADE")
        conn.execute("CHECKPOINT")
        pid = conn.info.backend_pid
        started, cpu = time.perf_counter(), _pid_cpu(pid)
        with conn.transaction():
            for table in TABLES:
                with open(folder / f"{table}.copy", "rb") as f, conn.cursor().copy(f"COPY {table} FROM STDIN") as copy:
                    while block := f.read(1 << 20):
                        copy.write(block)
        elapsed, cpu = time.perf_counter() - started, _pid_cpu(pid) - cpu
        for table in TABLES:
            counts[table] = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    return elapsed, cpu, counts


def _pid_cpu(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except OSError:
        return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="mbox to reuse (generated there when missing)")
    args = parser.parse_args()
    server_url = os.environ.get("KITH_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        path = args.keep or folder / "big.mbox"
        if not path.exists():
            started = time.perf_counter()
            copies = generate(path, args.messages)
            print(f"generated {args.messages} messages ({copies} copies) in {time.perf_counter() - started:.0f} s")
        size = path.stat().st_size
        url = make_database(server_url)
        try:
            import psycopg

            from service import store

            with psycopg.connect(url) as conn:
                user_id = store.create_user(conn, ME)
            subprocess.run(["sync"], check=False)
            out = subprocess.run(
                [sys.executable, "-c", _CHILD, url, str(path), str(user_id)],
                capture_output=True,
                text=True,
                cwd=ROOT,
                check=True,
            ).stdout
            ours, base_mb, peak_mb, ours_cpu, ours_pg, reader_mb = (float(x) for x in out.split())
            copy_s, copy_pg, counts = dump_and_reload(url, folder)
            started, cpu = time.perf_counter(), time.process_time()
            parsed = stdlib_parse(path)
            parse_s, parse_cpu = time.perf_counter() - started, time.process_time() - cpu
        finally:
            drop_database(server_url, url)
    bound = parse_s + copy_s
    print(f"mbox: {size / 1e6:.0f} MB, {args.messages} messages; stored {counts}")
    print(f"ours (import_file: parse, identity, store): {ours:8.1f} s  {args.messages / ours:8.0f} msg/s")
    print(f"bound: stdlib parser {parse_s:.1f} s ({parsed} blocks) + raw COPY {copy_s:.1f} s = {bound:.1f} s")
    print(f"ratio ours / bound: {ours / bound:.2f}x (goal <= 1.4x)")
    print(
        f"CPU (read with care; the goal is wall time): ours {ours_cpu:.1f} s in Python"
        f" + {ours_pg:.1f} s in PostgreSQL; bound {parse_cpu:.1f} s parser + {copy_pg:.1f} s COPY in PostgreSQL"
    )
    print(
        f"peak RSS of the import process: {peak_mb:.0f} MB (after imports {base_mb:.0f} MB), of its reader"
        f" process {reader_mb:.0f} MB, together at most {peak_mb + reader_mb:.0f} MB (goal <= 300 MB)"
    )


if __name__ == "__main__":
    main()
