"""How right Kith has been on the user's own mail: its calls at a past moment, checked
against what happened after it.

At `as_of` (the service takes 90 days before now) the user's ties are scored from the mail
before it, exactly as Kith would have scored them then. From the mail between `as_of` and
`until` comes the outcome of each tie: two-way touch (mail both ways, or a meeting of at
most five people; `features.two_way_between`, the yardstick's label). Two claims are checked,
each beside a plain baseline with the same number of ties:

- the ties Kith called strong (or, when it called fewer than TOP strong, the TOP it ranked
  strongest, as most users' mail has few ties that strong): the share the user was in
  touch with since; the baseline is a most-recent-first list of as many ties;
- the ties Kith flagged cooling: the share that went quiet (no two-way touch since); the
  baseline is the longest-silent of the ties that were active (in two-way touch in the 180
  days before `as_of`).

With too little to judge from (under MIN_HISTORY of mail before `as_of`, fewer than
MIN_TIES ties, no mail after `as_of`, or fewer than MIN_CALLED ties behind a claim) the
answer says so in words instead of giving a share.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timezone

import numpy as np

from analytics.features import two_way_between
from analytics.flag_gate import GATED, MEASURED, Evidence as FlagEvidence, shown
from analytics.frame import DAY, Frame, build_frame
from analytics.model import StrengthModel
from analytics.records import Exchange, TieScore
from analytics.scoring import score_ties

LOOKBACK = 90 * DAY  # how far back the service places `as_of`
MIN_HISTORY = 90 * DAY  # mail needed before `as_of`
MIN_TIES = 10  # ties scored at `as_of`
MIN_CALLED = 5  # ties behind a claim before a share of them means anything
TOP = 10  # the strong claim covers at least this many ties (MIN_TIES >= TOP)
ACTIVE = 180 * DAY
OK, SHORT_HISTORY, FEW_TIES, NO_MAIL_SINCE = "ok", "short_history", "few_ties", "no_mail_since"
IN_TOUCH = "In touch means mail both ways, or a meeting of at most five people."


@dataclass(frozen=True, slots=True)
class Share:
    """`hits` of `ties` came true; Kith had expected `expected` of them (the sum of their
    90-day chances of touch, TieScore.touch_chance; None: not a chance Kith gives)."""

    ties: int
    hits: int
    expected: float | None = None

    @property
    def share(self) -> float:
        return self.hits / self.ties if self.ties else 0.0


@dataclass(frozen=True, slots=True)
class Evidence:
    as_of: float  # when the calls were made (epoch seconds)
    until: float  # the outcome window's end
    verdict: str  # OK | SHORT_HISTORY | FEW_TIES | NO_MAIL_SINCE
    history_days: float  # mail before as_of, in days (0: none)
    ties: int  # ties scored at as_of
    strong: Share | None  # ties called strong (or the TOP strongest), in touch since (None: nothing to judge)
    strong_recency: Share | None  # the same number of most recent ties, in touch since
    cooling: Share | None  # ties flagged cooling, quiet since
    cooling_recency: Share | None  # the same number of longest-silent active ties, quiet since
    called_strong: int  # how many ties Kith called strong (the tier; the claim covers at least TOP)
    called_cooling: int
    sentences: tuple[str, ...]


def _day(ts: float) -> str:
    d = datetime.fromtimestamp(ts, timezone.utc)
    return f"{d.day} {d.strftime('%B %Y')}"


def _ties(n: int) -> str:
    return "1 tie" if n == 1 else f"{n} ties"


def measure(
    past: Sequence[Exchange],
    later: Sequence[Exchange],
    as_of: float,
    until: float,
    *,
    feedback: Mapping[int, str] | None = None,
    model: StrengthModel | None = None,
    since: float | None = None,
    gate: Mapping[str, FlagEvidence] | None = None,
) -> Evidence:
    """Kith's calls at `as_of` from `past` (only what is before `as_of` is read), checked
    against `later` (only what lies in [as_of, until) is read). `since`: while a first sync
    is still reading older mail, the moment from which `past` is whole; the calls are then
    the provisional ones Kith makes (score_ties' `since`), and the history counts from it.
    `gate`: the evidence the flags were shown on (score_ties' `gate`)."""
    if not until > as_of:
        raise ValueError("until must be after as_of")
    before = [x for x in past if x.at < as_of]
    when = _day(as_of)
    start = min(x.at for x in before) if before else as_of
    edge = since if since is not None and since > start else None  # None: whole from its start
    history = (as_of - (start if edge is None else edge)) / DAY if before else 0.0

    def refuse(verdict: str, ties: int, sentence: str) -> Evidence:
        return Evidence(as_of, until, verdict, round(history, 1), ties, None, None, None, None, 0, 0, (sentence,))

    if history * DAY < MIN_HISTORY:
        if not before:
            return refuse(SHORT_HISTORY, 0, f"There is no mail before {when} to judge Kith's calls from.")
        if edge is not None:
            return refuse(
                SHORT_HISTORY,
                0,
                f"Your older mail is still being read: the mail read so far is whole from {_day(edge)}, and "
                f"Kith needs it whole from {_day(as_of - MIN_HISTORY)} to judge how right its calls of {when} were.",
            )
        return refuse(
            SHORT_HISTORY,
            0,
            f"Too little history: your mail starts on {_day(as_of - history * DAY)}, {history:.0f} days before "
            f"{when}, and Kith needs {MIN_HISTORY / DAY:.0f} days before it to judge how right it would have been.",
        )
    scores = score_ties(before, as_of, feedback=feedback, model=model, since=edge, gate=gate)
    if len(scores) < MIN_TIES:
        return refuse(
            FEW_TIES,
            len(scores),
            f"Too few ties: only {_ties(len(scores))} had mail before {when}; Kith needs at least {MIN_TIES} "
            "to say how right it has been.",
        )
    after = [x for x in later if as_of <= x.at < until]
    if not after:
        return refuse(
            NO_MAIL_SINCE,
            len(scores),
            f"No mail or meetings since {when} have been read, so there is nothing to check Kith's calls against.",
        )
    frame = build_frame(after, until)
    in_touch = set(frame.contacts[two_way_between(frame, as_of, until)].tolist())
    n_strong = sum(s.tier == "strong" for s in scores)
    # score_ties answers strongest first
    strong_called = [s.contact for s in scores[: max(n_strong, TOP)]]
    claim = "called strong" if n_strong >= TOP else "ranked strongest"
    cooling_called = [s.contact for s in scores if "cooling" in s.flags]
    recent = [s.contact for s in sorted(scores, key=_most_recent_first)][: len(strong_called)]
    silent = _longest_silent_active(build_frame(before, as_of), as_of, scores)[: len(cooling_called)]

    chance = {s.contact: s.touch_chance for s in scores}

    def touched(people: list[int]) -> Share:
        return Share(len(people), sum(p in in_touch for p in people))

    def expected(people: list[int]) -> float | None:
        chances = [chance[p] for p in people]
        return None if any(c is None for c in chances) else float(sum(c for c in chances if c is not None))

    def quiet(people: list[int]) -> Share:
        return Share(len(people), sum(p not in in_touch for p in people))

    n, m = len(strong_called), len(cooling_called)
    sentences: list[str] = []
    cooling = cooling_recency = None
    strong, strong_recency = touched(strong_called), touched(recent)
    strong = replace(strong, expected=expected(strong_called))
    foreseen = "" if strong.expected is None else f"; Kith had expected about {round(strong.expected)}"
    sentences.append(
        f"Of the {_ties(n)} Kith {claim} on {when}, you were in touch with {strong.hits} since{foreseen}. "
        f"A plain most-recent-first list got {strong_recency.hits} of {strong_recency.ties}."
    )
    if m >= MIN_CALLED:
        cooling, cooling_recency = quiet(cooling_called), quiet(silent)
        sentences.append(
            f"Of the {_ties(m)} Kith flagged cooling on {when}, {cooling.hits} went quiet (no two-way exchange "
            f"since). Of the {cooling_recency.ties} active ties silent longest then, {cooling_recency.hits} went quiet."
        )
    elif not shown("cooling", gate):
        why = why_hidden("cooling", (gate or MEASURED)["cooling"])
        sentences.append(f"Kith showed no cooling flags on {when}: {why}, so the flag was not shown.")
    elif m == 0:
        sentences.append(f"Kith flagged no tie as cooling on {when}.")
    else:
        sentences.append(f"Kith flagged only {_ties(m)} cooling on {when}: too few to tell how right that was.")
    sentences.append(IN_TOUCH)
    return Evidence(
        as_of,
        until,
        OK,
        round(history, 1),
        len(scores),
        strong,
        strong_recency,
        cooling,
        cooling_recency,
        n_strong,
        m,
        tuple(sentences),
    )


HIDDEN_CLAIM = {
    "cooling": "ties that met its cooling test were in touch afterwards more than half as often as other active ties",
    "dormant": "ties that met its dormant test were back in touch afterwards more than a fifth as often as the average tie",
}


def why_hidden(flag: str, evidence: FlagEvidence) -> str:
    """Why a gated flag is not shown, in words: where its claim was measured and failed."""
    where = {
        "deployment": "the mail of the people using this Kith",
        "organisation": "the mail of the people of your organisation using this Kith",
    }.get(evidence.source, "the mail Kith was tested on")
    return f"on {where}, {HIDDEN_CLAIM[flag]}"


def hidden_now(gate: Mapping[str, FlagEvidence]) -> tuple[str, ...]:
    """A sentence for each gated flag the gate hides now (flag_gate.decide's evidence)."""
    return tuple(
        f"Kith does not show {flag} flags now: {why_hidden(flag, gate[flag])}."
        for flag in GATED
        if flag in gate and not shown(flag, gate)
    )


def _most_recent_first(s: TieScore) -> tuple[float, int]:
    return (-(s.last_interaction if s.last_interaction is not None else -np.inf), s.contact)


def _longest_silent_active(frame: Frame, as_of: float, scores: Sequence[TieScore]) -> list[int]:
    """Ties in two-way touch in the ACTIVE days before `as_of`, the longest silent first."""
    active = set(frame.contacts[two_way_between(frame, as_of - ACTIVE, as_of)].tolist())
    ranked = sorted((s for s in scores if s.contact in active), key=_longest_silent_first)
    return [s.contact for s in ranked]


def _longest_silent_first(s: TieScore) -> tuple[float, int]:
    return (s.last_interaction if s.last_interaction is not None else -np.inf, s.contact)
