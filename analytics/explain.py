"""Sentences a person accepts, from the model's largest contributions and plain counts.

The model says which features moved a tie's score most (coefficient x standardised
value); this module turns each into a fact about the tie ("4 one-to-one meetings in the
last 90 days") rather than a feature name, and adds what changed since a month ago.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from collections.abc import Mapping

import numpy as np
from numpy.typing import NDArray

from analytics.awaiting import Unanswered, Waiting
from analytics.columns import group_max, group_min
from analytics.features import F, FEATURES, Snapshot, personal_two_way
from analytics.frame import DAY, IN, OUT, SHARED, Frame
from analytics.introductions import CO_MAX
from analytics.pace import sustained_window

WINDOW = 90 * DAY
LAST_CONVERSATIONS = 12
TOP = 3

PHRASES = {  # what a feature means when it lowers the score, named in the change sentence
    "recency": "a longer silence",
    "days_since_two_way": "no recent two-way exchange",
    "never_two_way": "no two-way exchange",
    "volume_out": "fewer messages from you",
    "volume_in": "fewer messages from them",
    "volume_shared": "fewer shared threads",
    "meeting_hours": "fewer meetings",
    "volume_long": "less contact over the last months",
    "one_to_one_share": "less one-to-one contact",
    "small_group_share": "less small-group contact",
    "tie_age": "the age of the tie",
    "active_weeks": "fewer active weeks",
    "reply_rate_you": "fewer answers from you",
    "reply_rate_them": "fewer answers from them",
    "reply_latency_you": "slower answers from you",
    "reply_latency_them": "slower answers from them",
    "initiations_you": "fewer conversations started by you",
    "initiations_them": "fewer conversations started by them",
    "meetings_you_organised": "fewer meetings organised by you",
    "meetings_they_organised": "fewer meetings organised by them",
    "overlap_closest": "fewer shared close contacts",
    "two_way_weeks": "fewer weeks with two-way contact",
    "two_way_volume": "fewer answered conversations and meetings",
    "two_way_steady": "fewer answered conversations and meetings",
    "two_way_long": "fewer answered conversations and meetings over the year",
    "two_way_rate": "a lower steady rate of two-way contact",
    "two_way_typical": "a lower typical rate of two-way contact",
    "two_way_sustained": "a lower sustained rate of two-way contact",
    "volume_mutual": "less mail both ways",
    "recency_mutual": "a longer silence from one side",
    "silence_ratio": "a silence longer than your usual gap",
    "burstiness": "a burstier rhythm",
    "awaiting_reply": "a message waiting for your answer",
    "inbound_recency": "a longer silence from them",
    "attention_share": "a smaller share of your mail",
    "network_overlap": "fewer people in common",
    "introductions_given": "fewer introductions from you",
    "introductions_received": "fewer introductions from them",
    "two_way_kept": "a silence longer than the tie's pace",
    "contact_kept": "a silence longer than the tie's pace",
    "mail_30": "less mail either way in the last weeks",
    "mail_90": "less mail either way in the last months",
    "mail_365": "less mail either way over the year",
}
# The same features when they raise the score: said for a rise ("Up from 45 to 67 ...,
# mostly more mail both ways"); each is the opposite of its PHRASES entry, written out.
RISES = {
    "recency": "more recent contact",
    "days_since_two_way": "a recent two-way exchange",
    "never_two_way": "a first two-way exchange",
    "volume_out": "more messages from you",
    "volume_in": "more messages from them",
    "volume_shared": "more shared threads",
    "meeting_hours": "more meetings",
    "volume_long": "more contact over the last months",
    "one_to_one_share": "more one-to-one contact",
    "small_group_share": "more small-group contact",
    "tie_age": "the age of the tie",
    "active_weeks": "more active weeks",
    "reply_rate_you": "more answers from you",
    "reply_rate_them": "more answers from them",
    "reply_latency_you": "faster answers from you",
    "reply_latency_them": "faster answers from them",
    "initiations_you": "more conversations started by you",
    "initiations_them": "more conversations started by them",
    "meetings_you_organised": "more meetings organised by you",
    "meetings_they_organised": "more meetings organised by them",
    "overlap_closest": "more shared close contacts",
    "two_way_weeks": "more weeks with two-way contact",
    "two_way_volume": "more answered conversations and meetings",
    "two_way_steady": "more answered conversations and meetings",
    "two_way_long": "more answered conversations and meetings over the year",
    "two_way_rate": "a higher steady rate of two-way contact",
    "two_way_typical": "a higher typical rate of two-way contact",
    "two_way_sustained": "a higher sustained rate of two-way contact",
    "volume_mutual": "more mail both ways",
    "recency_mutual": "more recent contact both ways",
    "silence_ratio": "contact back within your usual gap",
    "burstiness": "a steadier rhythm",
    "awaiting_reply": "no message left waiting for your answer",
    "inbound_recency": "more recent contact from them",
    "attention_share": "a larger share of your mail",
    "network_overlap": "more people in common",
    "introductions_given": "more introductions from you",
    "introductions_received": "more introductions from them",
    "two_way_kept": "two-way contact back at the tie's pace",
    "contact_kept": "contact back at the tie's pace",
    "mail_30": "more mail either way in the last weeks",
    "mail_90": "more mail either way in the last months",
    "mail_365": "more mail either way over the year",
}


@dataclass(frozen=True)
class Facts:
    """Plain counts per contact index, for sentences."""

    sent: np.ndarray  # messages to them, last 90 days
    received: np.ndarray
    shared: np.ndarray
    meetings: np.ndarray
    one_to_one_meetings: np.ndarray
    meeting_hours: np.ndarray
    started_you: np.ndarray  # of the last 12 conversations
    started_total: np.ndarray
    # The window that sets the sustained two-way rate (pace.sustained_window): its days and
    # the two-way exchanges in it
    paced_days: np.ndarray
    paced_events: np.ndarray
    # Days since the last contact of any kind and since the last two-way exchange (NaN:
    # none, or not given): the features cap both at a year, a sentence must not
    last_days: np.ndarray
    two_way_days: np.ndarray
    # Days since the last direct mail or meeting with them (the silence ratio's silence), and
    # since the last with anyone at all (the same for every contact): when the whole mailbox
    # has been quiet, a tie's silence is the mailbox's, not the tie's
    silence_days: np.ndarray
    mailbox_quiet_days: np.ndarray


def facts(frame: Frame, as_of: float, snap: Snapshot | None = None) -> Facts:
    """Counts for sentences; `snap` (features.snapshot at `as_of`) gives the last contacts."""
    k = frame.n_contacts
    m = (frame.t < as_of) & (frame.t >= as_of - WINDOW)
    c, d, meet = frame.c, frame.direction, frame.meeting

    def count(sel: NDArray[np.bool_], weights: np.ndarray | None = None) -> NDArray[np.intp] | NDArray[np.float64]:
        sel = sel & m
        return np.bincount(c[sel], weights=None if weights is None else weights[sel], minlength=k)

    init = np.flatnonzero(frame.initiation & (frame.t < as_of))
    ic = c[init]  # rows are sorted by (contact, time): the last 12 of each group
    counts = np.bincount(ic, minlength=k)
    ends = np.cumsum(counts)
    from_end = ends[ic] - np.arange(len(init))  # 1 = most recent of its contact
    last = from_end <= LAST_CONVERSATIONS
    started_you = np.bincount(ic[last & (d[init] == OUT)], minlength=k)
    started_total = np.bincount(ic[last], minlength=k)
    before = frame.t < as_of
    personal = personal_two_way(frame, end=as_of)
    first = group_min(c[before], frame.t[before], k)
    paced_days, paced_events = sustained_window(frame.t[personal], c[personal], as_of, first, k)
    unknown = np.full(k, np.nan)
    dealt = before & ((d != SHARED) | meet)
    silence_days = (as_of - group_max(c[dealt], frame.t[dealt], k)) / DAY
    mailbox_quiet = np.full(k, (as_of - frame.t[dealt].max()) / DAY if dealt.any() else np.nan)
    last_days = unknown if snap is None else (as_of - snap.last) / DAY
    two_way_days = unknown if snap is None or snap.last_two_way is None else (as_of - snap.last_two_way) / DAY
    return Facts(
        count(~meet & (d == OUT)),
        count(~meet & (d == IN)),
        count(~meet & (d == 0)),
        count(meet),
        count(meet & (frame.size <= 1)),
        count(meet, frame.hours),
        started_you,
        started_total,
        paced_days,
        paced_events,
        last_days,
        two_way_days,
        silence_days,
        mailbox_quiet,
    )


def _plural(n: float, word: str) -> str:
    n = int(round(n))
    if n == 0:
        return f"no {word}s"
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _span(days: float) -> str:
    if days < 60:
        return _plural(days, "day")
    if days < 730:
        return _plural(days / 30.4, "month")
    return _plural(days / 365.25, "year")


def _days(known: float, feature: float) -> float:
    """Days since an event: the fact when known, else the feature (log1p days, capped at a
    year, so "12 months" could stand for any longer silence)."""
    return float(known) if np.isfinite(known) else float(np.expm1(feature))


def sentence(name: str, i: int, x: np.ndarray, fx: Facts, ledger: Mapping[str, np.ndarray]) -> str | None:
    """One fact for feature `name` of contact index i (x: that contact's raw features)."""
    v = x[F[name]]
    if name == "recency":
        days = _days(fx.last_days[i], v)
        return "In touch within the last week" if days < 7 else f"Last in touch {_span(days)} ago"
    if name in ("days_since_two_way", "never_two_way"):
        if x[F["never_two_way"]]:
            return "No two-way exchange yet: nobody has answered the other"
        return f"Last two-way exchange {_span(_days(fx.two_way_days[i], x[F['days_since_two_way']]))} ago"
    if name == "volume_out":
        return f"You sent them {_plural(fx.sent[i], 'message')} in the last 90 days"
    if name == "silence_ratio":
        ratio, quiet, silent = float(np.expm1(v)), fx.mailbox_quiet_days[i], fx.silence_days[i]
        if (
            np.isfinite(quiet)
            and np.isfinite(silent)
            and silent > 0
            and ratio * max(0.0, 1 - quiet / silent) < SILENCE_SHOWN
        ):
            return None  # counted to the mailbox's last message, the silence is the rhythm
        return silence_words(ratio)
    if name == "volume_in":
        return f"They sent you {_plural(fx.received[i], 'message')} in the last 90 days"
    if name == "recency_mutual":
        days = np.expm1(v)
        if days < 7:
            return "Both of you wrote or met within the last week"
        if days >= 364.5:  # the feature's cap: the silence may be longer
            return "One of you has not written to or met the other for a year or more"
        return f"Both of you last wrote or met within {_span(days)}"
    if name == "volume_mutual":
        return (
            f"{_plural(fx.sent[i], 'message')} to them and {_plural(fx.received[i], 'message')} "
            "from them in the last 90 days"
        )
    if name == "volume_shared":
        n = int(fx.shared[i])
        if n == 0:
            return "No message from others went to you both in the last 90 days"
        return f"{_plural(n, 'message')} from others went to you both in the last 90 days"
    if name == "meeting_hours":
        if fx.meetings[i] == 0:
            return "No meetings together in the last 90 days"
        if fx.one_to_one_meetings[i] == fx.meetings[i]:
            return f"{_plural(fx.meetings[i], 'one-to-one meeting')} in the last 90 days"
        return (
            f"{_plural(fx.meetings[i], 'meeting')} ({fx.meeting_hours[i]:.0f} h) in the last 90 days, "
            f"{int(fx.one_to_one_meetings[i])} of them one-to-one"
        )
    if name == "volume_long":
        weeks = round(x[F["active_weeks"]] * 52)
        return f"Contact on {weeks} of the last 52 weeks" if weeks else "No contact in any of the last 52 weeks"
    if name == "one_to_one_share":
        return f"{round(100 * v)}% of the last year's contact was one-to-one"
    if name == "small_group_share":
        return f"{round(100 * v)}% of the last year's contact was in groups of five or fewer"
    if name == "tie_age":
        return f"You have been in touch for {_span(np.expm1(v))}"
    if name == "active_weeks":
        weeks = round(v * 52)
        return f"In touch in {weeks} of the last 52 weeks" if weeks else "No contact in any of the last 52 weeks"
    if name == "reply_rate_you":
        return f"You answer about {round(100 * v)}% of their messages within a week"
    if name == "reply_rate_them":
        return f"They answer about {round(100 * v)}% of your messages within a week"
    if name in ("reply_latency_you", "reply_latency_them"):
        key = "median_reply_hours_you" if name.endswith("you") else "median_reply_hours_them"
        h = ledger[key][i]
        if np.isnan(h):
            return None
        who = "You usually answer them" if name.endswith("you") else "They usually answer you"
        return f"{who} in {_hours(h)}"
    if name in ("initiations_you", "initiations_them"):
        if fx.started_total[i] == 0:
            return "Nobody has started a conversation lately"
        return f"You started {int(fx.started_you[i])} of the last {_plural(fx.started_total[i], 'conversation')}"
    if name == "meetings_you_organised":
        return f"You organised {_plural(ledger['meetings_you_organised'][i], 'meeting')} with them in 180 days"
    if name == "meetings_they_organised":
        return f"They invited you to {_plural(ledger['meetings_they_organised'][i], 'meeting')} in 180 days"
    if name == "two_way_sustained":
        return paced_words(int(fx.paced_events[i]), float(fx.paced_days[i]))
    if name in ("two_way_rate", "two_way_typical"):
        return f"{_monthly(float(np.expm1(v))).capitalize()} (answered conversations or meetings)"
    if name == "two_way_weeks":
        weeks = round(v * 13)
        return (
            f"Two-way contact in {weeks} of the last 13 weeks" if weeks else "No two-way contact in the last 13 weeks"
        )
    if name in ("two_way_volume", "two_way_steady", "two_way_long"):
        return (
            f"{_plural(ledger['replies_by_you'][i] + ledger['replies_by_them'][i], 'answer')} "
            f"and {_plural(ledger['meetings_you_organised'][i] + ledger['meetings_they_organised'][i], 'meeting')} "
            "between you in 180 days"
        )
    if name == "network_overlap":
        # signals._overlap: distinct others on one message or meeting with them (of at most
        # CO_MAX people) in the last year, over the user's other people of that year
        share = 100 * float(v)
        if share <= 0:
            return f"None of your other contacts of the last year was on a message or meeting of up to {CO_MAX} people with them"
        shown = "Under 1%" if share < 1 else f"{min(round(share), 100)}%"
        return (
            f"{shown} of your other contacts of the last year were on a message or meeting of up to {CO_MAX} people "
            "with them"
        )
    if name == "overlap_closest":
        return f"{round(100 * v)}% of the people you share with them are among your closest contacts"
    return None


def paced_words(events: int, days: float) -> str:
    """The window the sustained two-way rate rests on, in words: "No two-way exchange in
    the last 12 months", "216 two-way exchanges in the last 2 years, about 9 a month"."""
    span = "day" if days < 1.5 else _span(days)  # a tie first seen today
    if events == 0:
        return f"No two-way exchange in the last {span}"
    text = f"{_plural(events, 'two-way exchange')} in the last {span}"
    monthly = events / max(days, 1.0) * 30.4
    if days >= 180 and monthly >= 1.5:
        text += f", about {monthly:.0f} a month"
    return text


SILENCE_SHOWN = 2.0  # a silence under twice the usual gap is the rhythm, not news
SILENCE_CAP = 99.5  # signals.py caps the ratio at 100, and gives 100 to a tie never active


def silence_words(ratio: float, name: str | None = None) -> str | None:
    """The silence ratio in words: "Quiet for 3.4x your usual gap with Ana"."""
    if not np.isfinite(ratio) or ratio < SILENCE_SHOWN or ratio >= SILENCE_CAP:
        return None  # the rhythm itself, or no rhythm to compare with (the feature's cap)
    shown = f"{ratio:.0f}" if ratio >= 10 else f"{ratio:.1f}"
    return f"Quiet for {shown}x your usual gap with {name or 'them'}"


def flag_silence_words(ratio: float, days: float) -> str | None:
    """The silence a cooling or dormant flag rests on (personal mail and meetings of at most
    three others): "No personal mail or meeting with them for 75 days, 12x your usual gap"."""
    if not np.isfinite(days):
        return None
    span = _span(days)
    if not np.isfinite(ratio) or ratio < SILENCE_SHOWN or ratio >= SILENCE_CAP:
        return f"No personal mail or meeting with them for {span}"
    shown = f"{ratio:.0f}" if ratio >= 10 else f"{ratio:.1f}"
    return f"No personal mail or meeting with them for {span}, {shown}x your usual gap"


def _monthly(rate: float) -> str:
    """A rate of two-way exchanges a month in words: "about 3 two-way exchanges a month",
    "about one two-way exchange every 10 months" (never "0.1 exchanges")."""
    if rate >= 0.95:
        n = round(rate)
        return "about one two-way exchange a month" if n == 1 else f"about {n} two-way exchanges a month"
    if rate <= 0.0:
        return "no two-way exchange in a typical month"
    months = round(1.0 / rate)
    return f"about one two-way exchange every {months} months"


def _hours(h: float) -> str:
    if h < 1:
        return "under an hour"
    if h < 48:
        return f"about {_plural(h, 'hour')}"
    return f"about {_plural(h / 24, 'day')}"


def explain(
    i: int,
    x: np.ndarray,
    contrib: np.ndarray,
    fx: Facts,
    ledger: Mapping[str, np.ndarray],
    strength: float,
    strength_before: float | None,
    contrib_before: np.ndarray | None,
    order: np.ndarray | None = None,
) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    if order is None:
        order = np.argsort(-np.abs(contrib), kind="stable")
    for j in order.tolist():
        s = sentence(FEATURES[j], i, x, fx, ledger)
        s = s[:1].upper() + s[1:] if s else s  # "no messages to them and ..." starts a sentence
        if s and s not in seen:
            out.append(s)
            seen.add(s)
        if len(out) >= TOP:
            break
    quiet = sentence("silence_ratio", i, x, fx, ledger)
    if quiet and quiet not in seen:
        out.append(quiet)
    if strength_before is None:
        out.append("New in the last 30 days")
    else:
        delta = strength - strength_before
        if abs(delta) < 5:
            out.append(f"About as strong as 30 days ago, when it was {strength_before:.0f}")
        else:
            why = ""
            if contrib_before is not None:
                diff = contrib - contrib_before
                j = int(np.argmin(diff) if delta < 0 else np.argmax(diff))
                word = (RISES if delta > 0 else PHRASES)[FEATURES[j]]
                why = f", mostly {word}"
            verb = "Up" if delta > 0 else "Down"
            out.append(f"{verb} from {strength_before:.0f} to {strength:.0f} over the last 30 days{why}")
    return out


def _day(ts: float) -> str:
    d = datetime.fromtimestamp(ts, timezone.utc)
    return f"{d.day} {d.strftime('%B %Y')}"


def _within(seconds: float) -> str:
    hours = seconds / 3600.0
    if hours < 1.5:
        return "within an hour"
    if hours < 20:
        return f"within {round(hours)} hours"
    if hours < 36:
        return "within a day"
    return f"within {round(hours / 24)} days"


def waiting_words(w: Waiting, as_of: float) -> tuple[str, str]:
    """(reason, suggestion) for a message waiting for the user's answer."""
    # "they wrote to you 4 times, the first on 8 November 2026 (29 days ago)"
    wrote = "wrote to you" if w.messages == 1 else f"wrote to you {w.messages} times, the first"
    waited = _span((as_of - w.since) / 86400.0)
    if w.basis == "them":
        habit = f"; you usually answer them {_within(w.usual_s)}"
    elif w.basis == "overall":
        habit = f"; you usually answer people {_within(w.usual_s)}"
    else:
        habit = ""
    reason = f"Awaiting your reply: they {wrote} on {_day(w.since)} ({waited} ago){habit}"
    return reason, f"Answer their message of {_day(w.since)}: it has waited {waited}{habit}."


def guard_words(u: Unanswered) -> tuple[str, str]:
    """(reason, suggestion) for a tie where the user's last messages went unanswered."""
    heard = (
        f"they last wrote or met you on {_day(u.last_heard)}" if u.last_heard is not None else "they never wrote back"
    )
    reason = f"Your last {u.messages} messages to them, since {_day(u.since)}, have had no answer; {heard}"
    suggestion = (
        f"Leave the next move to them: you have written {u.messages} times since {_day(u.since)} "
        "without an answer, so Kith will not suggest writing again."
    )
    return reason, suggestion
