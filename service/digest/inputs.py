"""What the digest reads from the database for one user and week (the only queries).

Ties now are the latest score snapshot at or before the digest's moment; ties "last week"
are the latest snapshot at least six days older than that (snapshots are taken after
syncs and at digest time, not on a fixed grid). No older snapshot: no "what changed".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import psycopg

from ..ties import horizon
from ..ties.scoring import compute_ties
from .team_line import attach as attach_team_line
from .content import Digest, build_digest
from .schedule import week_start

PREVIOUS_GAP = timedelta(days=6)
FRESH = timedelta(hours=20)  # a snapshot younger than this is good enough for the digest


@dataclass(frozen=True, slots=True)
class Profile:
    user_id: int
    email: str
    name: str | None
    timezone: str
    weekday: int
    hour: int
    enabled: bool
    quiet_mode: str
    snooze_until: date | None
    latest_snapshot: datetime | None = None

    def zone(self) -> ZoneInfo:
        try:
            return ZoneInfo(self.timezone)
        except (KeyError, ValueError):
            return ZoneInfo("UTC")


def profile(conn: psycopg.Connection, user_id: int) -> Profile:
    row = conn.execute(
        "SELECT u.id, u.email, u.name, u.timezone, coalesce(s.weekday, 0), coalesce(s.hour, 8), "
        "coalesce(s.enabled, true), coalesce(s.quiet_mode, 'note'), s.snooze_until, "
        "(SELECT max(as_of) FROM score_snapshots WHERE user_id = u.id) "
        "FROM users u LEFT JOIN digest_settings s ON s.user_id = u.id WHERE u.id = %s",
        (user_id,),
    ).fetchone()
    if row is None:
        raise LookupError(f"no user {user_id}")
    return Profile(*row)


def current_week(p: Profile, now: datetime) -> date:
    return week_start(now.astimezone(p.zone()).date())


def moment(p: Profile, week: date, now: datetime) -> datetime:
    """When the digest of `week` looks at the ties: now for this week, the week's end for a past one."""
    end = datetime.combine(week + timedelta(days=7), time(0), tzinfo=p.zone()).astimezone(timezone.utc)
    return min(now, end)


def needs_scoring(p: Profile, now: datetime) -> bool:
    return p.latest_snapshot is None or now - p.latest_snapshot > FRESH


# Both snapshots in one round trip: the latest at or before the digest's moment, and the
# latest at least PREVIOUS_GAP older than that one.
_SNAPSHOTS = """
WITH cur AS (SELECT max(as_of) AS t FROM score_snapshots WHERE user_id = %(u)s AND as_of <= %(at)s),
     prev AS (SELECT max(s.as_of) AS t FROM score_snapshots s, cur
              WHERE s.user_id = %(u)s AND s.as_of <= cur.t - %(gap)s)
SELECT s.as_of = cur.t, s.payload FROM score_snapshots s, cur, prev
WHERE s.user_id = %(u)s AND s.as_of IN (cur.t, prev.t)
ORDER BY s.strength DESC, s.person_id
"""

# Accounts to reconnect, and people the user snoozed or said are no relationship (their
# latest word, as service.ties.feedback.latest_words reads it), in one round trip.
_FLAGS = """
SELECT 'revoked', provider, address, NULL::bigint FROM accounts
WHERE user_id = %(u)s AND status = 'auth_revoked'
UNION ALL
SELECT 'hidden', NULL, NULL, person_id FROM (
    SELECT DISTINCT ON (person_id) person_id, kind, until FROM feedback
    WHERE user_id = %(u)s AND created_at <= %(at)s ORDER BY person_id, created_at DESC, id DESC) f
WHERE kind = 'not_relationship' OR (kind = 'snooze' AND (until IS NULL OR until >= %(day)s))
"""


def load_digest(conn: psycopg.Connection, p: Profile, week: date, now: datetime) -> Digest:
    as_of = moment(p, week, now)
    ties_now: list[dict] = []
    previous: list[dict] = []
    for is_now, payload in conn.execute(_SNAPSHOTS, {"u": p.user_id, "at": as_of, "gap": PREVIOUS_GAP}):
        (ties_now if is_now else previous).append(payload)
    if not ties_now:
        # Never scored (or nothing before this moment): compute, without a snapshot to compare.
        ties_now, previous = compute_ties(conn, p.user_id, as_of), []
    revoked, hidden = [], []
    for kind, provider, address, person_id in conn.execute(_FLAGS, {"u": p.user_id, "at": as_of, "day": as_of.date()}):
        if kind == "revoked":
            revoked.append({"provider": provider, "address": address})
        else:
            hidden.append(person_id)
    revoked.sort(key=lambda a: (a["provider"], a["address"]))
    previous_or_none = previous or None
    ended = horizon.Horizon(horizon.latest_interaction(conn, p.user_id, as_of), as_of)
    digest = build_digest(
        user_id=p.user_id,
        user_name=p.name,
        user_email=p.email,
        week=week,
        ties=ties_now,
        previous=previous_or_none,
        revoked=revoked,
        hidden=hidden,
        as_of=as_of,
        notice=ended.notice(),
    )
    return attach_team_line(conn, digest)
