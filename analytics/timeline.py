"""When a corpus's mail runs, and the dates the yardstick scores at, read from the mail.

Nothing here names a year: another organisation's mail in the corpus's form is scored over
its own months, and a corpus moved in time is scored the same way. For the Enron edition
the rules below give the calendar the lockbox was set aside with (and the figures of every
earlier session were measured on):

- **Span**: the longest run of consecutive calendar months (UTC) each holding at least a
  tenth of the median month's messages. Enron: May 1999 to March 2002; the 30 stray
  messages of April to June 2002 and the sparse months of 1998-1999 fall outside.
- **Lockbox months**: the span's last three (January to March 2002).
- **Development dates**: the first of each month whose 90-day outcome window ends before
  the lockbox months, the latest ten of them (1 January to 1 October 2001), none within
  the span's first 180 days.
- **Earlier dates**: the six months before the development dates (1 July to 1 December
  2000), for a check on another period.
- **Lockbox dates**: the months after the development dates whose outcome window ends by
  the span's end (1 November 2001 to 1 January 2002).
- **Prior cutoff**: the shipped prior's labels end before the first of the last seven
  development dates (1 April 2001), the dates `analytics.backtest.run` scores.

A corpus too short for a development date (under about a year: 180 days of history, a
90-day outcome window and the lockbox months) has no lockbox: mail we never developed on
has nothing to hide from us. Its **short dates** are the first of each month with at
least 90 days of mail before it and its 90-day outcome window inside the span; the
yardstick scores them with the shipped prior, each mailbox starting where the corpus
starts (analytics/backtest.py).
A span of about six months gives one such date.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import ArrayLike

DAY = 86400.0
HORIZON = 90 * DAY  # the outcome window after each as_of
SPAN_SHARE = 0.1  # a month is in the span with at least this share of the median month's messages
LOCKBOX_MONTHS = 3
MIN_HISTORY = 180 * DAY  # no scoring date within the span's first 180 days
SHORT_HISTORY = 90 * DAY  # in a corpus too short for a lockbox: no date within its first 90 days
DEVELOPMENT_DATES = 10
EARLIER_DATES = 6
BACKTEST_DATES = 7


def _month(m: np.datetime64) -> float:
    return float(m.astype("datetime64[s]").astype(np.int64))


def span(times: ArrayLike) -> tuple[float, float] | None:
    """(first day of the span's first month, first day of the month after it), epoch
    seconds UTC; None without mail."""
    t = np.asarray(times, np.float64)
    t = t[np.isfinite(t)]
    if not len(t):
        return None
    months = np.floor(t).astype(np.int64).astype("datetime64[s]").astype("datetime64[M]")
    present, counts = np.unique(months, return_counts=True)
    every = np.arange(present[0], present[-1] + 1)
    per_month = np.zeros(len(every), np.int64)
    per_month[(present - present[0]).astype(np.int64)] = counts
    ok = per_month >= SPAN_SHARE * float(np.median(counts))
    best, best_len, run_start = 0, 0, 0
    for i, good in enumerate(ok.tolist() + [False]):
        if not good:
            if i - run_start >= best_len:  # ties go to the later run
                best, best_len = run_start, i - run_start
            run_start = i + 1
    return _month(every[best]), _month(every[best + best_len - 1] + 1)


@dataclass(frozen=True)
class Timeline:
    """A corpus's span and the yardstick's dates within it (epoch seconds UTC)."""

    start: float
    end: float

    def _months(self) -> list[float]:
        first = np.datetime64(int(self.start), "s").astype("datetime64[M]")
        last = np.datetime64(int(self.end), "s").astype("datetime64[M]")
        return [_month(m) for m in np.arange(first, last + 1)]

    def _lockbox_months_start(self) -> float:
        months = self._months()
        return months[max(0, len(months) - 1 - LOCKBOX_MONTHS)]

    @property
    def has_lockbox(self) -> bool:
        """Whether the span is long enough for the lockbox months and a development date
        before them (otherwise the corpus is short: see `short_dates`)."""
        return bool(self.development_dates(1))

    @property
    def lockbox_start(self) -> float:
        """The first moment of the lockbox months; the span's end when it has none."""
        return self._lockbox_months_start() if self.has_lockbox else self.end

    def _scorable(self) -> list[float]:
        return [t for t in self._months() if t >= self.start + MIN_HISTORY]

    def development_dates(self, n: int = DEVELOPMENT_DATES) -> list[float]:
        """The latest n monthly dates whose outcome windows end before the lockbox months."""
        dates = [t for t in self._scorable() if t + HORIZON <= self._lockbox_months_start()]
        return dates[-n:] if n else []

    def short_dates(self) -> list[float]:
        """A corpus without a lockbox: every monthly date with at least 90 days of mail
        before it whose outcome window ends by the span's end ([] when it has a lockbox)."""
        if self.has_lockbox:
            return []
        return [t for t in self._months() if t >= self.start + SHORT_HISTORY and t + HORIZON <= self.end]

    def earlier_dates(self, n: int = EARLIER_DATES) -> list[float]:
        """The n monthly dates before the development dates."""
        first = self.development_dates()[:1]
        dates = [t for t in self._scorable() if first and t < first[0]]
        return dates[-n:] if n else []

    def lockbox_dates(self) -> list[float]:
        """Dates after the development dates whose outcome windows reach into the lockbox
        months and end by the span's end."""
        last = self.development_dates()[-1:]
        return [t for t in self._scorable() if last and t > last[0] and t + HORIZON <= self.end]

    @property
    def prior_cutoff(self) -> float:
        dates = self.development_dates()
        if not dates:
            raise ValueError(self.too_short())
        return dates[-BACKTEST_DATES:][0]

    @property
    def months(self) -> int:
        """Calendar months in the span."""
        return len(self._months()) - 1

    def too_short(self) -> str:
        if self.short_dates():
            return (
                f"the mail spans {self.months} months; development dates, earlier dates and the lockbox need at "
                f"least {(MIN_HISTORY + HORIZON) / DAY / 30.4 + LOCKBOX_MONTHS:.0f} (180 days of history, a "
                f"90-day outcome window and {LOCKBOX_MONTHS} lockbox months)"
            )
        return (
            f"the mail spans {self.months} months; the yardstick needs at least "
            f"{(SHORT_HISTORY + HORIZON) / DAY / 30.4:.0f} (90 days of history and a 90-day outcome window)"
        )


class Spanned(Protocol):
    """What `timeline` reads of a corpus (analytics.corpus.Mail)."""

    @property
    def span(self) -> tuple[float, float] | None: ...


def development_timeline(mail: Spanned) -> Timeline:
    """For the command-line tools that fit or tune on development dates: the timeline, or
    a stop with the reason when the corpus has no dated mail or is too short for a lockbox."""
    if mail.span is None:
        raise SystemExit("no mail with a valid date")
    span = timeline(mail)
    if not span.has_lockbox:
        raise SystemExit(span.too_short())
    return span


def timeline(mail: Spanned) -> Timeline:
    """The timeline of the corpus `mail` was read from (kept through cuts such as
    lockbox.development_mail, so a cut corpus keeps its lockbox months)."""
    if mail.span is None:
        raise ValueError("no mail with a valid date")
    return Timeline(*mail.span)
