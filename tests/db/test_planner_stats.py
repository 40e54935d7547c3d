"""The planner is told of a big write before people are refreshed: on a machine where
autovacuum is off (CI's PostgreSQL) or has not come round yet, a table it still takes for
empty gets nested loops that made a 200,000-mail refresh run for over twenty minutes."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ingest.records import Interaction, Participant
from service import store
from service.db import analyze_if_stale
from service.people import refresh_people


def _analysed(conn) -> dict[str, int]:
    return {
        name: count
        for name, count in conn.execute(
            "SELECT relname, analyze_count + autoanalyze_count FROM pg_stat_user_tables"
            " WHERE relname IN ('interactions', 'participants')"
        ).fetchall()
    }


def _mails(n: int, start: int) -> list[Interaction]:
    t0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
    return [
        Interaction(
            provider_id=f"m{start + i}",
            kind="email",
            occurred_at=t0 + timedelta(minutes=start + i),
            participants=(Participant("me@example.org", "from"), Participant(f"p{i % 40}@example.com", "to")),
            message_id=f"<{start + i}@example.org>",
            is_sent=True,
        )
        for i in range(n)
    ]


def _write(database, user_id: int, account: int, items: list[Interaction]) -> None:
    with database.tx() as conn:
        store.write_interactions(conn, user_id, account, "mail", items)
        conn.execute("SELECT pg_stat_force_next_flush()")  # the counts reach the shared stats now


def test_a_big_write_is_analysed_before_people_are_refreshed_and_a_small_one_is_not(database):
    with database.tx() as conn:
        conn.execute("ALTER TABLE interactions SET (autovacuum_enabled = false)")
        conn.execute("ALTER TABLE participants SET (autovacuum_enabled = false)")
        user_id = store.create_user(conn, "me@example.org")
        account = store.ensure_account(conn, user_id, "mbox", "me.mbox")
    _write(database, user_id, account, _mails(3000, 0))
    with database.tx() as conn:
        before = _analysed(conn)
    # When people are refreshed after 3,000 mails (6,000 participant rows) on empty tables
    with database.tx() as conn:
        refresh_people(conn, user_id)
    # Then both tables were analysed first
    with database.tx() as conn:
        after = _analysed(conn)
        assert after["interactions"] == before["interactions"] + 1
        assert after["participants"] == before["participants"] + 1
        assert conn.execute("SELECT reltuples FROM pg_class WHERE relname = 'interactions'").fetchone()[0] == 3000
    # And 100 more mails (under a tenth of the table) leave the statistics as they are
    _write(database, user_id, account, _mails(100, 3000))
    with database.tx() as conn:
        assert analyze_if_stale(conn) == []
        assert _analysed(conn) == after
