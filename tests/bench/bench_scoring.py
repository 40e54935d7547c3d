"""Benchmark: scoring one user with 100,000 interactions and 5,000 contacts.

Compared, in the same run, with reading those rows back from PostgreSQL (a table in the
`database` fixture's DB, filled with COPY, then a timed SELECT of every row). Goals:
scoring <= 3x the read; one user's model fit <= 2 s. Run it explicitly:

    KITH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/pytest -s tests/bench/bench_scoring.py
"""

from __future__ import annotations

import time

import numpy as np

from analytics import Exchange, score_ties
from analytics.frame import build_frame
from analytics.scoring import fit_strength_model

N_INTERACTIONS = 100_000
N_CONTACTS = 5_000
AS_OF = 1_790_000_000.0  # 2026-09-21
SPAN = 730 * 86400.0


def synthetic_rows(seed: int = 0, n: int = N_INTERACTIONS, contacts: int = N_CONTACTS) -> list[tuple]:
    """(at, kind, sender, recipients, thread, key, reply_to, duration_s): heavy-tailed tie
    intensities, 1:1 and group mail with replies, and meetings."""
    rng = np.random.default_rng(seed)
    weight = rng.pareto(1.2, contacts) + 0.05
    weight /= weight.sum()
    contact = rng.choice(np.arange(1, contacts + 1), size=n, p=weight)
    at = np.sort(AS_OF - rng.random(n) * SPAN)
    kind = rng.random(n)
    rows = []
    last_from = {}
    for i in range(n):
        c = int(contact[i])
        t = float(at[i])
        if kind[i] < 0.08:  # a meeting, sometimes with others
            others = tuple(int(x) for x in rng.choice(contacts, size=int(rng.integers(0, 4))) + 1)
            organiser = 0 if rng.random() < 0.5 else c
            people = tuple(p for p in (0, c) + others if p != organiser)
            rows.append((t, "meeting", organiser, list(people), None, None, None, 1800.0))
            continue
        group = (
            tuple(int(x) for x in rng.choice(contacts, size=int(rng.integers(0, 6))) + 1) if rng.random() < 0.3 else ()
        )
        you = rng.random() < 0.5
        key = f"m{i}"
        parent = last_from.get((c, not you))
        reply_to = parent if parent and rng.random() < 0.6 else None
        thread = f"t{c}-{i // 7}"
        if you:
            rows.append((t, "email", 0, [c, *group], thread, key, reply_to, 0.0))
        else:
            rows.append((t, "email", c, [0, *group], thread, key, reply_to, 0.0))
        last_from[(c, you)] = key
    return rows


def to_exchanges(rows) -> list[Exchange]:
    return [
        Exchange(at, kind, sender, tuple(recipients), thread=thread, key=key, reply_to=reply_to, duration_s=duration)
        for at, kind, sender, recipients, thread, key, reply_to, duration in rows
    ]


def _load(database, rows) -> None:
    with database.tx() as conn:
        conn.execute("""CREATE TABLE bench_exchanges (
            at double precision, kind text, sender bigint, recipients bigint[],
            thread text, key text, reply_to text, duration_s double precision)""")
        with conn.cursor() as cur:
            with cur.copy("COPY bench_exchanges FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        conn.execute("ANALYZE bench_exchanges")


def _read(database) -> list[tuple]:
    with database.tx() as conn:
        return conn.execute(
            "SELECT at, kind, sender, recipients, thread, key, reply_to, duration_s FROM bench_exchanges"
        ).fetchall()


def test_scoring_vs_reading_from_postgres(database):
    rows = synthetic_rows()
    _load(database, rows)
    reads = []
    for _ in range(3):
        started = time.perf_counter()
        with database.tx() as conn:
            fetched = conn.execute(
                "SELECT at, kind, sender, recipients, thread, key, reply_to, duration_s FROM bench_exchanges"
            ).fetchall()
        reads.append(time.perf_counter() - started)
    read = min(reads)
    assert len(fetched) == N_INTERACTIONS

    started = time.perf_counter()
    exchanges = to_exchanges(fetched)
    convert = time.perf_counter() - started

    started = time.perf_counter()
    frame = build_frame(exchanges, AS_OF)
    model = fit_strength_model(frame, AS_OF)
    fit = time.perf_counter() - started

    scores_runs = []
    for _ in range(2):
        started = time.perf_counter()
        scores = score_ties(exchanges, AS_OF, model=model)
        scores_runs.append(time.perf_counter() - started)
    score = min(scores_runs)

    started = time.perf_counter()
    score_ties(exchanges, AS_OF)
    score_and_fit = time.perf_counter() - started

    n_contacts = len(scores)
    print(f"\n{N_INTERACTIONS} interactions, {n_contacts} contacts scored")
    print(f"read from PostgreSQL (SELECT + fetch, best of 3): {read:.3f} s")
    print(f"rows -> Exchange records:                        {convert:.3f} s")
    print(f"model fit (frame + training set + fit):          {fit:.3f} s  (goal <= 2 s)")
    print(f"score_ties with the fitted model (best of 2):    {score:.3f} s  = {score / read:.2f}x read (goal <= 3x)")
    print(f"score_ties fitting its own model:                {score_and_fit:.3f} s  = {score_and_fit / read:.2f}x read")
    assert n_contacts > 4_000
    assert fit <= 2.0
    assert score <= 3 * read


def _hwm_mb() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024


def _reset_hwm() -> None:
    # Writing 5 to clear_refs resets the peak RSS (VmHWM) to the current RSS (Linux >= 4.0).
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")


BIG_INTERACTIONS = 1_000_000
BIG_CONTACTS = 20_000


def test_scoring_a_million_interactions(database):
    """One user with 1,000,000 interactions and 20,000 contacts: score_ties (fitting its own
    model, as scoring a user does) against reading the rows from PostgreSQL in the same
    run. Goals: <= 3x the read; peak RSS of scoring <= 2 GB."""
    rows = synthetic_rows(seed=1, n=BIG_INTERACTIONS, contacts=BIG_CONTACTS)
    _load(database, rows)
    del rows
    started = time.perf_counter()
    fetched = _read(database)
    read = time.perf_counter() - started
    assert len(fetched) == BIG_INTERACTIONS
    exchanges = to_exchanges(fetched)
    del fetched
    _reset_hwm()
    base = _hwm_mb()
    started = time.perf_counter()
    scores = score_ties(exchanges, AS_OF)
    score = time.perf_counter() - started
    peak = _hwm_mb()
    print(f"\n{BIG_INTERACTIONS} interactions, {len(scores)} contacts scored")
    print(f"read from PostgreSQL (SELECT + fetch):   {read:.2f} s")
    print(f"score_ties (fits its own model):         {score:.2f} s = {score / read:.2f}x read (goal <= 3x)")
    print(f"peak RSS while scoring: {peak:.0f} MB (before: {base:.0f} MB; goal <= 2048 MB)")
    assert len(scores) > 15_000
    assert score <= 3 * read
    assert peak <= 2048
