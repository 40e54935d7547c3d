"""Backtest on real mail: take employees in turn as the user and check the model's claims.

Pure: it takes arrays (sender, recipient, time, recipient type per recipient row, as in
`../shared/data/enron-igraph/edges.csv`) and returns figures; reading the CSV happens in
`load_edges` and `main` only. For each sampled employee ("ego") only the mail they sent
or received is visible. At monthly `as_of` dates every tie is scored; the outcome is
two-way contact in the 90 days after. Reported: AUC of strength and of recency alone,
a calibration table, and the future-contact rate of ties flagged cooling vs the rest.

Data hygiene: rows sharing sender and time are one message; 174 rows carry a bogus 1979
date (a null timestamp in the source) and are set aside as `invalid`, counted, not used.

    .venv/bin/python -m analytics.backtest [path/to/enron-igraph] [--egos N]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from collections.abc import Iterable

import numpy as np
from numpy.typing import NDArray

from analytics.features import two_way_between, two_way_weeks
from analytics.frame import DAY, build_frame
from analytics.horizon import weekly_chance
from analytics.corpus import Mail, data_folder, ego_exchanges, load_edges, messages, people, prior_pool, sample_egos
from analytics.scoring import STRENGTH_WEEKS, epoch, fit_strength_model, score_ties
from analytics.timeline import BACKTEST_DATES, HORIZON, timeline


def auc(score: np.ndarray, label: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney, ties counted half)."""
    from scipy.stats import rankdata

    label = np.asarray(label, bool)
    n1, n0 = label.sum(), (~label).sum()
    if n1 == 0 or n0 == 0:
        return float("nan")
    ranks = rankdata(score)
    return float((ranks[label].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


# (weekly-probability bin, rows, predicted, observed weekly share, any contact in 90 days)
CalibrationBin = tuple[str, int, float | None, float | None, float | None]


@dataclass
class Result:
    strength: list[float] = field(default_factory=list)
    dispersion: list[float] = field(default_factory=list)  # the scoring model's (analytics/horizon.py), per row
    recency: list[float] = field(default_factory=list)  # minus days since last interaction
    label: list[bool] = field(default_factory=list)
    weeks: list[float] = field(default_factory=list)  # share of the next 13 weeks with personal two-way contact
    cooling: list[bool] = field(default_factory=list)
    eligible: list[bool] = field(default_factory=list)  # had a baseline to cool from
    egos: int = 0
    snapshots: int = 0

    def arrays(
        self,
    ) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.bool_], NDArray[np.bool_], NDArray[np.bool_]]:
        return (
            np.asarray(self.strength),
            np.asarray(self.recency),
            np.asarray(self.label, bool),
            np.asarray(self.cooling, bool),
            np.asarray(self.eligible, bool),
        )

    def summary(self) -> dict[str, Any]:
        s, r, y, cool, elig = self.arrays()
        weeks = np.asarray(self.weeks)
        # What the model claims is P(two-way contact in a given week); strength is that
        # chance over four weeks (analytics/horizon.py), read back here. The table checks
        # the claim against the weeks that followed.
        phis = np.asarray(self.dispersion, float)
        p_week = np.zeros(len(s))
        for phi in np.unique(phis):  # each ego's model has its own (analytics/horizon.py)
            p_week[phis == phi] = weekly_chance(s[phis == phi] / 100.0, STRENGTH_WEEKS, float(phi))
        edges = np.array([0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.01])
        bins = np.digitize(p_week, edges) - 1
        table: list[CalibrationBin] = [
            (
                f"{edges[b]:.2f}-{min(edges[b + 1], 1):.2f}",
                int((bins == b).sum()),
                float(p_week[bins == b].mean()) if (bins == b).any() else None,
                float(weeks[bins == b].mean()) if (bins == b).any() else None,
                float(y[bins == b].mean()) if (bins == b).any() else None,
            )
            for b in range(len(edges) - 1)
        ]

        def rate(m: NDArray[np.bool_]) -> float:
            return float(y[m].mean()) if m.any() else float("nan")

        return {
            "egos": self.egos,
            "snapshots": self.snapshots,
            "rows": int(len(y)),
            "base_rate": float(y.mean()) if len(y) else float("nan"),
            "auc_strength": auc(s, y),
            "auc_recency": auc(r, y),
            "calibration": table,  # (weekly-probability bin, rows, predicted, observed weekly share, any contact in 90 days)
            "cooling_flagged": int(cool.sum()),
            "future_contact_cooling": rate(cool),
            "future_contact_not_flagged": rate(~cool),
            "future_contact_eligible_not_flagged": rate(elig & ~cool),
        }


