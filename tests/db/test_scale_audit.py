"""The scale test's audit (tests/support/scale.py) sees only its own database's sync locks.

An advisory lock is keyed by database, but pg_locks lists the whole server's: when two slow
tests ran side by side, test_scale matched a page committed in its database with the holder
of account 1's lock in the other test's database (a test process: application_name '') and
reported the page as committed without the lock.
"""

from __future__ import annotations

import psycopg

from service.store import create_user, ensure_account
from service.sync import LOCK_SPACE
from tests.support.scale import audit, install_audit, locks_held


def _account(database) -> int:
    with database.tx() as conn:
        user_id = create_user(conn, "audit@example.org")
        return ensure_account(conn, user_id, "google", "audit@example.org")


def _commit_page(url: str, account_id: int, app: str) -> None:
    with psycopg.connect(url, application_name=app, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO sync_state (account_id, resource, cursor, state) VALUES (%s, 'mail', 'c1', 'incremental') "
            "ON CONFLICT (account_id, resource) DO UPDATE SET cursor = EXCLUDED.cursor",
            (account_id,),
        )


def test_a_lock_on_the_same_account_in_another_database_is_not_this_ones(database, database_url, empty_database_url):
    account_id = _account(database)
    install_audit(database)
    # another test's database, whose account with the same id is being synced by a test process
    with psycopg.connect(empty_database_url, application_name="", autocommit=True) as other:
        assert other.execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_SPACE, account_id)).fetchone()[0]
        assert locks_held(database) == {}
        _commit_page(database_url, account_id, "w1")
        report = audit(database)
        # the page was committed without this database's lock: no holder, and it is reported
        assert report["pages"] == 1
        assert [(p[2], p[3], p[4]) for p in report["unlocked"]] == [("w1", None, None)]


def test_the_holder_in_this_database_is_found_beside_one_in_another(database, database_url, empty_database_url):
    account_id = _account(database)
    install_audit(database)
    with (
        psycopg.connect(empty_database_url, application_name="", autocommit=True) as other,
        psycopg.connect(database_url, application_name="w1", autocommit=True) as holder,
    ):
        assert other.execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_SPACE, account_id)).fetchone()[0]
        assert holder.execute("SELECT pg_try_advisory_lock(%s, %s)", (LOCK_SPACE, account_id)).fetchone()[0]
        assert locks_held(database) == {account_id: "w1"}
        _commit_page(database_url, account_id, "w1")
        _commit_page(database_url, account_id, "w1")
        report = audit(database)
        assert report["pages"] == 2
        assert report["unlocked"] == [] and report["interleaved"] == {}
        assert [app for _, app, _, _ in report["runs"]] == ["w1"]
