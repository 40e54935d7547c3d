"""The yardstick's calendar comes from the mail: another organisation's corpus, or the same
corpus moved in time, is scored over its own months (analytics/timeline.py)."""

from __future__ import annotations

import csv
import json
import os
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest

from analytics import lockbox as lb
from analytics.corpus import load_edges, messages, sample_egos
from analytics.timeline import HORIZON, Timeline, timeline
from analytics.yardstick import METHODS, Study, fold_of
from tests.conftest import ENRON

DATA = Path(os.environ.get("KITH_ENRON_DIR", ENRON))
DAY = 86400.0
# 28 years (7 leap days): the Gregorian calendar repeats, weekdays and leap years included.
TWENTY_EIGHT_YEARS = 10_227 * DAY


def utc(y: int, m: int, d: int = 1) -> float:
    return datetime(y, m, d, tzinfo=timezone.utc).timestamp()


def days(ts: list[float]) -> list[tuple[int, int, int]]:
    return [(x.year, x.month, x.day) for x in (datetime.fromtimestamp(t, timezone.utc) for t in ts)]


def organisation(seed: int = 5, people: int = 16, n: int = 9000, start=(2015, 3), end=(2018, 2)):
    """A small organisation's mail, steady from `start` to the end of the month before
    `end`, each person writing mostly to a few colleagues who often answer."""
    rng = np.random.default_rng(seed)
    t0, t1 = utc(*start), utc(*end)
    senders, recipients, times = [], [], []
    colleagues = {p: rng.choice([q for q in range(people) if q != p], 4, replace=False) for p in range(people)}
    for _ in range(n):
        s = int(rng.integers(people))
        r = int(rng.choice(colleagues[s])) if rng.random() < 0.8 else int((s + rng.integers(1, people)) % people)
        t = float(rng.uniform(t0, t1 - 3 * DAY))
        senders.append(s)
        recipients.append(r)
        times.append(t)
        if rng.random() < 0.5:  # an answer within three days
            senders.append(r)
            recipients.append(s)
            times.append(t + float(rng.uniform(600, 3 * DAY)))
    return np.array(senders), np.array(recipients), np.array(times)


def test_the_span_leaves_out_sparse_and_stray_months():
    """Given steady mail from March 2015 to January 2018, three messages dated 1990, a
    sparse May 2014 and two stray messages in 2031, then the span runs March 2015 to
    February 2018: the lockbox months are November 2017 to January 2018, the development
    dates the ten months whose 90-day outcomes end before them, and the earlier dates the
    six months before those."""
    s, r, t = organisation()
    extra = [utc(1990, 6, 3), utc(1990, 6, 4), utc(1990, 7, 1), utc(2014, 5, 2), utc(2031, 1, 5), utc(2031, 2, 5)]
    mail = messages(np.r_[s, [1] * 6], np.r_[r, [2] * 6], np.r_[t, extra])
    span = timeline(mail)
    assert (span.start, span.end, span.lockbox_start) == (utc(2015, 3), utc(2018, 2), utc(2017, 11))
    assert days(span.development_dates()) == [(2016, m, 1) for m in range(11, 13)] + [(2017, m, 1) for m in range(1, 9)]
    assert days(span.earlier_dates()) == [(2016, m, 1) for m in range(5, 11)]
    assert days(span.lockbox_dates()) == [(2017, 9, 1), (2017, 10, 1), (2017, 11, 1)]
    assert all(d + HORIZON <= span.lockbox_start for d in span.development_dates())
    assert all(d + HORIZON <= span.end for d in span.lockbox_dates())
    # A cut keeps the corpus's timeline, so development mail keeps its lockbox months.
    assert timeline(lb.development_mail(mail)) == span