def run(mail: Mail, egos: Iterable[int], as_of_dates: Iterable[datetime | float], *, min_messages: int = 50) -> Result:
    """Score each ego at each date (model fitted once per ego, at its first date, on the
    past only) and pair every tie's strength with two-way contact in the next 90 days."""
    res = Result()
    dates = sorted(epoch(d) for d in as_of_dates)
    for ego in egos:
        exchanges = ego_exchanges(mail, int(ego))
        if len(exchanges) < min_messages:
            continue
        res.egos += 1
        full = build_frame(exchanges, float("inf"))
        model = fit_strength_model(build_frame(exchanges, dates[0]), dates[0])
        for t in dates:
            scores = score_ties(exchanges, t, model=model)
            if not scores:
                continue
            res.snapshots += 1
            future = two_way_between(full, t, t + HORIZON)
            weeks = two_way_weeks(full, t, 13) / 13.0
            for sc in scores:
                i = full.index_of(sc.contact)
                # score_ties only scores ties seen before t, so both are always known.
                assert i is not None and sc.last_interaction is not None
                res.strength.append(sc.strength)
                res.dispersion.append(model.dispersion_)
                res.recency.append(-(t - sc.last_interaction) / DAY)
                res.label.append(bool(future[i]))
                res.weeks.append(float(weeks[i]))
                res.cooling.append("cooling" in sc.flags)
                res.eligible.append(sc.features["p_cooling"] is not None)
    return res


def format_calibration(table: Iterable[CalibrationBin]) -> str:
    lines = ["P(week) bin    rows  predicted  observed/week  any-contact/90d"]
    for name, n, pred, obs, any90 in table:
        if n:
            lines.append(f"{name:>11s} {n:6d}  {pred:9.3f}  {obs:13.3f}  {any90:15.3f}")
    return "\n".join(lines)


def day(t: float) -> str:
    return f"{datetime.fromtimestamp(t, timezone.utc):%Y-%m-%d}"


def default_dates(mail: Mail) -> list[datetime]:
    """The last seven development dates of the mail's timeline (Enron: April to October 2001)."""
    dates = timeline(mail).development_dates()[-BACKTEST_DATES:]
    return [datetime.fromtimestamp(t, timezone.utc) for t in dates]


