"""The honest yardstick: Kith against three simple baselines on held-back real mail.

Employees take turns as the user (the "ego"; only the mail they sent or received is
visible). At monthly `as_of` dates every tie the ego had is scored four ways:

- **kith**: the shipped method — the user's own StrengthModel (fitted on their past at the
  first date and every `refit` dates after), blended with a prior;
- **recency**: minus the days since the last interaction of any kind;
- **decayed**: a decayed count of direct mail both ways, each message weighted by
  1/recipients with a 90-day half-life;
- **logistic**: a plain scikit-learn LogisticRegression on all of Kith's features, pooled
  over other people.

The outcome is two-way contact (mail both ways, or a small meeting) in the 90 days after
`as_of`. The prior and the logistic baseline are fitted by grouped cross-validation: egos
fall into `FOLDS` folds by a fixed hash, and each fold is scored with models fitted on the
other folds' people only, on snapshots whose labels end before the first `as_of`. The
lockbox (analytics/lockbox.py) is refused unless asked for.

A corpus too short for that (analytics/timeline.py, `short_dates`) has no snapshot whose
label ends before its first date. Kith is then scored with a fixed prior for every fold
(`prior`: the shipped one, fitted on another organisation), as a new user of the service
is; the logistic baseline is still fitted on the other folds' people, on snapshots whose
labels end by `pooled_until` (the span's end): it learns from outcomes in the months it
is scored on, an advantage Kith does not have there.

Collected data (features, labels, baselines, flags) is kept per ego, so variants that
only change the model's features refit models and nothing else (`Study.evaluate`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from collections.abc import Callable, Sequence

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from analytics import flag_gate
from analytics.corpus import Mail, ego_exchanges
from analytics.features import MODEL_FEATURES, PRIOR_FEATURES, snapshot, two_way_between, two_way_periods
from analytics.frame import DAY, SHARED, WEEK, Frame, build_frame
from analytics.horizon import any_within
from analytics.lockbox import check_development
from analytics.model import PriorSpec, StrengthModel
from analytics.prior import prior_from_rows, with_young
from analytics.rhythm import rhythm
from analytics.scoring import STRENGTH_WEEKS
from analytics.timeline import HORIZON
from analytics.training import PERIODS, TrainingSet, covered_days, pooled, training_set, young_set

ACTIVE = 180 * DAY
DECAY_HALF_LIFE = 90 * DAY
FOLDS = 5
MIN_EXCHANGES = 50
PRIOR_SNAPSHOTS = 18
METHODS = ("kith", "recency", "decayed", "logistic")


def fold_of(ego: int) -> int:
    return int(hashlib.sha256(f"kith-fold-v1:{int(ego)}".encode()).hexdigest()[:8], 16) % FOLDS


def decayed_count(frame: Frame, as_of: float) -> np.ndarray:
    """Direct mail either way, 1/recipients each, halved every 90 days."""
    m = (frame.t < as_of) & (frame.direction != SHARED) & ~frame.meeting
    w = np.exp2(-(as_of - frame.t[m]) / DECAY_HALF_LIFE) / frame.size[m]
    return np.bincount(frame.c[m], weights=w, minlength=frame.n_contacts)


@dataclass
class EgoData:
    """One ego's rows: a row per (date, tie seen before the date)."""

    ego: int
    fits: dict[float, TrainingSet]  # fit date -> the user's own TrainingSet at that date
    fit_of_row: np.ndarray  # the fit date each row is scored with
    date: np.ndarray  # as_of index
    X: np.ndarray
    label: np.ndarray
    # personal two-way contact in the four weeks after as_of (training.py's weeks): what
    # strength claims the chance of
    label4: np.ndarray
    active: np.ndarray  # two-way contact in the 180 days before as_of
    recency: np.ndarray
    decayed: np.ndarray
    cooling: np.ndarray
    dormant: np.ndarray
    rate_drop: np.ndarray  # the rate test alone (rhythm.Rhythm.rate_drop): cooling before the silence
    extra: dict[str, np.ndarray] = field(default_factory=dict)  # per-row arrays for flag studies
    history: dict[float, float | None] = field(default_factory=dict)  # fit date -> days the mail covers then


