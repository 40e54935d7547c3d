"""Benchmark: counting a user's flags for the deployment's gate, against scoring them.

Each scoring also counts the user's raw flags on the first of each month in the pool's
window (service/ties/flag_pool.record, analytics.flag_gate.counts_by_moment). Measured on
bench_scoring's user (100,000 interactions, 5,000 contacts) against `score_ties` of the
same mail in the same run, CPU time, best of three. Goal: the counting costs at most half
a scoring. Run it explicitly:

    .venv/bin/pytest tests/bench/bench_flag_counts.py -s -o addopts=""
"""

from __future__ import annotations

import time

from analytics import flag_gate, score_ties
from tests.bench.bench_scoring import AS_OF, synthetic_rows, to_exchanges


def best_of(n: int, job) -> float:
    times = []
    for _ in range(n):
        started = time.process_time()
        job()
        times.append(time.process_time() - started)
    return min(times)


def test_counting_the_pools_months_costs_at_most_half_a_scoring():
    exchanges = to_exchanges(synthetic_rows())
    months = flag_gate.check_months(AS_OF)
    counted = flag_gate.counts_by_moment(exchanges, months)
    assert len(counted) == len(months) == 6
    score = best_of(3, lambda: score_ties(exchanges, AS_OF))
    count = best_of(3, lambda: flag_gate.counts_by_moment(exchanges, months))
    ratio = count / score
    print(f"\nflag counts of {len(months)} months {count:.2f} s CPU, score_ties {score:.2f} s: ratio {ratio:.2f}")
    assert ratio <= 0.5