def test_too_short_a_corpus_has_no_scoring_date_and_says_why(tmp_path):
    """Given five months of mail, then no date has 90 days of history and a 90-day outcome
    after it, and the backtest stops with the reason."""
    from analytics.backtest import main

    short = Timeline(utc(2020, 1), utc(2020, 6))
    assert short.development_dates() == [] and short.earlier_dates() == [] and short.lockbox_dates() == []
    assert short.short_dates() == [] and not short.has_lockbox
    with pytest.raises(ValueError, match="spans 5 months"):
        _ = short.prior_cutoff
    with pytest.raises(SystemExit, match="spans 5 months; the yardstick needs at least 6 "):
        main(["--data", str(write_corpus(tmp_path, *organisation(end=(2015, 8))))])


def test_a_corpus_under_a_year_has_no_lockbox_and_is_scored_at_its_short_dates():
    """Given eight months of mail, then no date has 180 days of history, a 90-day outcome
    and three lockbox months after it: the corpus has no lockbox, and its short dates are
    the months with 90 days of mail before them and their outcome inside the span."""
    short = Timeline(utc(2020, 1), utc(2020, 9))
    assert short.development_dates() == [] and not short.has_lockbox
    assert short.lockbox_start == short.end
    assert days(short.short_dates()) == [(2020, 4, 1), (2020, 5, 1), (2020, 6, 1)]
    assert all(d - short.start >= 90 * DAY and d + HORIZON <= short.end for d in short.short_dates())
    # A corpus long enough for a lockbox has no short dates: its development dates serve.
    long = Timeline(utc(2020, 1), utc(2021, 1))
    assert long.has_lockbox and long.short_dates() == [] and long.lockbox_start == utc(2020, 10)
    # Without a lockbox nothing is refused: every person and month may be scored.
    mail = messages(*organisation(end=(2015, 11)))
    assert not timeline(mail).has_lockbox
    lb.check_development(mail, lb.lockbox_egos(range(16)), timeline(mail).short_dates(), HORIZON)


def test_a_short_corpus_is_scored_whole_with_the_shipped_prior(tmp_path, capsys):
    """Given another organisation's eight months of mail, when the backtest runs on it,
    then it says why there is no lockbox, scores every person (the lockbox ids among them)
    at the short dates with the shipped prior, and reports Kith against the three
    baselines; asking for the lockbox is refused with the reason."""
    from analytics.backtest import main

    folder = write_corpus(tmp_path, *organisation(end=(2015, 11)))
    assert main(["--data", str(folder), "--egos", "16", "--boot", "10"]) == 0
    out = capsys.readouterr().out
    assert "the mail spans 8 months (2015-03-01 to 2015-11-01): too short for a lockbox" in out
    assert "(the whole span)" in out
    assert "16 egos, 3 dates (2015-06-01 to 2015-08-01)" in out
    assert "Kith's prior: the shipped one (fitted on enron-igraph, 71 people, labels before 2001-04-01)" in out
    lines = out.splitlines()
    assert next(line for line in lines if "kith" in line and "logistic" in line).split() == list(METHODS)
    auc = next(line for line in lines if line.startswith("auc "))
    values = [float(v) for v in auc.split()[1::3]]
    assert len(values) == 4 and all(0.5 < v <= 1 for v in values)
    with pytest.raises(SystemExit, match="this corpus has no lockbox: the mail spans 8 months"):
        main(["--data", str(folder), "--lockbox"])
    with pytest.raises(SystemExit, match="development dates, earlier dates and the lockbox need at least 12"):
        main(["--data", str(folder), "--period", "earlier"])
    with pytest.raises(SystemExit, match=r"--signals refits Kith's prior .* this corpus is too short for them"):
        main(["--data", str(folder), "--signals"])