def collect(
    mail: Mail, ego: int, dates: list[float], *, refit: int = 3, history: float | None = None
) -> EgoData | None:
    """One ego's rows. `history`: at each date only the last `history` seconds of mail are
    visible (to Kith, its training and the baselines alike), as for a user whose mailbox
    holds no more; the outcome still counts every message after the date."""
    exchanges = ego_exchanges(mail, ego)
    if len(exchanges) < MIN_EXCHANGES:
        return None
    full = build_frame(exchanges, float("inf"))
    first = min(x.at for x in exchanges)
    fits: dict[float, TrainingSet] = {}
    history_at: dict[float, float | None] = {}
    parts: list[dict[str, np.ndarray]] = []
    for j, t in enumerate(dates):
        visible = exchanges if history is None else [x for x in exchanges if x.at >= t - history]
        frame = build_frame(visible, t)
        if j % refit == 0:
            fit_at = t
            fits[fit_at] = training_set(frame, t)
            # The mailbox covers the last `history` days (or all the ego's mail, if younger).
            history_at[fit_at] = covered_days(t, None if history is None else max(t - history, first))
        if frame.n_contacts == 0:
            continue
        snap = snapshot(frame, t)
        idx = np.flatnonzero(snap.present)
        if not len(idx):
            continue
        rh = rhythm(frame, t, snap.present)
        where = np.searchsorted(full.contacts, frame.contacts[idx])
        parts.append(
            dict(
                fit_of_row=np.full(len(idx), fit_at),
                date=np.full(len(idx), j),
                X=snap.X[idx],
                label=two_way_between(full, t, t + HORIZON)[where],
                label4=two_way_periods(full, t, STRENGTH_WEEKS, WEEK)[where] > 0,
                active=two_way_between(frame, t - ACTIVE, t)[idx],
                recency=-(t - snap.last[idx]) / DAY,
                decayed=decayed_count(frame, t)[idx],
                cooling=rh.cooling[idx],
                dormant=rh.dormant[idx],
                rate_drop=rh.rate_drop[idx],
                silence=rh.silence_days[idx],
                interval=rh.interval_days[idx],
                ratio=rh.silence_ratio[idx],
                peak=rh.peak_days[idx],
                recent=rh.recent_days[idx],
                base=rh.baseline_days[idx],
                span=rh.baseline_span[idx],
                p_cool=rh.p_cooling[idx],
            )
        )
    if not parts:
        return None
    cat = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    extra = {k: cat.pop(k) for k in ("silence", "interval", "ratio", "peak", "recent", "base", "span", "p_cool")}
    return EgoData(ego=ego, fits=fits, extra=extra, history=history_at, **cat)


def prior_rows(mail: Mail, ego: int, cutoff: float) -> TrainingSet | None:
    """Self-labelled rows of one ego for the pooled models (labels end before `cutoff`)."""
    exchanges = ego_exchanges(mail, ego)
    if len(exchanges) < 20:
        return None
    ts = training_set(build_frame(exchanges, cutoff), cutoff, max_snapshots=PRIOR_SNAPSHOTS)
    return ts if len(ts.y) else None


def plain_logistic() -> Pipeline:
    return make_pipeline(StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))


@dataclass
class Scored:
    """Every ego's rows with each method's score (and probability where it has one)."""

    ego: np.ndarray
    snapshot: np.ndarray  # a unique id per (ego, date)
    date: np.ndarray
    label: np.ndarray
    active: np.ndarray
    cooling: np.ndarray
    dormant: np.ndarray
    rate_drop: np.ndarray
    score: dict[str, np.ndarray]  # method -> array
    prob: dict[str, np.ndarray]  # method -> P(two-way contact in the 90 days), where the method has one
    n_dates: int
    # method -> its chance of personal two-way contact in the next four weeks (Kith: its
    # strength / 100), against label4
    prob4: dict[str, np.ndarray] = field(default_factory=dict)
    label4: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    trained_on: dict[int, tuple[int, ...]] = field(
        default_factory=dict
    )  # ego -> egos whose rows fitted its pooled models (the fold prior, if any, and the logistic)
    # flag -> per date index, whether the deployment's gate shows it then (gate_by_date);
    # empty: the shipped constant decides at every date
    shown: dict[str, np.ndarray] = field(default_factory=dict)

    def shown_flag(self, flag: str) -> np.ndarray:
        """Per row, `flag` as the user would have seen it: raised and shown at its date."""
        raised: np.ndarray = getattr(self, flag)
        if flag not in self.shown:
            return raised & flag_gate.shown(flag)
        out: np.ndarray = raised & self.shown[flag][self.date]
        return out


def check_moments(dates: Sequence[float]) -> list[float]:
    """The months whose flags a pool at some date of `dates` holds (flag_gate.check_months)."""
    return sorted({m for t in dates for m in flag_gate.check_months(t)})


