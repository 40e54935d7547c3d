"""Who is due for their digest, and the sweep that enqueues them (run by `kith scheduler`,
service.jobs.scheduler, with APScheduler 3).

The schedule is not one cron job per user (those would have to be rebuilt whenever a user
is added or changes their weekday, hour or time zone). It is one APScheduler cron job,
every five minutes on the wall clock, that asks the database who is due *now*:

- A user's digest for a week is due from their weekday and hour, in their time zone, on
  that week's calendar (`due_at`), for `CATCH_UP` hours: a scheduler that was down for a
  while still sends, one that was down for days does not send stale mail.
- Time zones and daylight saving come from zoneinfo. A chosen hour that does not exist
  that day (clocks jump forward) fires at the first instant after the jump; an hour that
  happens twice (clocks fall back) fires at the first one. Either way, once: the outbox
  is keyed by (user, week), not by instant.
- Users added or changed while the scheduler runs are seen at the next sweep.
- The sweep skips weeks whose outbox row is already sent or skipped, and marks each
  enqueue in Redis for `REQUEUE_AFTER` so a waiting message is not enqueued again every
  five minutes; after that, a digest still not sent (a worker died, a message was lost)
  is enqueued again. Enqueueing twice is harmless: the outbox sends once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

log = logging.getLogger(__name__)

CATCH_UP = timedelta(hours=12)
REQUEUE_AFTER = timedelta(minutes=30)
SWEEP_MINUTES = "*/5"
ENQUEUE_KEY = "kith:digest:enqueued:{user_id}:{week}"


@dataclass(frozen=True, slots=True)
class Preference:
    user_id: int
    timezone: str
    weekday: int  # 0 = Monday
    hour: int
    snooze_until: date | None = None  # the whole digest is paused until this date (inclusive)

    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (KeyError, ValueError):
            return ZoneInfo("UTC")


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def due_at(pref: Preference, week: date) -> datetime:
    """The UTC instant of the user's digest in `week` (a Monday, their local calendar)."""
    local = datetime.combine(week + timedelta(days=pref.weekday), time(pref.hour), tzinfo=pref.zone())
    # zoneinfo resolves a wall time in a spring-forward gap with the offset from before the
    # jump (fold=0), i.e. to the first real instant after it; in a fall-back overlap, fold=0
    # is the first of the two instants. Round-tripping through UTC makes that explicit.
    return local.astimezone(timezone.utc)


def due_week(pref: Preference, now: datetime) -> date | None:
    """The week whose digest is due at `now`, if any (this week's or, near the week's
    turn, last week's still within its catch-up window)."""
    today = now.astimezone(pref.zone()).date()
    this_week = week_start(today)
    for week in (this_week, this_week - timedelta(days=7)):
        start = due_at(pref, week)
        if start <= now < start + CATCH_UP:
            return week
    return None


def preferences(conn) -> list[Preference]:
    """Every user who wants the digest, as of this moment (new and changed users included)."""
    rows = conn.execute(
        "SELECT u.id, u.timezone, s.weekday, s.hour, s.snooze_until FROM users u "
        "JOIN digest_settings s ON s.user_id = u.id WHERE s.enabled ORDER BY u.id"
    ).fetchall()
    return [
        Preference(user_id, timezone, weekday, hour, snooze_until=snooze_until)
        for user_id, timezone, weekday, hour, snooze_until in rows
    ]


def due_now(conn, now: datetime) -> list[tuple[int, date]]:
    """(user_id, week) pairs due at `now` and not yet sent or skipped."""
    due = []
    for pref in preferences(conn):
        week = due_week(pref, now)
        if week is not None and not (pref.snooze_until and pref.snooze_until >= week + timedelta(days=pref.weekday)):
            due.append((pref.user_id, week))
    if not due:
        return []
    done = {
        (r[0], r[1])
        for r in conn.execute(
            "SELECT user_id, week FROM outbox WHERE week >= %s AND state IN ('sent', 'skipped')",
            (min(w for _, w in due),),
        )
    }
    return [(u, w) for u, w in due if (u, w) not in done]


def sweep(db, enqueue, redis_client=None, now: datetime | None = None) -> int:
    """Enqueue every due digest; returns how many were enqueued this time."""
    now = now or datetime.now(timezone.utc)
    with db.tx() as conn:
        due = due_now(conn, now)
    sent = 0
    for user_id, week in due:
        if redis_client is not None:
            key = ENQUEUE_KEY.format(user_id=user_id, week=week.isoformat())
            if not redis_client.set(key, b"1", nx=True, ex=int(REQUEUE_AFTER.total_seconds())):
                continue
        enqueue(user_id, week.isoformat())
        sent += 1
    if sent:
        log.info("digest sweep: %d due, %d enqueued", len(due), sent)
    return sent