@pytest.mark.parametrize("tool", ["prior", "flag_study", "awaiting_study", "model_study"])
def test_the_development_tools_refuse_a_corpus_without_a_lockbox_with_the_reason(tool, tmp_path):
    """Given eight months of mail, then the tools that fit or tune on development dates
    stop with the reason, not a traceback (and the prior writes nothing)."""
    import importlib

    from analytics.model import PRIOR_PATH

    before = PRIOR_PATH.read_bytes()
    folder = write_corpus(tmp_path, *organisation(end=(2015, 11)))
    main = importlib.import_module(f"analytics.{tool}").main
    with pytest.raises(SystemExit, match="the mail spans 8 months; development dates, earlier dates and the lockbox"):
        main(["--data", str(folder)])
    assert PRIOR_PATH.read_bytes() == before


def test_a_fixed_prior_serves_every_fold_and_the_logistic_still_learns_from_other_folds():
    """Given a Study with the shipped prior, then every ego is scored with that prior (its
    young calibration included) and the logistic baseline was fitted on people of other
    folds only, whose labels end where the Study was told (the span's end)."""
    from analytics.model import PRIOR_PATH

    mail = messages(*organisation(end=(2015, 11)))
    span = timeline(mail)
    spec = json.loads(PRIOR_PATH.read_text())
    study = Study(
        mail, list(range(16)), span.short_dates(), prior_egos=list(range(16)), prior=spec, pooled_until=span.end
    )
    priors, _ = study.fold_models(tuple(spec["features"]))
    assert priors and all(p is spec for p in priors.values())
    scored = study.evaluate(tuple(spec["features"]))
    for ego, trained in scored.trained_on.items():
        assert trained and ego not in trained and all(fold_of(e) != fold_of(ego) for e in trained)
    # The pool's labels end by the span's end, not before the first date (which leaves none).
    assert all(ts.time.max() < span.end for ts in study.pool.values())
    assert not Study(mail, [0, 3], span.short_dates(), prior_egos=list(range(16)), prior=spec).pool
    with pytest.raises(ValueError, match="other features"):
        study.evaluate(tuple(spec["features"])[:-1])


def write_corpus(folder: Path, s, r, t) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "edges.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sender_id", "recipient_id", "time", "recipient_type", "topic"])
        for a, b, x in zip(s.tolist(), r.tolist(), t.tolist()):
            w.writerow([a, b, datetime.fromtimestamp(int(x), timezone.utc).strftime("%Y-%m-%d %H:%M:%S"), "to", 0])
    return folder


def test_another_organisation_is_scored_over_its_own_months(tmp_path, capsys):
    """Given another organisation's mail in the corpus's form (16 people, March 2015 to
    January 2018), when the backtest runs on it, then it scores that organisation's own
    development dates, keeps its own last three months as the lockbox, and reports Kith
    against the three baselines."""
    from analytics.backtest import main

    folder = write_corpus(tmp_path, *organisation())
    assert main(["--data", str(folder), "--egos", "4", "--dates", "2", "--boot", "10"]) == 0
    out = capsys.readouterr().out
    assert "before the lockbox months, 2017-11-01 to 2018-02-01" in out
    assert "2 dates (2017-07-01 to 2017-08-01)" in out
    assert "4 egos" in out
    lines = out.splitlines()
    header = next(line for line in lines if "kith" in line and "logistic" in line)
    assert header.split() == ["kith", "recency", "decayed", "logistic"]
    auc = next(line for line in lines if line.startswith("auc "))
    values = [float(v) for v in auc.split()[1::3]]
    assert len(values) == 4 and all(0.5 < v <= 1 for v in values)