def main(argv: list[str] | None = None) -> int:
    """The yardstick (analytics/yardstick.py, analytics/scorecard.py) on development data:

    .venv/bin/python -m analytics.backtest [--data DIR] [--egos 30] [--skip 0] [--dates 10]
        [--boot 200] [--prior-egos all|sample] [--prior folds|shipped] [--signals] [--ceiling] [--history DAYS]
        [--period latest|earlier] [--lockbox]

    A corpus under about a year long has no lockbox and is scored whole at its short dates
    (analytics/timeline.py), with the shipped prior.
    """
    import argparse
    import json

    from analytics import lockbox as lb
    from analytics.model import PRIOR_PATH
    from analytics.scorecard import summarise, table
    from analytics.yardstick import Study

    ap = argparse.ArgumentParser(prog="python -m analytics.backtest")
    ap.add_argument("--data")
    ap.add_argument("--egos", type=int, default=30)
    ap.add_argument(
        "--skip", type=int, default=0, help="leave out the first N people of the fixed order (another sample)"
    )
    ap.add_argument("--dates", type=int, default=10, help="the latest N of the monthly dates")
    ap.add_argument(
        "--period",
        choices=("latest", "earlier"),
        default="latest",
        help=(
            "latest: the ten monthly dates before the lockbox months (Enron: January to October 2001; "
            "the default); earlier: the six months before those (Enron: July to December 2000)"
        ),
    )
    ap.add_argument("--boot", type=int, default=200)
    ap.add_argument(
        "--refit",
        type=int,
        help="refit each user's model every N dates (default 3; 1 on a corpus too short for a lockbox)",
    )
    ap.add_argument("--prior-egos", choices=("all", "sample"), default="all")
    ap.add_argument(
        "--prior",
        choices=("folds", "shipped"),
        default="folds",
        help=(
            "folds: Kith's prior fitted on the other folds' people before the first date (the default); "
            "shipped: analytics/prior.json for everyone, as a new user gets it (always, on a corpus too "
            "short for a lockbox)"
        ),
    )
    ap.add_argument("--signals", action="store_true", help="measure each candidate signal's lift")
    ap.add_argument(
        "--ceiling",
        action="store_true",
        help="also what models fitted on the scored months' own outcomes reach (analytics/ceiling.py)",
    )
    ap.add_argument("--lockbox", action="store_true", help="final report only: the lockbox figures")
    ap.add_argument(
        "--history",
        type=int,
        help="days of mail visible before each date (a user whose mailbox is that young); default: all",
    )
    args = ap.parse_args(argv)
    try:
        everything = messages(*load_edges(data_folder(args.data)))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"cannot read the corpus: {exc}") from None
    if everything.span is None:
        raise SystemExit(
            f"cannot read the corpus: no row with readable ids and a valid date ({everything.invalid_rows} set aside)"
        )
    span = timeline(everything)
    short = not span.has_lockbox
    if args.lockbox and short:
        raise SystemExit(
            f"this corpus has no lockbox: the mail spans {span.months} months, too short to set three aside "
            "after a development date; run without --lockbox to score all of it"
        )
    if args.lockbox:
        from analytics.lockbox_report import report

        print(report(everything, n_boot=args.boot, refit=args.refit or 3))
        return 0
    if short and args.period == "earlier":
        raise SystemExit(span.too_short())
    if short:
        dates = span.short_dates()[-args.dates :]
    else:
        dates = (span.development_dates() if args.period == "latest" else span.earlier_dates())[-args.dates :]
    if not dates:
        raise SystemExit(span.too_short())
    mail = lb.development_mail(everything)  # the whole corpus when it is too short for a lockbox
    everyone = people(everything)
    dev = everyone if short else lb.development_egos(everyone)
    egos = sample_egos(mail, dev, args.skip + args.egos)[args.skip :]
    pool = prior_pool(mail, dev) if args.prior_egos == "all" else egos
    shipped = short or args.prior == "shipped"
    if shipped and args.signals:
        raise SystemExit(
            "--signals refits Kith's prior without each signal, so it needs priors fitted here; "
            + ("this corpus is too short for them" if short else "run it without --prior shipped")
        )
    prior = json.loads(PRIOR_PATH.read_text()) if shipped else None
    if short:
        print(
            f"the mail spans {span.months} months ({day(span.start)} to {day(span.end)}): too short for a "
            "lockbox or for priors fitted on earlier months. Every person and month is scored, each user's "
            "mailbox starting where the corpus starts, with the shipped prior; the logistic baseline learns "
            "from the other folds' outcomes in these same months, which Kith does not see"
        )
    where = "the whole span" if short else f"before the lockbox months, {day(span.lockbox_start)} to {day(span.end)}"
    print(
        f"messages {len(mail)} ({where}); "
        f"invalid rows set aside {mail.invalid_rows}; {len(egos)} egos, {len(dates)} date{'s' * (len(dates) != 1)} "
        f"({day(dates[0])} to {day(dates[-1])}), "
        f"prior pool {len(pool)} egos, horizon {HORIZON / DAY:.0f} days"
        + (f", {args.history} days of mail visible at each date" if args.history else "")
        + (f"; Kith's prior: the shipped one ({prior_source(prior)})" if prior else "")
    )
    history = args.history * DAY if args.history else None
    study = Study(
        mail,
        egos,
        dates,
        refit=args.refit or (1 if short else 3),
        prior_egos=pool,
        history=history,
        prior=prior,
        pooled_until=span.end if short else None,
    )
    scored = study.evaluate()
    print(table(summarise(scored, n_boot=args.boot)))
    if args.ceiling:
        from analytics import ceiling

        print()
        print(ceiling.table(scored, ceiling.rows(scored, ceiling.oracles(study, scored))))
    if args.signals:
        from analytics.signals_study import print_lifts

        print_lifts(study, n_boot=args.boot)
    return 0


def prior_source(spec: dict[str, Any]) -> str:
    meta = spec.get("meta", {})
    return f"fitted on {meta.get('source', 'unnamed mail')}, {meta.get('egos', '?')} people, labels before {str(meta.get('cutoff', '?'))[:10]}"


if __name__ == "__main__":
    raise SystemExit(main())
