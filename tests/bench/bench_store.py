"""Rows per second written through the store, against a raw COPY of the same rows into the
same tables, in the same run (goal >= 0.5).

    .venv/bin/pytest tests/bench/bench_store.py -s -o addopts=""
"""

import time
from datetime import datetime, timedelta, timezone

from ingest.records import Interaction, Page, Participant
from service import store, sync_store

N = 40_000
PAGE = 500


def _interactions():
    t0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
    out = []
    for i in range(N):
        parts = (
            Participant(f"p{i % 900}@example.org", "from", f"Person {i % 900}"),
            Participant("you@kith.example", "to"),
            Participant(f"p{(i * 7) % 900}@example.org", "cc"),
            Participant(f"p{(i * 13) % 900}@example.org", "cc"),
        )
        out.append(
            Interaction(
                provider_id=f"m{i}",
                kind="email",
                occurred_at=t0 + timedelta(minutes=i),
                participants=parts,
                thread_id=f"t{i // 3}",
                message_id=f"m{i}@x",
                labels=("INBOX",),
            )
        )
    return out


def test_store_write_rate_against_raw_copy(database):
    items = _interactions()
    with database.tx() as conn:
        user_id = store.create_user(conn, "you@kith.example")
        a1 = store.ensure_account(conn, user_id, "memory", "one@kith.example")
        a2 = store.ensure_account(conn, user_id, "mbox", "two@kith.example")
    rows = N + sum(len({(p.role, p.address) for p in it.participants}) for it in items)

    # Baseline: raw COPY of the same rows into the same tables (ids precomputed).
    t = time.perf_counter()
    with database.tx() as conn, conn.cursor() as cur:
        base = cur.execute("SELECT nextval('interactions_id_seq')").fetchone()[0] + 1
        cur.execute("SELECT setval('interactions_id_seq', %s)", (base + N,))
        with cur.copy(
            "COPY interactions (id, user_id, account_id, provider_id, kind, occurred_at, thread_id, "
            "message_id, labels, n_participants) FROM STDIN"
        ) as copy:
            for k, it in enumerate(items):
                copy.write_row(
                    (
                        base + k,
                        user_id,
                        a2,
                        it.provider_id,
                        it.kind,
                        it.occurred_at,
                        it.thread_id,
                        it.message_id,
                        list(it.labels),
                        4,
                    )
                )
        with cur.copy("COPY participants (interaction_id, user_id, address, role, name) FROM STDIN") as copy:
            for k, it in enumerate(items):
                seen = set()
                for p in it.participants:
                    if (p.role, p.address) not in seen:
                        seen.add((p.role, p.address))
                        copy.write_row((base + k, user_id, p.address, p.role, p.name))
    raw = time.perf_counter() - t

    # Kith: pages through the sync store, each page and its cursor in one transaction.
    s = sync_store.AccountSyncStore(database, a1)
    t = time.perf_counter()
    for start in range(0, N, PAGE):
        s.commit_page("mail", Page(items=tuple(items[start : start + PAGE]), cursor=str(start + PAGE)), "initial", 1)
    kith = time.perf_counter() - t

    with database.tx() as conn:
        assert conn.execute("SELECT count(*) FROM interactions WHERE account_id = %s", (a1,)).fetchone()[0] == N
    ratio = raw / kith
    print(
        f"\nstore write: {rows / kith:,.0f} rows/s (pages of {PAGE}); raw COPY {rows / raw:,.0f} rows/s; "
        f"ratio {ratio:.2f} (goal >= 0.5); {rows} rows"
    )