def test_enron_keeps_the_calendar_its_lockbox_was_set_aside_with():
    """Given the Enron edition, then its span is May 1999 to March 2002 and the dates are
    the ones every earlier figure was measured on: development January to October 2001,
    earlier July to December 2000, lockbox months January to March 2002, lockbox dates
    November 2001 to January 2002, the shipped prior's cutoff 1 April 2001, and the flag
    study's 19 months April 2000 to October 2001 in its slices 2000, 2001 H1, 2001 H2."""
    from analytics.flag_study import Rows, slices, study_dates

    if not (DATA / "edges.csv").exists():
        pytest.skip("no Enron data")
    mail = messages(*load_edges(DATA))
    span = timeline(mail)
    assert (span.start, span.end, span.lockbox_start) == (utc(1999, 5), utc(2002, 4), utc(2002, 1))
    assert days(span.development_dates()) == [(2001, m, 1) for m in range(1, 11)]
    assert days(span.earlier_dates()) == [(2000, m, 1) for m in range(7, 13)]
    assert days(span.lockbox_dates()) == [(2001, 11, 1), (2001, 12, 1), (2002, 1, 1)]
    assert span.prior_cutoff == utc(2001, 4)
    flags = study_dates(mail)
    assert days(flags) == [(2000, m, 1) for m in range(4, 13)] + [(2001, m, 1) for m in range(1, 11)]
    cuts = slices(Rows(np.zeros(19), np.arange(19), np.zeros(19, bool), np.zeros(19, bool), {}), flags)
    assert list(cuts)[:3] == ["2000 Apr-Dec", "2001 Jan-Jun", "2001 Jul-Oct"]
    assert [int(v.sum()) for v in list(cuts.values())[:3]] == [9, 6, 4]


@pytest.mark.slow
def test_enron_moved_28_years_is_scored_the_same():
    """Given Enron's mail moved 28 years later (the calendar repeats: the same weekdays and
    leap years), then its dates move by the same 28 years and the yardstick gives every
    method the same scores on the same rows: nothing in it depends on the year."""
    if not (DATA / "edges.csv").exists():
        pytest.skip("no Enron data")
    from analytics.corpus import VALID_FROM

    s, r, t = load_edges(DATA)
    scored = []
    for shift in (0.0, TWENTY_EIGHT_YEARS):
        everything = messages(s, r, np.where(t >= VALID_FROM, t + shift, t))
        span = timeline(everything)
        mail = lb.development_mail(everything)
        dev = lb.development_egos(range(184))
        egos, pool = sample_egos(mail, dev, 3), sample_egos(mail, dev, 20, min_exchanges=20)
        dates = span.development_dates()[-2:]
        assert dates == [d + shift for d in timeline(messages(s, r, t)).development_dates()[-2:]]
        scored.append(Study(mail, egos, dates, prior_egos=sorted(set(pool) | set(egos))).evaluate())
    before, after = scored
    assert len(before.label) > 100 and np.array_equal(before.label, after.label)
    for method in ("kith", "recency", "decayed", "logistic"):
        np.testing.assert_allclose(before.score[method], after.score[method], rtol=1e-9, atol=1e-12)


def test_unreadable_rows_are_set_aside_and_the_rest_is_read(tmp_path, capsys):
    """Given a corpus file with a time carrying a zone offset, one in epoch seconds, and rows
    whose ids or time cannot be read, then the readable rows are read (an offset converted
    to UTC, not dropped) and every unreadable one is counted among the invalid rows; a file
    without the needed columns is refused with their names, and the backtest says so."""
    from analytics.backtest import main
    from analytics.corpus import load_edges

    (tmp_path / "edges.csv").write_text(
        "sender_id,recipient_id,time,recipient_type,topic\n"
        "1,2,2001-05-14 16:39:00,to,1\n"
        "2,1,2001-05-14T16:39:00-07:00,to,1\n"
        "3,1,988000000,cc,1\n"
        "x,1,2001-05-14 16:39:00,to,1\n"
        "1,-4,2001-05-14 16:39:00,to,1\n"
        "1,2,not a date,to,1\n"
        "1,2,,to,1\n"
        "1,99999999999,2001-05-14 16:39:00,to,1\n"
        "1,3\n"
    )
    s, r, t = load_edges(tmp_path)
    assert s[:3].tolist() == [1, 2, 3] and r[:3].tolist() == [2, 1, 1]
    assert t[:3].tolist() == [utc(2001, 5, 14) + 16 * 3600 + 39 * 60, utc(2001, 5, 14) + 23 * 3600 + 39 * 60, 988000000]
    mail = messages(s, r, t)
    assert len(mail) == 3 and mail.invalid_rows == 6
    (tmp_path / "edges.csv").write_text("sender_id,recipient_id,time\nx,2,2001-05-14 16:39:00\n1,2,1979-12-31\n")
    with pytest.raises(SystemExit, match=r"no row with readable ids and a valid date \(2 set aside\)"):
        main(["--data", str(tmp_path)])
    (tmp_path / "edges.csv").write_text("from,to,time\n1,2,2001-05-14 16:39:00\n")
    with pytest.raises(ValueError, match="missing: sender_id, recipient_id"):
        load_edges(tmp_path)
    with pytest.raises(SystemExit, match=r"cannot read the corpus: .*missing: sender_id, recipient_id"):
        main(["--data", str(tmp_path)])


