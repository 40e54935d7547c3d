"""Backtest on real Enron mail: employees in turn as the user, scored at monthly dates.

Ego view (only mail the employee sent or received); odd-numbered employees outside the
lockbox only (the even ones fitted the shipped prior, on data before April 2001; the lockbox
of analytics/lockbox.py is never read here); as_of on the 1st of each
month April-October 2001; outcome: two-way contact in the 90 days after. Goals: AUC of
strength >= 0.85 (recency alone is printed as the baseline), and ties flagged cooling are
at most half as likely to be in two-way contact afterwards as comparable ties (those with
an established baseline to cool from) that were not flagged.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import pytest

from analytics.backtest import default_dates, format_calibration, load_edges, messages, run
from analytics.lockbox import development_egos, development_mail
from tests.conftest import ENRON as SHARED_ENRON

ENRON = Path(os.environ.get("KITH_ENRON_DIR", SHARED_ENRON))

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not (ENRON / "edges.csv").exists(), reason="no Enron data")]


@pytest.fixture(scope="module")
def mail():
    digest = hashlib.sha256((ENRON / "edges.csv").read_bytes()).hexdigest()
    data = messages(*load_edges(ENRON))
    # The file is read, never rewritten: its 174 bogus 1979 rows are set aside in memory.
    assert hashlib.sha256((ENRON / "edges.csv").read_bytes()).hexdigest() == digest
    return data


@pytest.fixture(scope="module")
def summary(mail):
    started = time.perf_counter()
    egos = [e for e in development_egos(range(184)) if e % 2 == 1]
    result = run(development_mail(mail), egos, default_dates(mail)).summary()
    result["seconds"] = time.perf_counter() - started
    print(
        f"\nEnron backtest: {result['egos']} employees, {result['snapshots']} snapshots, "
        f"{result['rows']} tie-months, base rate {result['base_rate']:.3f}, {result['seconds']:.1f}s"
    )
    print(f"AUC strength {result['auc_strength']:.3f}   AUC recency alone {result['auc_recency']:.3f}")
    print(format_calibration(result["calibration"]))
    print(
        f"two-way contact in the next 90 days: cooling {result['future_contact_cooling']:.3f} "
        f"({result['cooling_flagged']} flagged), comparable not flagged "
        f"{result['future_contact_eligible_not_flagged']:.3f}, all not flagged "
        f"{result['future_contact_not_flagged']:.3f}"
    )
    return result


def test_dirty_rows_are_handled(mail):
    """Given 174 rows dated 1979, then they are counted and set aside; rows sharing sender
    and time are one message."""
    assert mail.invalid_rows == 174
    assert 15_000 < len(mail) < 40_000
    assert mail.time.min() >= 883_612_800  # 1998-01-01


def test_strength_predicts_two_way_contact(summary):
    assert summary["egos"] >= 50 and summary["rows"] > 10_000  # a fifth of the people are in the lockbox
    assert summary["auc_strength"] >= 0.85
    assert summary["auc_strength"] > summary["auc_recency"]


def test_calibration_is_reported_and_sane(summary):
    """The weekly probability the model claims tracks the weeks that followed (within 0.05
    where most ties are; the top bins are reported, the end of Enron drifts)."""
    for name, n, pred, observed, _ in summary["calibration"]:
        if n >= 1000:
            assert abs(pred - observed) < 0.05, name


def test_cooling_ties_go_quiet(summary):
    assert summary["cooling_flagged"] >= 50
    assert summary["future_contact_cooling"] <= 0.5 * summary["future_contact_eligible_not_flagged"]


def test_backtest_is_fast(summary):
    assert summary["seconds"] < 90


@pytest.fixture(scope="module")
def flag_rows(mail):
    from analytics.flag_study import development_rows

    return development_rows(mail)


def test_shown_flags_clear_their_bars_on_development_mail(flag_rows):
    """Issue 15, item 3, on all 108 development people x 19 months (analytics/flag_study.py):
    active ties flagged cooling are in two-way touch at most half as often as active
    unflagged ones; ties flagged dormant revive at most a fifth as often as the average tie,
    on enough flags to measure; and the gate's shipped figures are these measurements."""
    from analytics import flag_gate
    from analytics.flag_study import measure_cooling, measure_dormant

    rows, _ = flag_rows
    cooling = measure_cooling(rows, rows.col["cooling"].astype(bool), n_boot=20)
    dormant = measure_dormant(rows, rows.col["dormant"].astype(bool), n_boot=20)
    print(f"\ncooling ratio {cooling.estimate:.3f} on {cooling.flagged} active flagged")
    print(f"dormant: {dormant.revived} revived of {dormant.expected:.1f} expected, {dormant.flagged} flagged")
    assert cooling.flagged >= flag_gate.MIN_FLAGGED and cooling.estimate <= 0.5
    assert dormant.flagged >= flag_gate.MIN_FLAGGED and dormant.expected >= flag_gate.MIN_EXPECTED
    assert dormant.estimate <= 0.2
    shipped_c, shipped_d = flag_gate.MEASURED["cooling"], flag_gate.MEASURED["dormant"]
    assert shipped_c.flagged == cooling.flagged and abs(shipped_c.estimate - cooling.estimate) < 0.0005
    assert shipped_d.flagged == dormant.flagged and abs(shipped_d.estimate - dormant.estimate) < 0.0005
    assert shipped_d.expected is not None and abs(shipped_d.expected - dormant.expected) < 0.05


def test_the_rate_test_alone_would_miss_the_bar(flag_rows):
    """The reason for the silence in `cooling`: the rate test alone misses the bar, so the
    gate would hide it (the test fails if that changes, and the criterion should be revisited)."""
    from analytics.flag_gate import Evidence, shown
    from analytics.flag_study import measure_cooling

    rows, _ = flag_rows
    m = measure_cooling(rows, rows.col["rate_drop"].astype(bool), n_boot=0)
    print(f"\nrate test alone: cooling ratio {m.estimate:.3f} on {m.flagged} active flagged")
    assert m.estimate > 0.5
    assert not shown("cooling", {"cooling": Evidence(0.5, m.estimate, m.low, m.high, m.flagged)})
