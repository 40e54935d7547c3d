"""Where a user's mail ends, and the moment their ties are scored at by default.

A mailbox that stopped long ago (an old export, an account no longer used) scored "as of
today" has every tie silent for years: all zero, all fading, in no useful order. The rule:
when the newest interaction up to now is more than `ENDED_AFTER` (90 days) old, the mail
has *ended*, and ties are scored as of the end of the day of that newest interaction
(midnight UTC after it), so they read as they stood when the mail stopped. Every surface
that shows such ties says so with `notice` (CLI, API, dashboard, digest).

An explicit `as_of` (`kith score --as-of`, `?as_of=`) is always honoured as given.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone

ENDED_AFTER = timedelta(days=90)


@dataclass(frozen=True)
class Horizon:
    latest: datetime | None  # the newest interaction not after now; None: no mail at all
    now: datetime

    @property
    def ended(self) -> bool:
        return self.latest is not None and self.now - self.latest > ENDED_AFTER

    @property
    def as_of(self) -> datetime:
        """The default moment to score at: now, or the midnight after the newest mail."""
        if not self.ended or self.latest is None:
            return self.now
        day = self.latest.astimezone(timezone.utc).date() + timedelta(days=1)
        return datetime.combine(day, time(0), tzinfo=timezone.utc)

    def notice(self) -> str | None:
        """One sentence for a person, or None when the mail is current."""
        if not self.ended or self.latest is None:
            return None
        return (
            f"Your newest mail or meeting is from {long_date(self.latest)}, "
            f"{span_words((self.now - self.latest).days)} ago, so Kith scored your ties as of that day "
            "rather than today."
        )

    def as_dict(self) -> dict:
        """The API's `mail` object."""
        return {
            "latest": self.latest,
            "ended": self.ended,
            "scored_as_of": self.as_of if self.ended else None,
            "notice": self.notice(),
        }


def long_date(moment: datetime) -> str:
    d = moment.astimezone(timezone.utc)
    return f"{d.day} {d:%B %Y}"


def span_words(days: int) -> str:
    if days < 60:
        return f"{days} days"
    if days < 730:
        return f"{round(days / 30.4)} months"
    return f"{round(days / 365.25)} years"


# The newest interaction at or before now: a calendar also holds meetings to come.
LATEST_SQL = "SELECT max(occurred_at) FROM interactions WHERE user_id = %s AND occurred_at <= %s"


def latest_interaction(conn, user_id: int, now: datetime) -> datetime | None:
    row = conn.execute(LATEST_SQL, (user_id, now)).fetchone()
    return row[0] if row else None


def horizon(conn, user_id: int, now: datetime | None = None) -> Horizon:
    now = now or datetime.now(timezone.utc).replace(microsecond=0)
    return Horizon(latest_interaction(conn, user_id, now), now)


def scoring_moment(conn, user_id: int, now: datetime | None = None) -> datetime:
    """The moment to score at when none was asked for (see the module's rule)."""
    return horizon(conn, user_id, now).as_of
