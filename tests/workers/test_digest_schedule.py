"""Who is due for their digest, and when: time zones, daylight saving, live changes."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from service.digest.schedule import Preference, due_at, due_week, sweep, week_start
from service.jobs.scheduler import build_scheduler

UTC = timezone.utc


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def simulate(pref: Preference, start: datetime, end: datetime, step=timedelta(minutes=5)):
    """Run the sweep's decision every five minutes; a week once enqueued counts as sent.
    Returns {week: first instant it was enqueued}."""
    sent: dict[date, datetime] = {}
    now = start
    while now < end:
        week = due_week(pref, now)
        if week is not None and week not in sent:
            sent[week] = now
        now += step
    return sent


# --- Europe/Madrid: clocks change on the last Sunday of March and of October -----------


def test_madrid_sunday_morning_across_spring_forward():
    # Given a Madrid user who wants the digest on Sundays at 08:00
    pref = Preference(1, "Europe/Madrid", 6, 8)
    # When the sweep runs every five minutes over the weeks around 29 March 2026
    fired = simulate(pref, utc(2026, 3, 20), utc(2026, 4, 6))
    # Then 08:00 local is 07:00 UTC before the change (CET) and 06:00 UTC after it (CEST)
    assert fired == {
        date(2026, 3, 16): utc(2026, 3, 22, 7),
        date(2026, 3, 23): utc(2026, 3, 29, 6),
        date(2026, 3, 30): utc(2026, 4, 5, 6),
    }


def test_madrid_hour_that_does_not_exist_fires_once_right_after_the_jump():
    # Given 02:00 on Sunday 29 March 2026, which Madrid skips (02:00 CET -> 03:00 CEST)
    pref = Preference(1, "Europe/Madrid", 6, 2)
    fired = simulate(pref, utc(2026, 3, 28), utc(2026, 3, 30))
    # Then it fires once, at 01:00 UTC = 03:00 CEST, the first instant after the jump
    assert fired == {date(2026, 3, 23): utc(2026, 3, 29, 1)}
    assert due_week(pref, utc(2026, 3, 29, 0, 55)) is None


def test_madrid_hour_that_happens_twice_fires_once_at_the_first():
    # Given 02:00 on Sunday 25 October 2026, which Madrid lives twice (03:00 CEST -> 02:00 CET)
    pref = Preference(1, "Europe/Madrid", 6, 2)
    fired = simulate(pref, utc(2026, 10, 24), utc(2026, 10, 27))
    # Then it fires once, at the first 02:00 (CEST, 00:00 UTC), not again an hour later
    assert fired == {date(2026, 10, 19): utc(2026, 10, 25, 0)}
    # and the second 02:00 is the same week: the outbox key makes it a no-op
    assert due_week(pref, utc(2026, 10, 25, 1)) == date(2026, 10, 19)


def test_madrid_monday_after_autumn_change():
    pref = Preference(1, "Europe/Madrid", 0, 8)
    fired = simulate(pref, utc(2026, 10, 18), utc(2026, 11, 3))
    assert fired == {
        date(2026, 10, 19): utc(2026, 10, 19, 6),
        date(2026, 10, 26): utc(2026, 10, 26, 7),
        date(2026, 11, 2): utc(2026, 11, 2, 7),
    }


# --- America/New_York: second Sunday of March, first Sunday of November ---------------


def test_new_york_across_spring_forward_and_fall_back():
    pref = Preference(2, "America/New_York", 6, 9)  # Sundays 09:00
    spring = simulate(pref, utc(2026, 3, 1), utc(2026, 3, 16))
    assert spring == {
        date(2026, 2, 23): utc(2026, 3, 1, 14),
        date(2026, 3, 2): utc(2026, 3, 8, 13),
        date(2026, 3, 9): utc(2026, 3, 15, 13),
    }
    autumn = simulate(pref, utc(2026, 10, 25), utc(2026, 11, 9))
    assert autumn == {
        date(2026, 10, 19): utc(2026, 10, 25, 13),
        date(2026, 10, 26): utc(2026, 11, 1, 14),
        date(2026, 11, 2): utc(2026, 11, 8, 14),
    }


def test_new_york_gap_and_overlap_hours():
    # 02:00 on 8 March 2026 does not exist in New York: fires at 03:00 EDT (07:00 UTC)
    gap = Preference(2, "America/New_York", 6, 2)
    assert simulate(gap, utc(2026, 3, 7), utc(2026, 3, 9)) == {date(2026, 3, 2): utc(2026, 3, 8, 7)}
    # 01:00 on 1 November 2026 happens twice: fires once, at the first (01:00 EDT = 05:00 UTC)
    overlap = Preference(2, "America/New_York", 6, 1)
    assert simulate(overlap, utc(2026, 10, 31), utc(2026, 11, 2)) == {date(2026, 10, 26): utc(2026, 11, 1, 5)}


def test_half_hour_zone_and_week_turn():
    # Kolkata is UTC+05:30: 08:00 local is 02:30 UTC, on the five-minute grid
    assert simulate(Preference(3, "Asia/Kolkata", 0, 8), utc(2026, 11, 22), utc(2026, 11, 24)) == {
        date(2026, 11, 23): utc(2026, 11, 23, 2, 30)
    }
    # Sunday 23:00 in Madrid, seen at 00:30 on Monday: still last week's digest (catch-up)
    late = Preference(4, "Europe/Madrid", 6, 23)
    assert due_week(late, utc(2026, 11, 29, 23, 30)) == date(2026, 11, 23)
    # A scheduler down for more than the catch-up window does not send stale mail
    assert due_week(late, utc(2026, 11, 30, 12)) is None


ZONES = [
    "Europe/Madrid",
    "America/New_York",
    "Australia/Lord_Howe",
    "Asia/Kathmandu",
    "America/Santiago",
    "Pacific/Chatham",
    "UTC",
    "Europe/London",
]


@hsettings(max_examples=300, deadline=None)
@given(st.sampled_from(ZONES), st.integers(0, 6), st.integers(0, 23), st.dates(date(2024, 1, 1), date(2030, 12, 31)))
def test_due_instant_is_the_chosen_local_time_and_maps_back_to_its_week(zone, weekday, hour, day):
    pref = Preference(1, zone, weekday, hour)
    week = week_start(day)
    at = due_at(pref, week)
    local = at.astimezone(ZoneInfo(zone))
    # The local date is the chosen weekday of that week; the hour is the chosen one, or
    # the first hour after a spring-forward gap (the gap is at most an hour, or 30 min)
    assert local.date() == week + timedelta(days=weekday)
    assert local.hour == hour or (local.hour - hour) % 24 == 1 or local.minute == 30
    assert due_week(pref, at) == week
    assert due_week(pref, at - timedelta(seconds=1)) != week


# --- the sweep against the database and Redis ------------------------------------------


@pytest.fixture
def db_and_redis(database, redis_url):
    import redis as redis_lib

    client = redis_lib.Redis.from_url(redis_url)
    yield database, client
    client.close()


def _user(conn, email, tz, weekday, hour):
    from service import store

    uid = store.create_user(conn, email, None, tz)
    conn.execute("UPDATE digest_settings SET weekday = %s, hour = %s WHERE user_id = %s", (weekday, hour, uid))
    return uid


def test_sweep_enqueues_due_users_once_and_picks_up_changes(db_and_redis):
    db, client = db_and_redis
    now = utc(2026, 11, 23, 7, 0)  # Monday 08:00 in Madrid, 02:00 in New York
    with db.tx() as conn:
        madrid = _user(conn, "m@example.org", "Europe/Madrid", 0, 8)
        ny = _user(conn, "n@example.org", "America/New_York", 0, 8)
        off = _user(conn, "o@example.org", "UTC", 0, 6)
        conn.execute("UPDATE digest_settings SET enabled = false WHERE user_id = %s", (off,))
    queued: list[tuple[int, str]] = []
    # When the sweep runs: only the Madrid user is due (New York is six hours behind)
    assert sweep(db, lambda u, w: queued.append((u, w)), client, now=now) == 1
    assert queued == [(madrid, "2026-11-23")]
    # A second sweep five minutes later enqueues nothing (already on the queue)
    assert sweep(db, lambda u, w: queued.append((u, w)), client, now=now + timedelta(minutes=5)) == 0
    # Given a user added while it runs, and the New York user moving to 02:00
    with db.tx() as conn:
        late = _user(conn, "l@example.org", "Europe/London", 0, 7)
        conn.execute("UPDATE digest_settings SET hour = 2 WHERE user_id = %s", (ny,))
    sweep(db, lambda u, w: queued.append((u, w)), client, now=now + timedelta(minutes=10))
    # Then both are picked up at the next sweep
    assert sorted(queued[1:]) == sorted([(ny, "2026-11-23"), (late, "2026-11-23")])
    # Once a digest is recorded as sent it is never enqueued again, even after the Redis mark expires
    with db.tx() as conn:
        conn.execute(
            "INSERT INTO outbox (user_id, week, state, message_id) VALUES (%s, '2026-11-23', 'sent', 'x')", (madrid,)
        )
    client.flushdb()
    queued.clear()
    sweep(db, lambda u, w: queued.append((u, w)), client, now=now + timedelta(minutes=40))
    assert madrid not in [u for u, _ in queued] and off not in [u for u, _ in queued]
    assert sorted(u for u, _ in queued) == sorted([ny, late])


def test_scheduler_job_runs_every_five_minutes(db_and_redis, settings):
    db, client = db_and_redis
    scheduler = build_scheduler(settings, db, client, lambda u, w: None, blocking=False)
    job = scheduler.get_jobs()[0]
    trigger = job.trigger
    fire = trigger.get_next_fire_time(None, utc(2026, 3, 29, 0, 58))
    assert fire == utc(2026, 3, 29, 1, 0, 2)
    assert trigger.get_next_fire_time(None, fire + timedelta(seconds=1)) == utc(2026, 3, 29, 1, 5, 2)