def flag_checks(
    mail: Mail, egos: Sequence[int], moments: Sequence[float], *, history: float | None = None
) -> dict[int, dict[float, flag_gate.Counts]]:
    """What the service keeps for the flag gate (service/ties/flag_pool.py, the same
    flag_gate.counts_at): for each ego with enough mail and each moment, the raw flags then
    and the two-way touch of the 90 days after. `history`: only that much mail before each
    moment is visible."""
    out: dict[int, dict[float, flag_gate.Counts]] = {}
    for e in egos:
        exchanges = ego_exchanges(mail, int(e))
        if len(exchanges) < MIN_EXCHANGES:
            continue
        if history is None:
            out[int(e)] = flag_gate.counts_by_moment(exchanges, moments)
            continue
        mine: dict[float, flag_gate.Counts] = {}
        for m in moments:
            visible = [x for x in exchanges if x.at >= m - history]
            counted = flag_gate.counts_at(visible, m)
            if counted is not None:
                mine[m] = counted
        out[int(e)] = mine
    return out


def gate_by_date(checks: dict[int, dict[float, flag_gate.Counts]], dates: Sequence[float]) -> dict[str, np.ndarray]:
    """The service's flag gate (flag_gate.decide, service/ties/flag_pool.py) replayed with
    the run's people as a deployment's users who brought their history: at each date, the
    months whose 90-day outcome ended in the POOL_DAYS before it (flag_gate.in_pool), summed
    per person and pooled. flag -> per date index, shown or not."""
    out = {flag: np.zeros(len(dates), bool) for flag in flag_gate.GATED}
    for j, t in enumerate(dates):
        pool = []
        for mine in checks.values():
            kept = [c for m, c in mine.items() if flag_gate.in_pool(m, t)]
            if kept:
                pool.append(sum(kept, flag_gate.Counts()))
        evidence = flag_gate.decide(pool)
        for flag in flag_gate.GATED:
            out[flag][j] = flag_gate.shown(flag, evidence)
    return out


