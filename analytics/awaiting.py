"""Who is waiting for the user's answer, and whom the user keeps writing to unanswered.

Two facts about a tie at `as_of`, from the same Exchange records scoring reads:

- **awaiting reply**: the contact opened a conversation with the user directly (the user
  on the To line, at most DIRECT_MAX people besides the user; not an answer to the user:
  no In-Reply-To to the user's mail, and no word from the user in the GAP before it, as
  the last message of a conversation needs no answer) and the user has not written back since, for
  longer than the user's own usual reply time to that person — the median over their
  answered messages when there are MIN_REPLIES of them, else the user's usual time over
  everyone, else DEFAULT_USUAL — and no longer than STALE (an older silence is no longer
  a message waiting; rhythm and cooling speak for it).
- **unanswered run** (the ghosting guard): direct messages from the user to the contact
  since the contact last wrote to the user or met them. From GUARD_RUN on, Kith stops
  suggesting that the user reach out.

"Wrote back" and "heard from" are generous on purpose, since either one only ever takes a
suggestion away: any mail from one with the other on it (To, Cc or Bcc, any size), or any
meeting both attended. Nothing at or after `as_of` is read.

    timeline = Timeline.of(exchanges)          # once per history
    timeline.waiting(as_of)  -> {contact: Waiting}
    timeline.unanswered(as_of) -> {contact: Unanswered}
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from statistics import median

import numpy as np
from numpy.typing import NDArray

from analytics.columns import Columns
from analytics.records import USER, Exchange

HOUR = 3600.0
DAY = 24 * HOUR
DIRECT_MAX = 3  # people besides the user on a message that counts as written to them
MIN_REPLIES = 3  # answered messages from a person before their own usual time is used
DEFAULT_USUAL = 2 * DAY  # nothing known of the user's habit
MIN_WAIT = 12 * HOUR  # under this, an unanswered message is not yet waiting
STALE = 30 * DAY  # beyond this, an answer is no answer to it and it is no longer waiting
GUARD_RUN = 3  # the user's unanswered messages in a row that stop "reach out"
GAP = 7 * DAY  # a message within this of the user's last word answers it (analytics.frame.GAP)


@dataclass(frozen=True, slots=True)
class Waiting:
    """A message to the user, waiting for an answer at `as_of`."""

    contact: int
    since: float  # the first of their unanswered direct messages (epoch seconds)
    messages: int  # their direct messages since the user last wrote to them
    usual_s: float  # the user's usual reply time the wait is judged against
    basis: str  # "them": the user's time with this person; "overall"; "default"


@dataclass(frozen=True, slots=True)
class Unanswered:
    """Direct messages from the user to the contact with nothing back from them since."""

    contact: int
    messages: int
    since: float  # the first of them
    last_heard: float | None  # their last mail to the user or meeting with them (None: never)


def is_direct(x: Exchange, to: int) -> bool:
    """`x` is mail written to `to` on the To line, to at most DIRECT_MAX people besides the user."""
    return x.kind == "email" and to in x.recipients and to not in x.cc and x.size() <= DIRECT_MAX


@dataclass(frozen=True)
class _Track:
    """One contact's history, in time order."""

    direct_in: list[float]  # their direct messages to the user
    opens: list[float]  # those of them that open a conversation rather than answer one
    user_spoke: list[float]  # the user's mail with them on it, and meetings together
    direct_out: list[float]  # the user's direct messages to them
    they_spoke: list[float]  # their mail with the user on it, and meetings together


