"""score_ties: the one call the pipeline makes, from exchanges and `as_of` to TieScores.

Steps: columnar frame (nothing at or after as_of) -> features now and 30 days ago ->
strength model (fitted on the user's own past when none is given, blended with the prior)
-> reciprocity ledger and balance -> rhythm flags -> feedback -> explanations -> the short
list of ties to deepen.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone

import numpy as np
from numpy.typing import NDArray

from analytics.awaiting import Timeline
from analytics.explain import explain, facts, flag_silence_words
from analytics.features import FEATURES, LAYER_FEATURES, Habits, habits_of, snapshot
from analytics.flag_gate import Evidence, shown
from analytics.feedback_layer import fit_layer, labels_of, logit, sigmoid, word_lines
from analytics.frame import DAY, Frame, columns_before, frame_of
from analytics.model import StrengthModel
from analytics.reciprocity import reciprocity
from analytics.recommend import candidates
from analytics.records import Exchange, TieScore
from analytics.rhythm import rhythm
from analytics.training import covered_days, training_set

TIERS = ((70.0, "strong"), (40.0, "medium"), (15.0, "weak"))
FEEDBACK = ("not_relationship", "matters", "snooze")
MONTH = 30 * DAY
STRENGTH_WEEKS = 4


def epoch(as_of: datetime | float) -> float:
    if isinstance(as_of, (int, float)):
        return float(as_of)
    if as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=timezone.utc)
    return as_of.timestamp()


def strength_of(model: StrengthModel, p_week: NDArray[np.float64]) -> NDArray[np.float64]:
    """Strengths (0-100) from the fitted model's weekly chances `p_week`: the chance of at
    least one two-way exchange in the next four weeks, the weeks of a tie going together as
    the fit found them to (analytics/horizon.py)."""
    strength: NDArray[np.float64] = 100.0 * model.over_weeks(p_week, STRENGTH_WEEKS)
    return strength


def tier(strength: float) -> str:
    for bound, name in TIERS:
        if strength >= bound:
            return name
    return "fading"


def fit_strength_model(
    frame: Frame, as_of: float, model: StrengthModel | None = None, *, since: float | None = None
) -> StrengthModel:
    """Fit `model` (None: a default one) on the user's own snapshots before `as_of`; none
    before `since`, when the history is whole only from then on (training.py)."""
    model = model if model is not None else StrengthModel()
    # The training snapshots compute only what the model reads (a third of the columns).
    ts = training_set(frame, as_of, since=since, only=model.reads())
    days = covered_days(as_of, since)
    return model.fit(ts.X, ts.y, sample_time=ts.time, sample_weight=ts.weight, history_days=days, touched=ts.touched)


def _is_fitted(model: StrengthModel) -> bool:
    return hasattr(model, "n_rows_")


def _habits(user_habits: Mapping[str, float] | None, frame: Frame, as_of: float) -> tuple[Habits, float | None]:
    base = habits_of(frame, as_of)
    if not user_habits:
        return base, None
    fields = {k: float(user_habits[k]) for k in Habits.__dataclass_fields__ if k in user_habits}
    share = user_habits.get("initiation_share")
    return Habits(**{**base.__dict__, **fields}), (float(share) if share is not None else None)


_paused = 0
_paused_lock = threading.Lock()
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector paused while scoring, and left as it was after.

    Scoring makes hundreds of thousands of short-lived lists and dicts while the caller
    holds its exchanges (a million tracked objects at a million exchanges), and a full
    collection walks them all: 0.4-0.9 CPU-s of a 1M-exchange scoring went to collections
    that found nothing to free. Nested and concurrent
    scorings share one pause: the collector comes back when the last one ends.
    Reference counting frees memory as usual meanwhile."""
    global _paused, _was_enabled
    with _paused_lock:
        if _paused == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _paused += 1
    try:
        yield
    finally:
        with _paused_lock:
            _paused -= 1
            if _paused == 0 and _was_enabled:
                gc.enable()


