"""The lockbox: the people and months of a corpus that development never sees.

Set aside before any tuning (issue 15), so that the closing figures are measured on data
no choice was fitted to:

- **People**: employee `i` is in the lockbox when the first 8 hex digits of
  sha256("kith-lockbox-v1:<i>") are 0 modulo 5 — 39 of the 184 employees (ids 1, 2, 6, 7,
  9, 13, 14, 16, 23, 30, ...). The hash is fixed; nothing about a person (volume, title)
  decides it.
- **Months**: the last three months of the corpus's span (analytics/timeline.py; for
  Enron January-March 2002, `Timeline.lockbox_start` to `Timeline.end`; the 30 stray
  messages dated after March 2002 are outside both). Development reads no message at or
  after the lockbox start, so no feature, label or fitted model can carry them, and a
  development `as_of` must have its whole 90-day outcome window before it. The months are
  read from the mail, so another organisation's corpus gets its own last three.

A corpus too short for the lockbox months and a development date before them (under
about a year; `Timeline.has_lockbox`) has no lockbox, of people or of months: it is mail
we never developed on, scored at its short dates (analytics/timeline.py).

`development_mail` and `development_egos` are the only doors development uses;
`check_development` refuses any evaluation that would touch the lockbox unless the caller
passes `lockbox=True` (the CLI's `--lockbox`, for the issue's final report only).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np

from analytics.corpus import Mail
from analytics.timeline import timeline

SALT = "kith-lockbox-v1"
SHARE = 5  # one in five


class LockboxError(RuntimeError):
    """An evaluation would read the lockbox without being asked to."""


def in_lockbox(employee: int) -> bool:
    digest = hashlib.sha256(f"{SALT}:{int(employee)}".encode()).hexdigest()
    return int(digest[:8], 16) % SHARE == 0


def lockbox_egos(employees: Iterable[int]) -> list[int]:
    return [int(e) for e in employees if in_lockbox(e)]


def development_egos(employees: Iterable[int]) -> list[int]:
    return [int(e) for e in employees if not in_lockbox(e)]


def development_mail(mail: Mail) -> Mail:
    """The same mail with every message at or after the lockbox start removed."""
    return mail_before(mail, timeline(mail).lockbox_start)


def mail_before(mail: Mail, end: float) -> Mail:
    keep = mail.time < end
    idx = np.flatnonzero(keep)
    counts = np.diff(mail.offsets)[idx]
    starts = mail.offsets[idx]
    recipients = (
        np.concatenate([mail.recipients[s : s + n] for s, n in zip(starts.tolist(), counts.tolist())])
        if len(idx)
        else mail.recipients[:0]
    )
    return Mail(
        mail.sender[idx],
        mail.time[idx],
        np.r_[0, np.cumsum(counts)],
        recipients,
        invalid_rows=mail.invalid_rows,
        span=mail.span,
    )


def check_development(
    mail: Mail, egos: Iterable[int], dates: Iterable[float], horizon: float, *, lockbox: bool = False
) -> None:
    """Raise LockboxError unless (egos, dates, mail) stay clear of the lockbox, the caller
    explicitly asked for it, or the corpus is too short to have one."""
    if lockbox or (mail.span is not None and not timeline(mail).has_lockbox):
        return
    bad = lockbox_egos(egos)
    if bad:
        raise LockboxError(f"{len(bad)} lockbox employees among the egos (pass lockbox=True only for the final report)")
    if mail.span is None:
        return  # no mail, no lockbox months to read
    start = timeline(mail).lockbox_start
    late = [d for d in dates if d + horizon > start]
    if late:
        raise LockboxError("an as_of date's outcome window reaches the lockbox months")
    if len(mail) and float(np.max(mail.time)) >= start:
        raise LockboxError("the mail holds lockbox months; pass it through development_mail")