class Study:
    """Collected data for a set of egos and dates; `evaluate` fits and scores a variant."""

    def __init__(
        self,
        mail: Mail,
        egos: Sequence[int],
        dates: Sequence[float],
        *,
        lockbox: bool = False,
        refit: int = 3,
        prior_egos: Sequence[int] | None = None,
        history: float | None = None,
        prior: PriorSpec | None = None,
        pooled_until: float | None = None,
    ) -> None:
        """`prior`: a fixed prior for every fold instead of fold priors fitted on the pool;
        `pooled_until`: where the pool's labels end (default: the first date)."""
        check_development(mail, egos, dates, HORIZON, lockbox=lockbox)
        if prior_egos is not None:
            check_development(mail, prior_egos, dates, HORIZON, lockbox=lockbox)
        self.dates = sorted(float(d) for d in dates)
        self.data = [d for d in (collect(mail, int(e), self.dates, refit=refit, history=history) for e in egos) if d]
        # The monthly flag counts a deployment of these people would hold (the flag gate's pool).
        self.checks = flag_checks(mail, [d.ego for d in self.data], check_moments(self.dates), history=history)
        pool = sorted(set(int(e) for e in (egos if prior_egos is None else prior_egos)))
        until = self.dates[0] if pooled_until is None else pooled_until
        self.pool = {e: r for e, r in ((e, prior_rows(mail, e, until)) for e in pool) if r}
        self.prior = prior
        self.mail = mail
        self._young: dict[tuple[str, ...], dict[int, TrainingSet]] = {}

    def young(self, features: tuple[str, ...]) -> dict[int, TrainingSet]:
        """The pool's ties through young windows (training.young_set), for the prior's
        `young` calibration: the columns of `features` only, worked out once per set."""
        if features not in self._young:
            at = self.dates[0]
            self._young[features] = {e: young_set(ego_exchanges(self.mail, e), at, only=features) for e in self.pool}
        return self._young[features]

    def _pooled_egos(self, fold: int) -> list[int]:
        return [e for e in self.pool if fold_of(e) != fold]

    def _pooled(self, fold: int) -> tuple[list[int], TrainingSet]:
        """Rows of pool egos outside `fold`: the grouped cross-validation split."""
        egos = self._pooled_egos(fold)
        return egos, pooled([self.pool[e] for e in egos])

    def fold_models(self, features: tuple[str, ...]) -> tuple[dict[int, PriorSpec], dict[int, Pipeline]]:
        priors: dict[int, PriorSpec] = {}
        logits: dict[int, Pipeline] = {}
        for fold in sorted({fold_of(d.ego) for d in self.data}):
            egos, rows = self._pooled(fold)
            X, y, w, t = rows.X, rows.y, rows.weight, rows.time
            if self.prior is not None:
                if tuple(self.prior["features"]) != features:
                    raise ValueError("the fixed prior reads other features than the variant asks for")
                priors[fold] = self.prior
            else:
                young = pooled([self.young(features)[e] for e in egos])
                spec = prior_from_rows(
                    X, y, w, t, {"fold": fold, "egos": egos}, features=features, touched=rows.touched
                )
                priors[fold] = with_young(spec, young)
            with threadpool_limits(limits=1):
                logits[fold] = plain_logistic().fit(X, y, logisticregression__sample_weight=w)
        return priors, logits

    def evaluate(
        self,
        features: tuple[str, ...] = PRIOR_FEATURES,
        *,
        user_model: Callable[[PriorSpec, tuple[str, ...]], StrengthModel] | None = None,
    ) -> Scored:
        """Score every row. `features`: what the fold priors read; the user's own model
        reads those of them in features.MODEL_FEATURES (as the shipped model does).
        `user_model(prior_spec, own_features)` builds the user's unfitted model (default:
        StrengthModel with that prior, reading those features)."""
        priors, logits = self.fold_models(features)
        own = tuple(f for f in MODEL_FEATURES if f in features)
        make = user_model or (lambda spec, feats: StrengthModel(features=feats, prior=spec))
        cols: dict[str, list[np.ndarray]] = {m: [] for m in METHODS}
        probs: dict[str, list[np.ndarray]] = {"kith": [], "logistic": []}
        fours: dict[str, list[np.ndarray]] = {"kith": [], "logistic": []}
        for d in self.data:
            fold = fold_of(d.ego)
            p_week = np.zeros(len(d.label))
            p_horizon = np.zeros(len(d.label))
            p_four = np.zeros(len(d.label))
            for fit_at, ts in d.fits.items():
                rows = d.fit_of_row == fit_at
                model = make(priors[fold], own).fit(
                    ts.X,
                    ts.y,
                    sample_time=ts.time,
                    sample_weight=ts.weight,
                    history_days=d.history.get(fit_at),
                    touched=ts.touched,
                )
                p_week[rows] = model.predict_proba(d.X[rows])[:, 1]
                # The outcome is two-way touch in the 90 days: Kith's chance of it
                # (model.touch_of, calibrated on the user's own newest snapshots).
                p_horizon[rows] = model.touch_of(p_week[rows])
                p_four[rows] = model.over_weeks(p_week[rows], STRENGTH_WEEKS)
            lw = logits[fold].predict_proba(d.X)[:, 1]
            probs["kith"].append(p_horizon)
            # The plain logistic learns the same weekly chance; as a baseline its weeks are
            # taken as independent.
            probs["logistic"].append(any_within(lw, PERIODS))
            fours["kith"].append(p_four)
            fours["logistic"].append(any_within(lw, STRENGTH_WEEKS))
            cols["kith"].append(p_week)
            cols["logistic"].append(lw)
            cols["recency"].append(d.recency)
            cols["decayed"].append(d.decayed)

        def cat(attr: str) -> np.ndarray:
            return np.concatenate([getattr(d, attr) for d in self.data])

        ego = np.concatenate([np.full(len(d.label), d.ego) for d in self.data])
        date = cat("date")
        return Scored(
            ego=ego,
            snapshot=ego * len(self.dates) + date,
            date=date,
            label=cat("label").astype(bool),
            active=cat("active").astype(bool),
            cooling=cat("cooling").astype(bool),
            dormant=cat("dormant").astype(bool),
            rate_drop=cat("rate_drop").astype(bool),
            score={m: np.concatenate(v) for m, v in cols.items()},
            prob={m: np.concatenate(v) for m, v in probs.items()},
            prob4={m: np.concatenate(v) for m, v in fours.items()},
            label4=cat("label4").astype(bool),
            n_dates=len(self.dates),
            extra={k: np.concatenate([d.extra[k] for d in self.data]) for k in self.data[0].extra},
            trained_on={d.ego: tuple(self._pooled_egos(fold_of(d.ego))) for d in self.data},
            shown=gate_by_date(self.checks, self.dates),
        )
