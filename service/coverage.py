"""How much of a user's mail the scores stand on, while a first sync is still reading it.

A first sync reads the newest mail first (ingest.google.connector, ingest.microsoft), so
while it runs, everything after some moment is stored and older mail is still arriving.
Scores made then are provisional: `remember` keeps, for such a snapshot, the moment its
mail starts (`score_coverage`), and `shown` tells a reader, for the snapshot it shows, how
far back that is and about how long the rest will take ("based on mail since March 2025;
older mail still arriving, about 40 minutes left"). The time left comes from the messages
still to read and the provider's rate: its quota's where it has a fixed one
(`Provider.quota_rate`: Gmail's per-user quota, 250 units/s, about 226 messages per 1,000
units), elsewhere the rate observed since the first sync began. Which resources hold mail
is the provider's to say too (`Provider.mail_resources`).

An account is still backfilling until its first sync has completed (`last_synced_at`),
unless it was disconnected or its access revoked (then nothing is arriving);
its mail is covered since the latest `covered_since` of its mail resources, and not at all
while one of them has not begun or has no newest-first mark yet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .providers import REGISTRY

RECENT = timedelta(days=180)  # the months a provisional score needs whole
MIN_OBSERVED = timedelta(seconds=20)  # an observed rate needs this much history to mean much


@dataclass(frozen=True)
class Coverage:
    """Whether scores are provisional, since when their mail is whole, time left (s)."""

    provisional: bool
    since: datetime | None = None
    seconds_left: float | None = None
    arriving: bool = False  # older mail is still being read

    @property
    def whole_since(self) -> datetime | None:
        """What scoring is told (score_ties' `since`): the moment the mail is whole from while
        older mail still arrives; None when the mail is whole (or no part of it is yet)."""
        return self.since if self.provisional else None

    def note(self) -> str | None:
        """The sentence shown to a person, or None when scores are final."""
        if not self.provisional:
            return None
        based = f"based on mail since {self.since:%B %Y}" if self.since else "based on the newest mail read so far"
        if not self.arriving:
            return f"{based}; the rest has arrived and is being scored"
        return f"{based}; older mail still arriving, {_left(self.seconds_left)}"

    def as_json(self) -> dict:
        return {
            "provisional": self.provisional,
            "since": self.since.isoformat().replace("+00:00", "Z") if self.since else None,
            "minutes_left": math.ceil(self.seconds_left / 60) if self.seconds_left is not None else None,
            "note": self.note(),
        }


FINAL = Coverage(False)


def _left(seconds: float | None) -> str:
    if seconds is None:
        return "time left not yet known"
    minutes = math.ceil(seconds / 60)
    if minutes <= 1:
        return "about a minute left"
    if minutes < 90:
        return f"about {minutes} minutes left"
    return f"about {round(minutes / 60)} hours left"


def live(conn, user_id: int, now: datetime | None = None) -> Coverage:
    """The user's mail as stored right now: FINAL unless an account's first sync runs."""
    now = now or datetime.now(timezone.utc)
    rows = conn.execute(
        """
        SELECT a.id, a.provider, s.resource, s.state, s.covered_since, s.items_seen, s.items_total,
               s.backfill_started_at
        FROM accounts a LEFT JOIN sync_state s ON s.account_id = a.id
        WHERE a.user_id = %s AND a.provider = ANY(%s) AND a.last_synced_at IS NULL
          AND a.status NOT IN ('disabled', 'auth_revoked')
        ORDER BY a.id
        """,
        (user_id, [name for name, provider in REGISTRY.items() if provider.mail_resources]),
    ).fetchall()
    if not rows:
        return FINAL
    accounts: dict[int, tuple[str, dict[str, tuple]]] = {}
    for account_id, provider, resource, *rest in rows:
        found = accounts.setdefault(account_id, (provider, {}))[1]
        if resource in REGISTRY[provider].mail_resources:
            found[resource] = tuple(rest)
    since: datetime | None = None
    whole = True  # every backfilling account has some covered mail
    left = 0.0
    known = True
    for provider, found in accounts.values():
        for resource in REGISTRY[provider].mail_resources:
            state, covered, seen, total, started = found.get(resource, (None, None, 0, None, None))
            if state == "incremental":
                continue  # this resource is whole
            if covered is None:
                whole = False  # not begun, or no newest-first mark yet: nothing is whole
            elif since is None or covered > since:
                since = covered
            rate = REGISTRY[provider].quota_rate or _observed(seen, started, now)
            if total is None or rate is None:
                known = False
            else:
                left += max(0, total - seen) / rate
    return Coverage(True, since if whole else None, left if known else None, arriving=True)


def _observed(seen: int, started: datetime | None, now: datetime) -> float | None:
    if not seen or started is None or now - started < MIN_OBSERVED:
        return None
    return seen / (now - started).total_seconds()


def recent_enough(coverage: Coverage, now: datetime | None = None) -> bool:
    """Whether provisional scores may be made: the last RECENT months are whole."""
    now = now or datetime.now(timezone.utc)
    return coverage.since is not None and coverage.since <= now - RECENT


def remember(conn, user_id: int, as_of: datetime, coverage: Coverage) -> None:
    """Mark the snapshot at `as_of` provisional (or final) as `coverage` says."""
    conn.execute("DELETE FROM score_coverage WHERE user_id = %s AND as_of = %s", (user_id, as_of))
    if coverage.provisional:
        conn.execute(
            "INSERT INTO score_coverage (user_id, as_of, covered_since) VALUES (%s, %s, %s)",
            (user_id, as_of, coverage.since),
        )


def of_snapshot(conn, user_id: int, as_of: datetime | None) -> Coverage:
    """The coverage of the snapshot at `as_of` as a reader is shown it (time left is live)."""
    if as_of is None:
        return FINAL
    row = conn.execute(
        "SELECT covered_since FROM score_coverage WHERE user_id = %s AND as_of = %s", (user_id, as_of)
    ).fetchone()
    if row is None:
        return FINAL
    now = live(conn, user_id)
    return Coverage(True, row[0], now.seconds_left, arriving=now.provisional)


def latest(conn, user_id: int) -> Coverage:
    """The coverage of the user's newest snapshot (FINAL when there is none)."""
    row = conn.execute("SELECT max(as_of) FROM score_snapshots WHERE user_id = %s", (user_id,)).fetchone()
    return of_snapshot(conn, user_id, row[0] if row else None)
