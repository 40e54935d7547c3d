"""Given an empty database, when Kith migrates it, then every table exists; and a
database at the previous revision upgrades to head without losing its rows."""

import psycopg

from service import db as kdb

TABLES = {
    "users",
    "accounts",
    "credentials",
    "people",
    "person_addresses",
    "interactions",
    "participants",
    "sync_state",
    "score_snapshots",
    "quarantine",
    "api_tokens",
    "rules",
    "feedback",
    "outbox",
    "digest_settings",
    "user_addresses",
}


def _tables(url):
    with psycopg.connect(url) as conn:
        return {r[0] for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}


def test_migrate_empty_database_to_head(empty_database_url):
    kdb.migrate(empty_database_url)
    assert _tables(empty_database_url) >= TABLES
    assert kdb.current_revision(empty_database_url) == _head()


def test_upgrade_from_previous_revision_keeps_rows(empty_database_url):
    kdb.migrate(empty_database_url, "0001")
    assert "api_tokens" not in _tables(empty_database_url)
    with psycopg.connect(empty_database_url) as conn:
        conn.execute("INSERT INTO users (email) VALUES ('ana@example.org')")
    kdb.migrate(empty_database_url)
    assert kdb.current_revision(empty_database_url) == _head()
    with psycopg.connect(empty_database_url) as conn:
        assert conn.execute("SELECT email FROM users").fetchall() == [("ana@example.org",)]
        conn.execute("INSERT INTO api_tokens (user_id, token_hash, prefix) SELECT id, 'x', 'k' FROM users")


def _head():
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(kdb.alembic_config("postgresql://x/y")).get_current_head()
