"""Which few ties to deepen, why, and what to do about each.

Three kinds of candidate, each with a value on a 0..100 scale so they rank together:
a strong tie that is cooling (worth what it was a month ago), a dormant tie with a high
revival value, and a tie where the other side invests more than the user (worth its
strength). The user's feedback wins: "not_relationship" and "snooze" never appear,
"matters" counts half again as much.

Two facts from analytics/awaiting.py come first: a message waiting for the user's answer
is the most concrete thing to do on a tie, so it replaces any other suggestion for it
("awaiting_reply"); and after GUARD_RUN unanswered messages from the user, a suggestion to
reach out (cooling, dormant, they invest more) becomes one to wait for them
("waiting_on_them"), ranked below every suggestion to act.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from collections.abc import Mapping

import numpy as np

from analytics.awaiting import Unanswered, Waiting
from analytics.explain import SILENCE_CAP, SILENCE_SHOWN, flag_silence_words, guard_words, waiting_words
from analytics.reciprocity import Reciprocity
from analytics.rhythm import Rhythm

MAX_DEEPEN = 5
COOLING_MIN_STRENGTH = 30.0
AWAITING_MIN_STRENGTH = 15.0  # a weaker tie's waiting message is not one to deepen
GUARD_SHARE = 0.25  # a "wait for them" ranks at a quarter of the outreach it replaces
EXCLUDED = ("not_relationship", "snooze")
ACTIONS = ("awaiting_reply", "cooling", "dormant", "they_invest_more")


@dataclass(frozen=True)
class Pick:
    index: int  # contact index
    kind: str  # "awaiting_reply" | "cooling" | "dormant" | "they_invest_more" | "waiting_on_them"
    value: float
    reason: str
    suggestion: str


def _every(days: float) -> str:
    if not np.isfinite(days):
        return "regularly"
    if days <= 10:
        return "every week"
    if days <= 20:
        return "every two weeks"
    if days <= 45:
        return "every month"
    return "every few months"


def _month(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%B %Y")


def _day(ts: float) -> str:
    d = datetime.fromtimestamp(ts, timezone.utc)
    return f"{d.day} {d:%B %Y}"


def _dormant_words(rh: Rhythm, i: int) -> tuple[str, str]:
    """(reason, action) for a dormant tie: its best stretch and its last contact, by date."""
    months = max(1, round(rh.silence_days[i] / 30.4))
    reason = (
        f"No personal mail or meeting for {_plural(months, 'month')} after a close stretch "
        f"({_plural(int(rh.peak_days[i]), 'active day')} in its best three months)"
    )
    ratio = float(rh.silence_ratio[i])
    if np.isfinite(ratio) and SILENCE_SHOWN <= ratio < SILENCE_CAP:
        reason += f", {ratio:.0f}x your usual gap"
    last = rh.last_contact[i] if rh.last_contact is not None else np.nan
    if not np.isfinite(last):
        lead = f"You were in close touch until {_month(rh.peak_end[i])} and have not been in touch for {_plural(months, 'month')}"
    else:
        until = min(float(rh.peak_end[i]), float(last))
        if _month(until) == _month(last):
            lead = f"You were in close touch until {_day(last)}, {_plural(months, 'month')} ago"
        else:
            lead = (
                f"You were in close touch until {_month(until)}; your last contact was on {_day(last)}, "
                f"{_plural(months, 'month')} ago"
            )
    return reason, lead + "; send a short note about what you are doing now and ask about them."


def candidates(
    contacts: np.ndarray,
    strength: np.ndarray,
    strength_before: np.ndarray,
    rh: Rhythm,
    rec: Reciprocity,
    met_at_baseline: np.ndarray,
    feedback: Mapping[int, str],
    limit: int = MAX_DEEPEN,
    *,
    waiting: Mapping[int, Waiting] | None = None,
    guarded: Mapping[int, Unanswered] | None = None,
    as_of: float | None = None,
) -> list[Pick]:
    """The short list. `waiting` and `guarded` (by person id, from awaiting.Timeline at
    `as_of`) are the messages waiting for the user and the ties the user keeps writing to
    without an answer."""
    waiting, guarded = waiting or {}, guarded or {}
    picks: list[Pick] = []
    for i in range(len(contacts)):
        person = int(contacts[i])
        fb = feedback.get(person)
        if fb in EXCLUDED:
            continue
        boost = 1.5 if fb == "matters" else 1.0
        then = max(strength[i], strength_before[i] if np.isfinite(strength_before[i]) else 0.0)
        w = waiting.get(person)
        if w is not None and as_of is not None and strength[i] >= AWAITING_MIN_STRENGTH:
            reason, action = waiting_words(w, as_of)
            picks.append(Pick(i, "awaiting_reply", then * boost, reason, action))
            continue
        before = len(picks)
        if rh.cooling[i] and then >= COOLING_MIN_STRENGTH:
            every = _every(rh.interval_days[i])
            recent = int(rh.recent_days[i])
            if met_at_baseline[i]:
                # `every` is the rhythm of all contact, mail included, not of the meetings.
                action = (
                    f"You used to be in touch {every} and have met before; "
                    "suggest a 30-minute catch-up in the next two weeks."
                )
            else:
                action = f"You used to be in touch {every}; send a short personal note this week."
            # The flag's own word comes before it wherever it is shown ("Cooling. ...").
            days = "no active days" if recent == 0 else _plural(recent, "active day")
            reason = f"{days[:1].upper() + days[1:]} in the last 90 days, against about {90 / max(rh.interval_days[i], 1):.0f} before"
            quiet = flag_silence_words(float(rh.silence_ratio[i]), float(rh.silence_days[i]))
            if quiet:
                reason += "; " + quiet[:1].lower() + quiet[1:]
            picks.append(Pick(i, "cooling", then * boost, reason, action))
        elif rh.dormant[i] and rh.revival[i] > 0:
            reason, action = _dormant_words(rh, i)
            picks.append(Pick(i, "dormant", rh.revival[i] * boost, reason, action))
        elif rec.one_sided_them[i]:
            them, you = int(rec.them[i]), int(rec.you[i])
            action = (
                "They keep reaching out; start the next conversation yourself — "
                "answer their last message and propose a call."
            )
            reason = f"They invest more: {them} messages from them against {you} from you in the last year"
            picks.append(Pick(i, "they_invest_more", strength[i] * 0.8 * boost + 10, reason, action))
        g = guarded.get(person)
        if g is not None and len(picks) > before:
            # Every kind above suggests writing to them: after GUARD_RUN unanswered
            # messages, the suggestion is to wait, and the words say why.
            reason, action = guard_words(g)
            picks[-1] = Pick(i, "waiting_on_them", picks[-1].value * GUARD_SHARE, reason, action)
    picks.sort(key=lambda p: (-p.value, int(contacts[p.index])))
    # The best of each kind of action first (a list of five dormant ties says less than one
    # of each), then the rest by value.
    firsts: dict[str, Pick] = {}
    for p in picks:
        if p.kind in ACTIONS:
            firsts.setdefault(p.kind, p)
    lead = sorted(firsts.values(), key=lambda p: (-p.value, int(contacts[p.index])))
    ranked = lead + [p for p in picks if p not in lead]
    return ranked[: min(limit, MAX_DEEPEN)]


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