class Timeline:
    """Each contact's direct messages and answers either way, indexed for any `as_of`."""

    def __init__(self, tracks: dict[int, _Track]) -> None:
        self.tracks = tracks
        # (start of a run of their direct messages, the user's next word after it)
        self.runs: dict[int, list[tuple[float, float]]] = {c: _runs(t.opens, t.user_spoke) for c, t in tracks.items()}

    @classmethod
    def of(cls, exchanges: Iterable[Exchange]) -> Timeline:
        return cls.of_columns(Columns.of(list(exchanges)))

    @classmethod
    def of_columns(cls, x: Columns) -> Timeline:
        """The timeline of the exchanges behind `x`, in any order (score_ties passes the frame's)."""
        size = np.where(x.audience != 0, x.audience, np.maximum(x.others, 1))  # Exchange.size()
        user_keys = {k for k in map(x.key.__getitem__, np.flatnonzero((x.sender == USER) & x.email).tolist()) if k}
        # One row per exchange and person on it besides the user; the sender's row for mail to the user.
        other = x.person != USER
        meeting = x.meeting[x.row_ex]
        mine = ~meeting & (x.sender[x.row_ex] == USER)
        small = size[x.row_ex] <= DIRECT_MAX
        spoke = other & (meeting | mine)
        out = spoke & mine & x.email[x.row_ex] & x.in_to & small
        theirs = ~x.meeting & (x.sender != USER) & x.user_in_rec
        they = other & (meeting | (theirs[x.row_ex] & (x.person == x.sender[x.row_ex])))
        direct = theirs & x.email & ~x.user_in_cc & (size <= DIRECT_MAX)
        d_ex = np.flatnonzero(direct)
        answered = np.fromiter(
            map(user_keys.__contains__, map(x.reply_to.__getitem__, d_ex.tolist())), np.bool_, len(d_ex)
        )

        def by_contact(c: NDArray[np.int64], t: NDArray[np.float64]) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
            order = np.lexsort((t, c))
            return c[order], t[order]

        us_c, us_t = by_contact(x.person[spoke], x.at[x.row_ex[spoke]])
        out_c, out_t = by_contact(x.person[out], x.at[x.row_ex[out]])
        ts_c, ts_t = by_contact(x.person[they], x.at[x.row_ex[they]])
        in_c, in_t = by_contact(x.sender[d_ex], x.at[d_ex])
        ans_c, ans_t = by_contact(x.sender[d_ex[answered]], x.at[d_ex[answered]])
        # An open: no In-Reply-To to the user's mail at that instant, and no word from the
        # user in the GAP before it.
        at = _place(ans_c, ans_t, in_c, in_t)  # the first answer at or after each message
        hit = np.minimum(at, max(len(ans_c) - 1, 0))
        replied = (at < len(ans_c)) & (ans_c[hit] == in_c) & (ans_t[hit] == in_t) if len(ans_c) else at < 0
        before = _place(us_c, us_t, in_c, in_t) - 1  # the user's last word before each message
        last = np.maximum(before, 0)
        quiet = (before < 0) | (us_c[last] != in_c) | (us_t[last] < in_t - GAP) if len(us_c) else before < 0
        open_c, open_t = in_c[quiet & ~replied], in_t[quiet & ~replied]

        contacts = np.unique(np.r_[us_c, ts_c, x.sender[theirs]]).tolist()
        lists = [
            _split(c, t, contacts)
            for c, t in ((in_c, in_t), (open_c, open_t), (us_c, us_t), (out_c, out_t), (ts_c, ts_t))
        ]
        return cls({c: _Track(*(column[i] for column in lists)) for i, c in enumerate(contacts)})

    def usual(self, as_of: float) -> tuple[dict[int, float], float | None]:
        """The user's median reply time per contact (MIN_REPLIES answers or more) and over
        everyone, from answers given before `as_of` within STALE."""
        per: dict[int, float] = {}
        everyone: list[float] = []
        for c, runs in self.runs.items():
            lags = [end - start for start, end in runs if end < as_of and end - start <= STALE]
            everyone += lags
            if len(lags) >= MIN_REPLIES:
                per[c] = median(lags)
        return per, (median(everyone) if len(everyone) >= MIN_REPLIES else None)

    def waiting(self, as_of: float) -> dict[int, Waiting]:
        per, overall = self.usual(as_of)
        out: dict[int, Waiting] = {}
        for c, runs in self.runs.items():
            open_runs = [(s, e) for s, e in runs if s < as_of <= e]
            if not open_runs:
                continue
            start = open_runs[-1][0]
            if c in per:
                usual, basis = per[c], "them"
            elif overall is not None:
                usual, basis = overall, "overall"
            else:
                usual, basis = DEFAULT_USUAL, "default"
            waited = as_of - start
            if waited > max(usual, MIN_WAIT) and waited <= STALE:
                direct_in = self.tracks[c].direct_in
                n = bisect_left(direct_in, as_of) - bisect_left(direct_in, start)
                out[c] = Waiting(c, start, n, usual, basis)
        return out

    def unanswered(self, as_of: float) -> dict[int, Unanswered]:
        out: dict[int, Unanswered] = {}
        for c, t in self.tracks.items():
            heard = bisect_left(t.they_spoke, as_of)
            last = t.they_spoke[heard - 1] if heard else None
            # A message at the same instant as their last word is not after it.
            lo = bisect_right(t.direct_out, last) if last is not None else 0
            hi = bisect_left(t.direct_out, as_of)
            if hi > lo:
                out[c] = Unanswered(c, hi - lo, t.direct_out[lo], last)
        return out

    def guarded(self, as_of: float, run: int = GUARD_RUN) -> dict[int, Unanswered]:
        """Ties where "reach out" is no longer suggested: `run` or more unanswered messages."""
        return {c: u for c, u in self.unanswered(as_of).items() if u.messages >= run}


def _runs(direct_in: Sequence[float], user_spoke: Sequence[float]) -> list[tuple[float, float]]:
    """Runs of their direct messages, each with the user's first word after its start
    (inf: none yet). A run ends at that word; the next direct message starts a new one."""
    out: list[tuple[float, float]] = []
    i = 0
    while i < len(direct_in):
        start = direct_in[i]
        j = bisect_right(user_spoke, start)
        end = user_spoke[j] if j < len(user_spoke) else float("inf")
        out.append((start, end))
        i = bisect_right(direct_in, end)
    return out


def _place(
    dc: NDArray[np.int64],
    dt: NDArray[np.float64],
    qc: NDArray[np.int64],
    qt: NDArray[np.float64],
) -> NDArray[np.int64]:
    """For each query (qc, qt): where it would go among the data rows (dc, dt), sorted by
    (c, t), before any equal row (as bisect_left places it)."""
    nd, nq = len(dc), len(qc)
    # Sorted together, queries before equal data: a query's place less the queries before
    # it is the number of data rows below it.
    tag = np.r_[np.ones(nd, bool), np.zeros(nq, bool)]
    order = np.lexsort((tag, np.r_[dt, qt], np.r_[dc, qc]))
    place = np.flatnonzero(order >= nd)
    below = np.empty(nq, np.int64)
    below[order[place] - nd] = place - np.arange(nq)
    return below


def _split(c: NDArray[np.int64], t: NDArray[np.float64], contacts: list[int]) -> list[list[float]]:
    """The times of each contact in `contacts`, as lists, from rows sorted by (c, t)."""
    lo = np.searchsorted(c, contacts, side="left").tolist()
    hi = np.searchsorted(c, contacts, side="right").tolist()
    times = t.tolist()
    return [times[a:b] for a, b in zip(lo, hi)]


def awaiting_column(timeline: Timeline, contacts: Sequence[int], as_of: float) -> list[float]:
    """1.0 for each contact with a message waiting at `as_of`, else 0.0 (a feature column)."""
    waiting = timeline.waiting(as_of)
    return [1.0 if c in waiting else 0.0 for c in contacts]
