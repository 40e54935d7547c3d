"""The session-8 speed-ups of score_ties against the code they replaced, value for value:
group_max / group_min against numpy's ufunc.at, the network overlap from pairs found once
per frame against the per-snapshot enumeration, the pause of the garbage collector, and
the fewest training snapshots for a user with many ties."""

from __future__ import annotations

import gc

import numpy as np
import pytest

from analytics import score_ties
from analytics.columns import _dict_codes, codes, group_max, group_min, places, unique_keys
from analytics.frame import DAY, build_frame
from analytics.scoring import collector_paused
from analytics.introductions import CO_MAX
from analytics.signals import YEAR, _overlap, co_pairs
from analytics.training import MIN_SNAPSHOTS, training_set
from tests.support.analytics import T_END, random_history


def reference_overlap(frame, mask):
    """(analytics/signals.py before: every pair enumerated again for each snapshot)"""
    k = frame.n_contacts
    pairs = unique_keys(frame.exchange[mask] * k + frame.c[mask])
    ex, c = pairs // k, pairs % k
    if not len(ex):
        return np.zeros(k)
    starts = np.flatnonzero(np.r_[True, ex[1:] != ex[:-1]])
    sizes = np.diff(np.r_[starts, len(ex)])
    size_of = np.repeat(sizes, sizes)
    start_of = np.repeat(starts, sizes)
    small = np.flatnonzero((size_of > 1) & (size_of <= CO_MAX))
    if not len(small):
        return np.zeros(k)
    rep = size_of[small]
    i = np.repeat(small, rep)
    j = np.repeat(start_of[small], rep) + (np.arange(rep.sum()) - np.repeat(np.cumsum(rep) - rep, rep))
    keep = c[i] != c[j]
    co = unique_keys(c[i][keep] * k + c[j][keep])
    distinct = np.bincount(co // k, minlength=k)
    return distinct / max(len(np.unique(c)) - 1, 1)


@pytest.mark.parametrize("seed", range(30))
def test_network_overlap_equals_the_per_snapshot_enumeration(seed):
    frame = build_frame(random_history(seed, n=400 + 20 * seed, people=30 + seed), T_END)
    for back in (0, 30, 100, 250, 500):
        as_of = T_END - back * DAY
        window = (frame.t < as_of) & (frame.t >= as_of - YEAR)
        np.testing.assert_array_equal(_overlap(frame, as_of - YEAR, as_of), reference_overlap(frame, window))


def test_pairs_come_sorted_by_pair_then_time_and_only_from_small_exchanges():
    frame = build_frame(random_history(3, n=900, people=200), T_END)
    key, at = co_pairs(frame)
    assert len(key) > 0
    order = np.lexsort((at, key))
    np.testing.assert_array_equal(order, np.arange(len(key)))
    k = frame.n_contacts
    assert np.all(key // k < key % k)  # each unordered pair once, smaller index first
    sizes = np.bincount(frame.exchange, minlength=frame.n_exchanges)
    assert sizes.max() > CO_MAX  # the history has big exchanges, and none of them is here
    when = np.full(frame.n_exchanges, np.nan)
    when[frame.exchange] = frame.t
    small_times = set(when[(sizes > 1) & (sizes <= CO_MAX)].tolist())
    assert set(at.tolist()) <= small_times


@pytest.mark.parametrize("seed", range(20))
def test_group_max_and_min_equal_ufunc_at(seed):
    rng = np.random.default_rng(seed)
    k = int(rng.integers(1, 40))
    n = int(rng.integers(0, 300))
    c = rng.integers(0, k, n)
    v = rng.choice([rng.normal(size=n), np.round(rng.normal(size=n), 1), rng.integers(-5, 5, n).astype(float)])
    for grouped in (np.sort(c, kind="stable"), c):  # the frame's order, and any order
        for empty in (-np.inf, np.inf, 0.0):
            expect = np.full(k, empty)
            np.maximum.at(expect, grouped, v)
            np.testing.assert_array_equal(group_max(grouped, v, k, empty), expect)
            expect = np.full(k, empty)
            np.minimum.at(expect, grouped, v)
            np.testing.assert_array_equal(group_min(grouped, v, k, empty), expect)


def test_the_collector_is_paused_while_scoring_and_left_as_it_was():
    history = random_history(5)
    seen = []

    class Probe(list):
        def __iter__(self):
            seen.append(gc.isenabled())
            return super().__iter__()

    was = gc.isenabled()
    try:
        gc.enable()
        score_ties(Probe(history), T_END)
        assert seen and not any(seen)  # off while score_ties read the exchanges
        assert gc.isenabled()
        gc.disable()
        score_ties(history, T_END)
        assert not gc.isenabled()  # a caller that had it off keeps it off
        gc.enable()
        with collector_paused():
            with collector_paused():
                assert not gc.isenabled()
            assert not gc.isenabled()  # the outer pause still holds
        assert gc.isenabled()
        with pytest.raises(RuntimeError), collector_paused():
            raise RuntimeError("scoring failed")
        assert gc.isenabled()
    finally:
        (gc.enable if was else gc.disable)()


def test_a_user_with_many_ties_trains_on_the_fewest_snapshots_and_a_small_one_on_more():
    from tests.bench.bench_scoring import AS_OF, synthetic_rows, to_exchanges

    big = build_frame(to_exchanges(synthetic_rows(seed=2, n=60_000, contacts=40_000)), AS_OF)
    assert big.n_contacts > 15_000
    assert len(np.unique(training_set(big, AS_OF).time)) == MIN_SNAPSHOTS == 2
    small = build_frame(to_exchanges(synthetic_rows(seed=2, n=20_000, contacts=2_000)), AS_OF)
    assert len(np.unique(training_set(small, AS_OF).time)) == 15  # 30,000 // 1,9xx ties


def _same_classes(a: np.ndarray, b: np.ndarray) -> bool:
    """Two codings name the same classes: equal where one is equal, -1 at the same places."""
    pairs = set(zip(a.tolist(), b.tolist()))
    return len(pairs) == len(set(a.tolist())) == len(set(b.tolist())) and all((x == -1) == (y == -1) for x, y in pairs)


@pytest.mark.parametrize("seed", range(20))
def test_codes_through_hashes_name_the_same_classes_as_the_dict(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(0, 500))
    pool = [None, "", *[f"t{i}" for i in range(int(rng.integers(1, 80)))]]
    values = [pool[i] for i in rng.integers(0, len(pool), n)]
    got = codes(values, n)
    assert got.dtype == np.int64 and len(got) == n
    assert _same_classes(got, _dict_codes(values, n))
    assert all((g == -1) == (v is None) for g, v in zip(got.tolist(), values))


def test_codes_fall_back_to_the_dict_when_two_values_share_a_hash():
    values = [-1, -2, -1, None, -2]  # hash(-1) == hash(-2) in CPython
    assert hash(-1) == hash(-2)
    got = codes(values, len(values))
    assert got.tolist() == _dict_codes(values, len(values)).tolist() == [0, 1, 0, -1, 1]


@pytest.mark.parametrize("spread", [1, 10, 10**9])
def test_places_equal_searchsorted(spread):
    rng = np.random.default_rng(spread)
    ids = unique_keys(rng.integers(-5, 5000, 800) * spread)
    values = rng.choice(ids, 3000)
    np.testing.assert_array_equal(places(ids, values), np.searchsorted(ids, values))
    assert len(places(ids, values[:0])) == 0


@pytest.mark.parametrize("seed", range(4))
def test_a_snapshot_of_some_features_computes_them_as_the_full_one_and_no_others(seed):
    from analytics.features import FEATURES, MODEL_FEATURES, snapshot
    from analytics.model import StrengthModel
    from analytics.signals import SIGNAL_FEATURES

    frame = build_frame(random_history(seed, n=900, people=40, span_days=700), T_END)
    at = T_END - (10 + 20 * seed) * DAY
    full = snapshot(frame, at)
    reads = StrengthModel().reads()
    assert set(MODEL_FEATURES) <= set(reads)
    rng = np.random.default_rng(seed)
    for only in (reads, ("volume_mutual",), SIGNAL_FEATURES[:3], tuple(rng.choice(FEATURES, 7, replace=False))):
        part = snapshot(frame, at, only=only)
        cols = [FEATURES.index(n) for n in only]
        others = [i for i in range(len(FEATURES)) if i not in cols]
        assert np.array_equal(part.X[:, cols], full.X[:, cols])  # bit for bit
        assert np.isnan(part.X[:, others]).all()  # never zeros that look like values
        assert np.array_equal(part.present, full.present)
        assert np.array_equal(part.last, full.last, equal_nan=True)
    # Each column alone is computed with whatever it is made from
    for name in FEATURES:
        alone = snapshot(frame, at, only=(name,)).X[:, FEATURES.index(name)]
        assert np.array_equal(alone, full.X[:, FEATURES.index(name)]), name
    with pytest.raises(ValueError, match="unknown features"):
        snapshot(frame, at, only=("recency", "no_such_feature"))


def test_the_training_rows_hold_what_the_model_reads_as_a_full_training_set_does():
    from analytics.features import FEATURES
    from analytics.model import StrengthModel

    frame = build_frame(random_history(5, n=1200, people=50, span_days=800), T_END)
    reads = StrengthModel().reads()
    full, part = training_set(frame, T_END), training_set(frame, T_END, only=reads)
    cols = [FEATURES.index(n) for n in reads]
    assert len(full.y) == len(part.y) > 100
    assert np.array_equal(full.X[:, cols], part.X[:, cols])
    assert np.array_equal(full.weight, part.weight) and np.array_equal(full.time, part.time)
    fitted = StrengthModel().fit(part.X, part.y, sample_time=part.time, sample_weight=part.weight)
    again = StrengthModel().fit(full.X, full.y, sample_time=full.time, sample_weight=full.weight)
    assert np.array_equal(fitted.decision_function(full.X), again.decision_function(full.X))
    assert fitted.reads() == reads