def test_ids_given_as_addresses_are_numbered_and_read_as_the_same_mail(tmp_path):
    """Given another organisation's export naming people by address, then each distinct
    address (trimmed, case-folded) is numbered in sorted order, so the file reads as the
    same mail as one numbering them that way; an empty, over-long or control-character
    id makes its row unreadable, counted among the invalid rows."""
    from analytics.corpus import load_edges

    s, r, t = organisation(n=300)
    write_corpus(tmp_path / "numbers", s, r, t)
    named = tmp_path / "names"
    named.mkdir()
    with open(named / "edges.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["sender_id", "recipient_id", "time"])
        for i, (a, b, x) in enumerate(zip(s.tolist(), r.tolist(), t.tolist())):
            sender = f"p{a:02d}@example.org" if i % 2 else f"  P{a:02d}@Example.ORG "
            w.writerow([sender, f"p{b:02d}@example.org", datetime.fromtimestamp(int(x), timezone.utc).isoformat()])
        w.writerow(["", "p01@example.org", "2016-01-04 10:00:00"])
        w.writerow(["p01@example.org", "x" * 400 + "@example.org", "2016-01-04 10:00:00"])
        w.writerow(["p01@example.org", "p02@exa\x1bmple.org", "2016-01-04 10:00:00"])
    by_number, by_name = load_edges(tmp_path / "numbers"), load_edges(named)
    for a, b in zip(by_number, by_name):
        assert np.array_equal(a, b[:-3])
    assert by_name[0][-3:].tolist() == [-1, -1, -1] and np.isnan(by_name[2][-3:]).all()
    assert messages(*by_name).invalid_rows == 3


def test_the_pooled_models_learn_from_a_bounded_sample_of_people(monkeypatch):
    """Given more people with enough mail than PRIOR_POOL, then the pool is the first
    PRIOR_POOL of them in the fixed hashed order; with fewer, all of them."""
    from analytics import corpus

    mail = messages(*organisation(n=3000))
    everyone = list(range(16))
    enough = corpus.sample_egos(mail, everyone, 16, min_exchanges=20)
    assert len(enough) == 16 and corpus.prior_pool(mail, everyone) == enough
    monkeypatch.setattr(corpus, "PRIOR_POOL", 5)
    assert corpus.prior_pool(mail, everyone) == enough[:5]


def test_the_prior_fits_on_another_organisation_before_its_own_cutoff():
    """Given another organisation's mail, `fit_prior` cuts its labels at that mail's prior
    cutoff (the first of its last seven development dates: 1 February 2017 here), names
    the corpus, and fits a young curve that reads the mailbox's age."""
    from analytics.prior import fit_prior

    mail = messages(*organisation())
    cutoff = timeline(mail).prior_cutoff
    assert days([cutoff]) == [(2017, 2, 1)]
    spec = fit_prior(mail, lb.development_egos(range(16)), source="north")
    assert spec["meta"]["source"] == "north" and spec["meta"]["cutoff"].startswith("2017-02-01")
    assert {"a", "b", "c", "e"} <= set(spec.get("young", {}))