@collector_paused()
def score_ties(
    exchanges: Sequence[Exchange],
    as_of: datetime | float,
    *,
    model: StrengthModel | None = None,
    feedback: Mapping[int, str] | None = None,
    user_habits: Mapping[str, float] | None = None,
    domains: Mapping[int, str] | None = None,
    since: datetime | float | None = None,
    gate: Mapping[str, Evidence] | None = None,
) -> list[TieScore]:
    """One TieScore per contact seen before `as_of`, strongest first.

    `model`: a fitted StrengthModel to reuse, or an unfitted one to fit here on the user's
    history (None: a default one). `feedback`: person id -> "not_relationship" | "matters"
    | "snooze"; the first two are labels a per-user layer learns from (feedback_layer.py).
    `user_habits`: optional overrides of the user's reply habits (reply_hours_you,
    reply_hours_them, reply_rate_you, reply_rate_them, initiation_share). `domains`: person
    id -> the organisation domain the layer may treat as alike (none for free mail).
    `since`: the moment from which `exchanges` are whole, while a first sync is still
    reading older mail (service.coverage); the model learns from no snapshot before it
    (training.py). None: the history is whole. `gate`: the evidence each gated flag is shown
    on (flag_gate.decide over a deployment's users); None: the shipped constant.
    """
    t = epoch(as_of)
    feedback = dict(feedback or {})
    columns = columns_before(exchanges, t)
    frame = frame_of(columns)
    if frame.n_contacts == 0:
        return []
    # The timeline reads the same columns, not the records again; then they can go (~200 MB
    # at a million exchanges) before the snapshots allocate theirs.
    timeline = Timeline.of_columns(columns)
    del columns
    habits, share = _habits(user_habits, frame, t)
    whole_since = None if since is None else epoch(since)
    if model is None or not _is_fitted(model):
        model = fit_strength_model(frame, t, model, since=whole_since)
    now = snapshot(frame, t, habits)
    # A month ago only the strength and its reasons are wanted: what the model reads (and
    # the feedback layer, which measures likeness on some of the same).
    before = snapshot(frame, t - MONTH, only=model.reads() + LAYER_FEATURES)
    p_week = model.predict_proba(now.X)[:, 1]
    strength = strength_of(model, p_week)
    touch = model.touch_of(p_week)
    z = model.decision_function(now.X)
    contrib = model.contributions(now.X)
    strength_before = np.where(before.present, strength_of(model, model.predict_proba(before.X)[:, 1]), np.nan)
    contrib_before = model.contributions(before.X)

    labels = labels_of(frame.contacts, feedback)
    words: dict[int, str] = {}
    if labels:  # the user's word: marked ties pinned, their likes moved (feedback_layer.py)
        cols = [FEATURES.index(n) for n in LAYER_FEATURES]
        doms = [(domains or {}).get(p) for p in frame.contacts.tolist()]
        layer = fit_layer(now.X[:, cols], logit(strength / 100.0), labels, doms)
        base_strength = strength
        strength = 100.0 * sigmoid(layer.adjust(now.X[:, cols], logit(strength / 100.0), doms))
        # The 90-day chance moves by the same log-odds as strength did.
        touch = sigmoid(logit(touch) + logit(strength / 100.0) - logit(base_strength / 100.0))
        words = word_lines(labels, base_strength, strength)
        z_before = logit(np.nan_to_num(strength_before) / 100.0)
        adjusted_before = 100.0 * sigmoid(layer.adjust(before.X[:, cols], z_before, doms))
        strength_before = np.where(before.present, adjusted_before, np.nan)

    rec = reciprocity(frame, t, now.present, share)
    rh = rhythm(frame, t, now.present)
    # A flag whose claim failed its bar on the backtest is not shown, nor acted on (flag_gate.py).
    rh = replace(rh, cooling=rh.cooling & shown("cooling", gate), dormant=rh.dormant & shown("dormant", gate))
    fx = facts(frame, t, now)
    base_window = (frame.t < t - 90 * DAY) & (frame.t >= t - 455 * DAY) & frame.meeting
    met_at_baseline = np.bincount(frame.c[base_window], minlength=frame.n_contacts) > 0
    picks = candidates(
        frame.contacts,
        strength,
        strength_before,
        rh,
        rec,
        met_at_baseline,
        feedback,
        waiting=timeline.waiting(t),
        guarded=timeline.guarded(t),
        as_of=t,
    )
    picked = {p.index: (rank, p) for rank, p in enumerate(picks, start=1)}

    led = rec.ledger
    # Columns to Python lists once: a per-tie loop over numpy scalars is the slow part.
    ledger_cols = {name: _column(values) for name, values in led.items()}
    feature_rows = np.round(now.X, 4).tolist()
    order = np.argsort(-np.abs(contrib), axis=1, kind="stable")[:, :8]
    extra = {
        "revival_value": _column(rh.revival),
        "p_cooling": _column(rh.p_cooling),
        "recent_active_days": _column(rh.recent_days),
        "baseline_active_days": _column(rh.baseline_days),
        "habit_share": np.round(rec.habit, 3).tolist(),
        "score": np.round(z, 4).tolist(),
    }
    flag_cols = [
        (name, col.tolist())
        for name, col in (
            ("cooling", rh.cooling),
            ("dormant", rh.dormant),
            ("one_sided_you", rec.one_sided_you),
            ("one_sided_them", rec.one_sided_them),
        )
    ]
    strength_l = np.clip(strength, 0.0, 100.0).tolist()
    touch_l = np.clip(touch, 0.0, 1.0).tolist()
    before_l = strength_before.tolist()
    balance_l = rec.balance.tolist()
    last_l = now.last.tolist()
    last2_l = (now.last_two_way if now.last_two_way is not None else np.full(len(now.last), np.nan)).tolist()
    contacts_l = frame.contacts.tolist()
    out: list[TieScore] = []
    for i in np.flatnonzero(now.present).tolist():
        flags = tuple(name for name, col in flag_cols if col[i])
        s = strength_l[i]
        sb = before_l[i] if before_l[i] == before_l[i] else None  # NaN: not seen 30 days ago
        lines = explain(
            i, now.X[i], contrib[i], fx, led, s, sb, contrib_before[i] if sb is not None else None, order=order[i]
        )
        rank, pick = picked.get(i, (None, None))
        if rh.cooling[i] or rh.dormant[i]:
            # The silence the flag was raised on (personal contact), not the feature's
            # (any direct contact), so the two never show different numbers; a suggestion
            # for the flag says it in its reason already.
            lines = [line for line in lines if not line.startswith("Quiet for ")]
            quiet = flag_silence_words(float(rh.silence_ratio[i]), float(rh.silence_days[i]))
            if quiet and not (pick is not None and pick.kind in ("cooling", "dormant")):
                lines.append(quiet)
        if i in words:
            lines.append(words[i])
        if pick is not None:
            # A tie to deepen says first why it is on the list; what its strength rests on follows.
            lines.insert(0, pick.reason)
        ledger = {name: col[i] for name, col in ledger_cols.items()}
        ledger["window_days"] = 180
        feats = dict(zip(FEATURES, feature_rows[i]))
        for name, col in extra.items():
            feats[name] = col[i]
        feats["strength_30d_ago"] = None if sb is None else round(sb, 1)
        out.append(
            TieScore(
                contact=contacts_l[i],
                strength=round(s, 1),
                tier=tier(s),
                reciprocity=balance_l[i],
                flags=flags,
                last_interaction=last_l[i],
                explanation=tuple(lines),
                ledger=ledger,
                features=feats,
                suggestion=pick.suggestion if pick else None,
                deepen_rank=rank,
                last_two_way=None if last2_l[i] != last2_l[i] else last2_l[i],
                strength_exact=s,
                touch_chance=round(touch_l[i], 4),
            )
        )
    out.sort(key=_strongest_first)
    return out


def _strongest_first(s: TieScore) -> tuple[float, float, int]:
    score = s.features["score"]
    if score is None:  # score_ties sets it on every tie; anything else is a caller's bug
        raise ValueError("a TieScore without a model score cannot be ranked")
    return (-s.strength, -score, s.contact)


def _column(values: np.ndarray) -> list[float | None]:
    """A column as JSON-ready Python values: ints when whole, 2 decimals otherwise, None for NaN."""
    values = np.asarray(values, float)
    finite = np.isfinite(values)
    if finite.all() and np.all(values == np.round(values)):
        whole: list[float | None] = values.astype(np.int64).tolist()
        return whole
    rounded: list[float | None] = np.round(values, 2).tolist()
    if finite.all():
        return rounded
    return [v if ok else None for v, ok in zip(rounded, finite.tolist())]


def ties_to_deepen(scores: Sequence[TieScore], limit: int = 3) -> list[TieScore]:
    ranked = sorted(((s.deepen_rank, s) for s in scores if s.deepen_rank is not None), key=lambda r: r[0])
    return [s for _, s in ranked[:limit]]
