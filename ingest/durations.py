"""How long a meeting lasted, in whole seconds, and when that is too long to be one.

    seconds = duration_seconds(start, end)       # None: no end, or an end before the start
    reason = too_long_reason(seconds)            # None, or why the entry is quarantined

An entry's end is as untrusted as the rest of it: an end in the year 9999 after a start in
2026 is a meeting of 7,973 years. Its seconds overflow the store's `duration_s` (a
PostgreSQL integer), so the database refuses the row; a recurring series reached the
database once per occurrence before each was refused (found by the long fuzz profile).
No meeting lasts 68 years, so each parser (.ics, Google, Graph) quarantines such an entry
with `too_long_reason` before anything is stored, and a series is refused once, unexpanded.
"""

from __future__ import annotations

from datetime import datetime

__all__ = ["MAX_DURATION_S", "duration_seconds", "too_long_reason"]

# The store's `duration_s` column is a PostgreSQL integer: 2**31 - 1 seconds, 68 years.
MAX_DURATION_S = 2**31 - 1
_DAY = 86_400
_YEAR = 365.25 * _DAY


def duration_seconds(start: datetime, end: datetime | None) -> int | None:
    if end is None or end < start:
        return None
    return int((end - start).total_seconds())


def too_long_reason(seconds: int | None) -> str | None:
    if seconds is None or seconds <= MAX_DURATION_S:
        return None
    return (
        f"event lasts {seconds // _DAY} days ({seconds / _YEAR:.0f} years); "
        f"more than {MAX_DURATION_S // _DAY} days ({MAX_DURATION_S / _YEAR:.0f} years) is no meeting"
    )
