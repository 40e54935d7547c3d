"""The yardstick's structure: baselines present, lockbox excluded, grouped cross-validation.

Structural properties only (the issue's performance goals are reported by
`python -m analytics.backtest`, not asserted here). The lockbox rules are checked on small
synthetic mail, so they hold without the corpus; one small run (6 egos, 3 dates) on the
real Enron data checks the rest when the data is present (KITH_ENRON_DIR or ../shared).
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from analytics import lockbox as lb
from analytics.backtest import load_edges, messages, sample_egos
from analytics.ceiling import oracles, rows as ceiling_rows, table as ceiling_table
from analytics.scorecard import calibrated_ece, summarise, table
from analytics.timeline import HORIZON, timeline
from analytics.yardstick import METHODS, Study, fold_of
from tests.conftest import ENRON

DATA = Path(os.environ.get("KITH_ENRON_DIR", ENRON))


ENRON_END = datetime(2002, 4, 1, tzinfo=timezone.utc).timestamp()
ENRON_LOCKBOX = datetime(2002, 1, 1, tzinfo=timezone.utc).timestamp()


def synthetic_mail(seed: int = 3):
    """Ten people writing to each other from 2000 to March 2002, and a few stray messages
    in April 2002 (as Enron's corpus has): its lockbox months are January to March 2002."""
    rng = np.random.default_rng(seed)
    n = 4000
    start = datetime(2000, 1, 1, tzinfo=timezone.utc).timestamp()
    t = np.sort(np.r_[rng.uniform(start, ENRON_END, n - 5), rng.uniform(ENRON_END, ENRON_END + 20 * 86400, 5)])
    s = rng.integers(0, 10, n)
    r = (s + rng.integers(1, 10, n)) % 10
    return messages(s, r, t)


def test_lockbox_people_are_a_fixed_fifth():
    """Given the 184 employees, then the lockbox holds the same hashed fifth every time,
    and development and lockbox people partition them."""
    box = lb.lockbox_egos(range(184))
    assert box[:10] == [1, 2, 6, 7, 9, 13, 14, 16, 23, 30] and len(box) == 39
    assert sorted(box + lb.development_egos(range(184))) == list(range(184))


def test_development_mail_holds_no_lockbox_month():
    """Given mail running past the lockbox start, when it goes through development_mail,
    then nothing at or after the lockbox start is left and earlier messages keep their recipients."""
    mail = synthetic_mail()
    dev = lb.development_mail(mail)
    assert timeline(mail).lockbox_start == timeline(dev).lockbox_start == ENRON_LOCKBOX
    assert mail.time.max() >= ENRON_LOCKBOX > dev.time.max()
    early = mail.time < ENRON_LOCKBOX
    assert len(dev) == int(early.sum())
    i = int(np.flatnonzero(early)[-1])
    assert np.array_equal(
        dev.recipients[dev.offsets[-2] : dev.offsets[-1]], mail.recipients[mail.offsets[i] : mail.offsets[i + 1]]
    )


@pytest.mark.parametrize("case", ["ego", "date", "mail"])
def test_evaluation_refuses_the_lockbox_unless_asked(case):
    """Given a lockbox employee, a date whose outcome reaches the lockbox months, or mail
    that still holds them, then a Study refuses; with lockbox=True the check passes."""
    mail = lb.development_mail(synthetic_mail())
    egos, dates = [3], timeline(mail).development_dates()[-2:]
    if case == "ego":
        egos = [1]
    elif case == "date":
        dates = [ENRON_LOCKBOX - HORIZON + 86400]
    else:
        mail = synthetic_mail()
    with pytest.raises(lb.LockboxError):
        Study(mail, egos, dates)
    lb.check_development(mail, egos, dates, HORIZON, lockbox=True)


def test_prior_egos_cannot_smuggle_the_lockbox_in():
    mail = lb.development_mail(synthetic_mail())
    with pytest.raises(lb.LockboxError):
        Study(mail, [3], timeline(mail).development_dates()[-2:], prior_egos=[3, 4, 6])


@pytest.fixture(scope="module")
def small_run():
    if not (DATA / "edges.csv").exists():
        pytest.skip("no Enron data")
    mail = lb.development_mail(messages(*load_edges(DATA)))
    dev = lb.development_egos(range(184))
    egos = sample_egos(mail, dev, 6)
    pool = sample_egos(mail, dev, 24, min_exchanges=20)
    study = Study(mail, egos, timeline(mail).development_dates()[-3:], prior_egos=sorted(set(pool) | set(egos)))
    scored = study.evaluate()
    return study, scored, summarise(scored, n_boot=20)


def test_every_method_is_scored_on_the_same_rows(small_run):
    """Then Kith and the three baselines each score every row, and each has a pooled AUC
    with an interval around it."""
    _, scored, summary = small_run
    assert set(scored.score) == set(METHODS) == {"kith", "recency", "decayed", "logistic"}
    for m in METHODS:
        assert len(scored.score[m]) == len(scored.label) > 100
        est, lo, hi = summary[f"auc {m}"]
        assert 0.5 < est < 1 and lo <= est <= hi
    print("\n" + table(summary))


def test_the_ceiling_of_precision_at_10_is_what_knowing_the_outcome_reaches(small_run):
    """Each snapshot of ten ties or more holds min(its ties in contact after, 10) / 10 at
    best; averaged per person, then over people, that is the most precision@10 can be, and
    no method scores above it."""
    _, scored, summary = small_run
    per_ego: dict[int, list[float]] = {}
    for snap in np.unique(scored.snapshot):
        rows = scored.snapshot == snap
        if rows.sum() >= 10:
            per_ego.setdefault(int(scored.ego[rows][0]), []).append(min(int(scored.label[rows].sum()), 10) / 10)
    ceiling = float(np.mean([np.mean(v) for v in per_ego.values()]))
    assert summary["precision@10 possible"][0] == pytest.approx(ceiling)
    assert 0 < ceiling < 1
    assert all(summary[f"precision@10 {m}"][0] <= ceiling for m in METHODS)
    assert "precision@10 possible" in table(summary)


def test_the_ece_of_an_exactly_calibrated_forecast_is_its_floor_by_chance():
    """Given 400 rows all at 0.5, an exactly calibrated forecast's ECE is |observed - 0.5|,
    half-normal with sd 0.025: its median is 0.674 x 0.025; 100 times the rows, a tenth of it."""
    median, low, high = calibrated_ece(np.full(400, 0.5))
    assert 0.014 <= median <= 0.020 and low <= median <= high
    assert calibrated_ece(np.full(40_000, 0.5))[0] == pytest.approx(median / 10, rel=0.25)


def test_the_table_gives_the_ece_floor_of_its_own_rows(small_run):
    _, scored, summary = small_run
    latest = scored.date >= scored.n_dates - 3
    assert summary["ece if calibrated"] == calibrated_ece(scored.prob["kith"][latest])
    assert 0 < summary["ece if calibrated"][0] < 0.1
    assert "ece if calibrated" in table(summary)


def test_the_ceiling_gives_kith_and_each_oracle_the_goals_three_figures(small_run):
    """Kith's row of the ceiling table is the scorecard's own figures; a score that is the
    outcome itself reaches AUC 1, every person, and precision@10's ceiling; the oracles
    score every row."""
    study, scored, summary = small_run
    found = oracles(study, scored)
    assert set(found) == {"logistic", "boosting", "boosting + scores", "personal"}
    assert all(len(v) == len(scored.label) and np.isfinite(v).all() for v in found.values())
    table_rows = ceiling_rows(scored, {**found, "the outcome": scored.label.astype(float)})
    kith = table_rows[0]
    best = max(summary[f"auc {b}"][0] for b in ("recency", "decayed", "logistic"))
    assert kith[0] == "Kith" and kith[1] == pytest.approx(summary["auc kith"][0])
    assert kith[2] == pytest.approx(summary["auc kith"][0] - best)
    assert kith[3] == pytest.approx(summary["beats baselines"][0])
    assert kith[5] == pytest.approx(summary["precision@10 kith"][0] - summary["precision@10 decayed"][0])
    perfect = table_rows[-1]
    assert perfect[1] == 1.0 and perfect[3] == 1.0
    assert perfect[4] == pytest.approx(summary["precision@10 possible"][0])
    text = ceiling_table(scored, table_rows)
    assert "not deployable" in text and "boosting + scores" in text


def test_the_personal_oracle_keeps_one_scale_where_a_person_cannot_be_fitted():
    """Person 2 was in contact only at the first date, so at that date their other dates hold
    no contact and no model of theirs can be fitted: those rows keep the pooled chance, as
    log-odds like everyone else's, not as a chance."""
    from analytics.ceiling import _personal

    rng = np.random.default_rng(3)
    ego = np.repeat([1, 2], 40)
    date = np.tile(np.repeat([0, 1, 2, 3], 10), 2)
    X = rng.normal(size=(80, 3))
    y = np.where(ego == 1, (X[:, 0] + rng.normal(size=80)) > 0, False).astype(int)
    y[(ego == 2) & (date == 0)] = 1  # person 2 has contact only at date 0
    base = np.full(80, 0.2)
    out = _personal(base, X, y, ego, date)
    fallback = (ego == 2) & (date == 0)
    assert np.allclose(out[fallback], np.log(0.2 / 0.8))
    assert not np.allclose(out[ego == 1], np.log(0.2 / 0.8))  # person 1's own fit moved them


def test_no_ego_is_scored_with_a_model_fitted_on_its_own_mail(small_run):
    """Grouped cross-validation: the prior and the logistic baseline an ego is scored with
    were fitted on other people only, and on people of other folds."""
    study, scored, _ = small_run
    for ego, trained in scored.trained_on.items():
        assert ego not in trained and trained
        assert all(fold_of(e) != fold_of(ego) for e in trained)
    assert set(scored.trained_on) == {d.ego for d in study.data}


def test_development_run_never_sees_a_lockbox_ego_or_month(small_run):
    study, scored, _ = small_run
    assert not lb.lockbox_egos(np.unique(scored.ego)) and not lb.lockbox_egos(study.pool)
    assert max(study.dates) + HORIZON <= timeline(study.mail).lockbox_start == ENRON_LOCKBOX


@pytest.fixture(scope="module")
def development_summary():
    """The yardstick on the 30 development egos at the ten monthly dates (the lockbox apart)."""
    if not (DATA / "edges.csv").exists():
        pytest.skip("no Enron data")
    mail = lb.development_mail(messages(*load_edges(DATA)))
    dev = lb.development_egos(range(184))
    egos = sample_egos(mail, dev, 30)
    study = Study(
        mail, egos, timeline(mail).development_dates(), prior_egos=sample_egos(mail, dev, 184, min_exchanges=20)
    )
    summary = summarise(study.evaluate(), n_boot=20)
    print("\n" + table(summary))
    return summary


@pytest.mark.slow
def test_development_figures_hold_what_was_reached(development_summary):
    """Given the 30 development egos at the ten monthly dates (the lockbox apart), when the
    yardstick runs, then Kith's figures are at least those reached for issue 15 (see
    analytics/STATUS.md): ECE <= 0.03 on the latest three months (goal met), cooling (the
    rate test and silent > 8x the tie's rhythm and >= 60 days) at most half the future
    contact of comparable ties (goal met), and a pooled AUC above every baseline's, with the
    pooled and per-person AUC reached once the prior read recency and network overlap and
    the blend weight was chosen on the user's newest snapshots (0.890 and 0.884; were 0.877
    and 0.868, and the plain logistic's 0.885 was above Kith's), and once the user's own
    model had to show evidence on those snapshots to enter the blend (0.893 and 0.885,
    session 11). The issue's margin goals (AUC 0.02 above the best baseline, precision@10
    0.03 above the decayed count) are not reached: test_issue_15_margin_goals holds them
    as an expected failure. Dormant is measured on more people in test_enron_backtest.py."""
    summary = development_summary
    assert summary["ece kith"][0] <= 0.03
    # and since session 15 (a tie's weeks go together; the 90-day chance calibrated on
    # 90-day touch): ECE 0.011 (was 0.021), strength's own ECE 0.009 against the logistic's 0.015
    assert summary["ece kith"][0] <= 0.02
    assert (
        summary["strength ece kith"][0] <= 0.015
        and summary["strength ece kith"][0] < summary["strength ece logistic"][0]
    )
    assert summary["cooling ratio"][0] <= 0.5 and summary["_counts"]["cooling flagged (active)"] >= 50
    assert summary["auc kith"][0] >= summary["auc recency"][0] + 0.02
    assert all(summary["auc kith"][0] > summary[f"auc {b}"][0] for b in ("recency", "decayed", "logistic"))
    assert summary["auc kith"][0] >= 0.890
    assert summary["person auc kith"][0] >= 0.880


@pytest.mark.slow
@pytest.mark.xfail(
    strict=True,
    reason="issue 15's margin goals are not reached: pooled AUC 0.893 against the best baseline's 0.885 "
    "(goal +0.02), 7% of people 0.02 above their best baseline (goal 70%), precision@10 0.304 against "
    "the decayed count's 0.302 (goal +0.03); analytics/STATUS.md, sessions 10 and 11",
)
def test_issue_15_margin_goals(development_summary):
    """Issue 15's goals on the development yardstick: Kith's AUC at least 0.02 above the best
    of the three baselines, pooled and for at least 70% of the people, and its precision of
    each person's ten strongest ties at least 0.03 above the decayed count's. Expected to
    fail until they are reached; strict, so reaching them fails the marker, not the goal."""
    summary = development_summary
    best = max(summary[f"auc {b}"][0] for b in ("recency", "decayed", "logistic"))
    assert summary["auc kith"][0] >= best + 0.02
    assert summary["beats baselines"][0] >= 0.7
    assert summary["precision@10 kith"][0] >= summary["precision@10 decayed"][0] + 0.03


def young_summary(days: int) -> dict:
    """The yardstick on the 30 development egos with only the last `days` of mail visible
    at each date (a mailbox that young: no snapshot of its own fits, so strength is the
    prior's, through its young calibration)."""
    if not (DATA / "edges.csv").exists():
        pytest.skip("no Enron data")
    from analytics.frame import DAY

    mail = lb.development_mail(messages(*load_edges(DATA)))
    dev = lb.development_egos(range(184))
    pool = sample_egos(mail, dev, 184, min_exchanges=20)
    dates = timeline(mail).development_dates()
    study = Study(mail, sample_egos(mail, dev, 30), dates, prior_egos=pool, history=days * DAY)
    return summarise(study.evaluate(), n_boot=20)


@pytest.mark.slow
def test_a_young_mailbox_is_calibrated_and_ranked_above_the_baselines():
    """Given the 30 development egos with 90 days of mail visible at each date, when the
    yardstick runs, then the ECE of the latest three months meets issue 15's goal (<= 0.03;
    0.029 reached in session 10, was 0.033; 0.024 once the young curve read the mailbox's
    age, session 12; 0.022 with session 15's 90-day calibration) and Kith ranks above every baseline (0.862 against the logistic's 0.859)."""
    summary = young_summary(90)
    assert summary["ece kith"][0] <= 0.03
    assert all(summary["auc kith"][0] > summary[f"auc {b}"][0] for b in ("recency", "decayed", "logistic"))


@pytest.mark.slow
def test_a_mailbox_of_a_few_weeks_is_calibrated_for_its_age():
    """Given the 30 development egos with only the last 30 days of mail visible, as a first
    sync's newest month or a mailbox that keeps 30 days, the young calibration reads that
    age: the ECE of the latest three months was 0.084 with one curve for every young
    mailbox and is 0.038 with the age read (session 12; 0.041 with session 15's 90-day
    chance, which such a mailbox takes from the prior; the goal of 0.03 is not reached at
    this age), and Kith still ranks above every baseline (0.818 against the logistic's 0.803)."""
    summary = young_summary(30)
    assert summary["ece kith"][0] <= 0.045
    assert all(summary["auc kith"][0] > summary[f"auc {b}"][0] for b in ("recency", "decayed", "logistic"))


@pytest.mark.slow
def test_calibration_survives_the_drift_of_2000():
    """Given the development people at the first of each month from July to December 2000
    (`--period earlier --egos 108`: mail rising month on month and mailboxes a few months
    old, so the level of each user's newest snapshots trails what comes), when the yardstick
    runs, then the ECE of the latest three months meets issue 15's goal of 0.03, and is below
    the plain logistic's. It was 0.041 (Kith and the logistic alike, session 11), 0.030 with
    session 15's 90-day calibration and 0.023 once the user's correction of it was held by 2
    rows' worth, not 5 (model.TOUCH_PULLS, session 16)."""
    if not (DATA / "edges.csv").exists():
        pytest.skip("no Enron data")
    mail = lb.development_mail(messages(*load_edges(DATA)))
    dev = lb.development_egos(range(184))
    study = Study(
        mail,
        sample_egos(mail, dev, 108),
        timeline(mail).earlier_dates(),
        prior_egos=sample_egos(mail, dev, 184, min_exchanges=20),
    )
    summary = summarise(study.evaluate(), n_boot=20)
    print("\n" + table(summary))
    assert summary["ece kith"][0] <= 0.03
    assert summary["ece kith"][0] <= 0.026  # the figure reached (0.023), not the pull of 5's 0.030
    assert summary["ece kith"][0] < summary["ece logistic"][0]


def studied(monkeypatch, *argvs: list[str]) -> list[tuple[list[int], list[float]]]:
    """The egos and dates `analytics.backtest` would hand the Study for each command line
    (the Study is stopped before it collects anything)."""
    if not (DATA / "edges.csv").exists():
        pytest.skip("no Enron data")
    import analytics.backtest as backtest
    import analytics.yardstick as yardstick

    seen: list[tuple[list[int], list[float]]] = []

    class Stop(Exception):
        pass

    def study(mail, egos, dates, **kwargs):
        seen.append((list(egos), list(dates)))
        raise Stop

    monkeypatch.setattr(yardstick, "Study", study)
    for argv in argvs:
        with pytest.raises(Stop):
            backtest.main(["--data", str(DATA), *argv])
    return seen


def test_skip_takes_the_next_people_of_the_fixed_order(monkeypatch):
    """Given `--skip 30 --egos 4`, the yardstick runs on the 31st to 34th development people
    of the fixed hashed order: another sample than the default 30, none of them in it."""
    (first, _), (other, _) = studied(monkeypatch, ["--egos", "30"], ["--skip", "30", "--egos", "4"])
    mail = lb.development_mail(messages(*load_edges(DATA)))
    assert other == sample_egos(mail, lb.development_egos(range(184)), 34)[30:]
    assert len(other) == 4 and not set(other) & set(first)


def test_period_earlier_scores_the_second_half_of_2000(monkeypatch):
    """Given `--period earlier`, the yardstick scores Enron at the first of each month from
    July to December 2000, all before the default dates (January to October 2001) and every
    outcome window before the lockbox."""
    (_, default), (_, early) = studied(monkeypatch, [], ["--period", "earlier"])
    months = [datetime.fromtimestamp(d, timezone.utc) for d in early]
    assert [(m.year, m.month, m.day) for m in months] == [(2000, m, 1) for m in range(7, 13)]
    months = [datetime.fromtimestamp(d, timezone.utc) for d in default]
    assert [(m.year, m.month, m.day) for m in months] == [(2001, m, 1) for m in range(1, 11)]
    assert max(early) < min(default) and max(default) + HORIZON <= ENRON_LOCKBOX


def test_the_people_are_counted_from_the_mail_not_assumed():
    """Given mail in the corpus's form from another organisation (here 300 people, the
    highest id only ever a recipient), the yardstick's tools take every id it names as a
    person, and Enron's edition names its 184."""
    from analytics.corpus import people

    other = messages([0, 5, 120], [7, 299, 3], [1e9, 1e9 + 60, 1e9 + 120])
    assert people(other) == range(300)
    assert people(messages([], [], [])) == range(0)
    if (DATA / "edges.csv").exists():
        assert people(messages(*load_edges(DATA))) == range(184)


def test_the_yardstick_replays_the_deployments_flag_gate_at_each_date():
    """The service's gate (service/ties/flag_pool.py) replayed on the run's people: at each
    date, the checks kept in the POOL_DAYS before it (each the flags of a month, counted
    once its 90-day outcome has ended), summed per person and pooled; with too little, the
    shipped constant decides. Given ten people, one cooling flag each a month, back in
    touch after in January to March (twice the rate of their clear ties) and quiet from
    April on, then cooling is hidden from 1 June to 1 October and shown again once the
    window holds mostly quiet months."""
    from analytics.flag_gate import MIN_FLAGGED, POOL_DAYS, Counts
    from analytics.yardstick import Scored, check_moments, gate_by_date

    def utc(y: int, m: int) -> float:
        return datetime(y, m, 1, tzinfo=timezone.utc).timestamp()

    dates = [utc(2001, m) for m in range(4, 13)]
    moments = check_moments(dates)
    # the months some date's window holds: (1 Apr - 180 - 90 days, 1 Dec - 90 days]
    assert moments[0] == utc(2000, 8) and moments[-1] == utc(2001, 9) and len(moments) == 14
    fails, clears = Counts(1, 1, 10, 5), Counts(1, 0, 10, 5)
    checks = {e: {utc(2001, m): fails if m <= 3 else clears for m in range(1, 10)} for e in range(10)}
    assert 10 < MIN_FLAGGED <= 20 and POOL_DAYS == 180
    shown = gate_by_date(checks, dates)
    # 1 Apr and 1 May: January's flags only (February's outcome ends on 2 May): 10, too few.
    # 1 Jun to 1 Sep: January to March, then April to June added: 3 of 3 to 3 of 6 back, 2.0 to 1.0.
    # 1 Oct: February to July, 2 of 6 back, 0.67. 1 Nov: March to August, 0.33. 1 Dec: none back.
    assert shown["cooling"].tolist() == [True, True, False, False, False, False, False, True, True]
    assert shown["dormant"].all()  # nothing flagged dormant: the shipped constant decides
    # The scorecard counts only the flags shown at their dates
    egos, per = 10, 6  # rows per person and date: 3 cooling (2 back), 3 clear (2 back)
    ego = np.repeat(np.arange(egos), len(dates) * per)
    date = np.tile(np.repeat(np.arange(len(dates)), per), egos)
    cooling = np.tile(np.array([1, 1, 1, 0, 0, 0], bool), egos * len(dates))
    label = np.tile(np.array([1, 1, 0, 1, 1, 0], bool), egos * len(dates))
    s = Scored(
        ego=ego,
        snapshot=ego * len(dates) + date,
        date=date,
        label=label,
        active=np.ones(len(ego), bool),
        cooling=cooling,
        dormant=np.zeros(len(ego), bool),
        rate_drop=cooling,
        score={m: label.astype(float) for m in METHODS},
        prob={"kith": np.full(len(ego), 0.5)},
        n_dates=len(dates),
        shown=shown,
    )
    summary = summarise(s, n_boot=5)
    assert summary["_counts"]["cooling flagged (active)"] == 270
    assert summary["_counts"]["cooling shown (active)"] == 120
    assert summary["_counts"]["cooling shown at dates"] == "4/9"
    assert summary["cooling ratio"][0] == pytest.approx(1.0) == summary["cooling criterion ratio"][0]
    # Had the gate shown nothing, there would be no ratio to report
    hidden = Scored(**{**s.__dict__, "shown": {"cooling": np.zeros(len(dates), bool), "dormant": shown["dormant"]}})
    assert np.isnan(summarise(hidden, n_boot=5)["cooling ratio"][0])


def test_the_yardsticks_checks_count_the_raw_flags_against_the_90_days_after():
    """flag_checks (the replay's pool; the service keeps the same flag_gate.counts_at).
    Given an organisation where the ego's tie with person 5 ran every three days and
    stopped in December 2016, then on 1 March 2017 that tie is counted cooling and quiet
    since, as the accuracy check (evidence.measure) calls it too."""
    from analytics.corpus import ego_exchanges, messages
    from analytics.evidence import measure
    from analytics.yardstick import flag_checks
    from tests.unit.test_timeline import organisation, utc

    s, r, t = organisation()
    beat = np.arange(utc(2015, 4), utc(2016, 12, 20), 3 * 86400.0)
    n = len(beat)
    mail = messages(
        np.r_[s, np.zeros(n, int), np.full(n, 5)],
        np.r_[r, np.full(n, 5), np.zeros(n, int)],
        np.r_[t, beat, beat + 3600],
    )
    moment = utc(2017, 3)
    exchanges = ego_exchanges(mail, 0)
    called = measure(exchanges, exchanges, moment, moment + HORIZON)
    assert called.called_cooling == 1
    kept = flag_checks(mail, [0], [moment])[0][moment]
    assert (kept.cooling, kept.cooling_touched, kept.clear, kept.clear_touched) == (1, 0, 13, 13)
