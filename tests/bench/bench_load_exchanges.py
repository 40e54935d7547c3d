"""Benchmark: `service.people.load_exchanges` on 100,000 stored interactions among 2,000
people, against reading the same interactions and their participants back from PostgreSQL
in the same run (one plain SELECT of every participant row, fetched whole). Goal: loading
(the grouped query, the directory's reads and the assembly into analytics records) within 3x
that read. Run it explicitly:

    KITH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/pytest -s -o addopts="" tests/bench/bench_load_exchanges.py

It was a timed test in tests/db (under 2.5 CPU-s, 15 s wall); timings live here now.
"""

from __future__ import annotations

import random
import time

import psycopg

from service import people, store

from tests.support.interactions import mail

N_INTERACTIONS = 100_000
N_PEOPLE = 2_000


def test_load_exchanges_against_reading_the_rows(database_url):
    rnd = random.Random(7)
    who = [f"p{i}@c{i % 50}.example" for i in range(N_PEOPLE)]
    with psycopg.connect(database_url) as conn:
        uid = store.create_user(conn, "me@gmail.com")
        acct = store.ensure_account(conn, uid, "google", "me@gmail.com")
        batch = []
        for k in range(N_INTERACTIONS):
            a, b = rnd.sample(who, 2)
            batch.append(
                mail(f"x{k}", "me@gmail.com", [a, b], at=k / 100, sent=True)
                if k % 2
                else mail(f"x{k}", a, ["me@gmail.com"], cc=[b], at=k / 100)
            )
            if len(batch) == 20_000:
                store.write_interactions(conn, uid, acct, "mail", batch)
                conn.commit()  # one page per transaction, as the sync engine writes them
                batch = []
        people.refresh_people(conn, uid)
        conn.commit()
        reads, loads = [], []
        for _ in range(3):  # alternated: the machine is shared, so load hits both alike
            started = time.perf_counter()
            rows = conn.execute(
                "SELECT i.id, i.kind, i.occurred_at, i.message_id, p.address, p.role FROM interactions i"
                " JOIN participants p ON p.interaction_id = i.id WHERE i.user_id = %s",
                (uid,),
            ).fetchall()
            reads.append(time.perf_counter() - started)
            started, cpu = time.perf_counter(), time.process_time()
            exchanges, info = people.load_exchanges(conn, uid)
            loads.append((time.perf_counter() - started, time.process_time() - cpu))
    read = min(reads)
    load, load_cpu = min(loads)
    print(f"\nread {len(rows)} participant rows of {N_INTERACTIONS} interactions (best of 3): {read:.2f} s")
    print(f"load_exchanges (best of 3): {load:.2f} s wall, {load_cpu:.2f} s CPU in Python")
    print(f"ratio: {load / read:.2f}x the read (goal <= 3x)")
    assert len(exchanges) == N_INTERACTIONS and len(info) == N_PEOPLE
    assert load <= 3 * read
