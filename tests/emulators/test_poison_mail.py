"""One poison message must never stop a sync (issue 13): the NUL display-name attack replayed
through mbox import, Gmail and Graph into PostgreSQL, and an item the database still refuses
split off into quarantine while the rest of its page is stored."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from tests.support.oauth import google_settings
from pydantic import SecretStr

from ingest.google import SCOPES
from ingest.records import Interaction, Page, Participant
from ingest.sandbox.google import start_google_emulator
from ingest.sync import run_sync
from service.account_health import account_health
from service.providers.credentials import save_credentials
from service.providers.google import build_connector
from service.imports import import_file
from service.store import create_user, ensure_account
from service.sync_store import AccountSyncStore

START = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
POISONS = (
    "From: =?utf-8?q?Eve=00?= <eve@evil.test>",  # NUL in an encoded word
    "From: Eve\x00 Raw <eve2@evil.test>",  # a raw NUL byte
    "From: =?utf-8?b?RXZlAUI=?= <eve3@evil.test>\nX-Gmail-Labels: In\x00box",
)


def mbox_message(n: int, from_line: str | None = None) -> str:
    date = (START + timedelta(minutes=n)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    return (
        f"From 1683{n:015d}@xxx Wed Nov 25 10:00:00 +0000 2026\n"
        f"{from_line or f'From: Person {n} <p{n}@example.org>'}\nTo: me@example.com\n"
        f"Date: {date}\nMessage-ID: <m{n}@example.org>\n\nbody {n}\n\n"
    )


def stored_ids(database, account_id) -> set[str]:
    with database.tx() as conn:
        return {
            r[0]
            for r in conn.execute(
                "SELECT provider_id FROM interactions WHERE account_id = %s", (account_id,)
            ).fetchall()
        }


def test_a_nul_display_name_in_an_mbox_does_not_stop_the_import(tmp_path, database):
    # Given a 2,000-message archive with NUL-poisoned names at messages 1001, 1500 and 1999
    poisoned = {1001: POISONS[0], 1500: POISONS[1], 1999: POISONS[2]}
    path = tmp_path / "takeout.mbox"
    path.write_text("".join(mbox_message(n, poisoned.get(n)) for n in range(2000)), encoding="utf-8")
    with database.tx() as conn:
        user = create_user(conn, "me@example.com")
    # When it is imported, and imported again
    reports = import_file(database, user, "mbox", path)
    again = import_file(database, user, "mbox", path)
    # Then every message arrives, the poisoned ones with their names cleaned of control bytes
    assert reports[0].written == 2000 and again[0].written == 0
    with database.tx() as conn:
        account_id = conn.execute("SELECT id FROM accounts WHERE user_id = %s", (user,)).fetchone()[0]
        names = dict(conn.execute("SELECT address, name FROM participants WHERE address LIKE 'eve%%'").fetchall())
        labels = conn.execute("SELECT labels FROM interactions WHERE provider_id = 'm1999@example.org'").fetchone()
    assert stored_ids(database, account_id) == {f"m{n}@example.org" for n in range(2000)}
    assert names == {"eve@evil.test": "Eve", "eve2@evil.test": "Eve Raw", "eve3@evil.test": "EveB"}
    assert labels == (["Inbox"],)


def test_an_item_the_database_refuses_is_quarantined_and_its_page_stored(database):
    # Given a page of 40 messages where one carries a value PostgreSQL cannot hold
    # (a duration beyond integer), as a connector bug could produce
    with database.tx() as conn:
        user = create_user(conn, "me@example.com")
        account_id = ensure_account(conn, user, "mbox", "me@example.com")
    items = [
        Interaction(
            provider_id=f"id{n}",
            kind="email",
            occurred_at=START + timedelta(hours=n),
            participants=(Participant(f"p{n}@example.org", "from", f"P {n}"),),
        )
        for n in range(40)
    ]
    items[17] = replace(items[17], duration_s=2**40)
    store = AccountSyncStore(database, account_id)
    # When the page is committed with its cursor
    report = store.commit_page("mail", Page(tuple(items), cursor="c1", complete=True), "incremental", 1)
    # Then the other 39 are stored, the bad one is quarantined with a reason, the cursor moved
    assert report.written == 39 and report.quarantined == 1
    assert stored_ids(database, account_id) == {f"id{n}" for n in range(40)} - {"id17"}
    with database.tx() as conn:
        rows = conn.execute("SELECT ref, reason FROM quarantine WHERE account_id = %s", (account_id,)).fetchall()
        assert conn.execute("SELECT cursor FROM sync_state WHERE account_id = %s", (account_id,)).fetchone() == ("c1",)
        # And the account's health says so in words
        health = account_health(conn, user, account_id)[0]
    assert [r[0] for r in rows] == ["id17"] and "could not be stored" in rows[0][1]
    assert health["quarantined"] == 1
    assert "1 item" in health["quarantine_note"] and "could not be stored" in health["quarantine_note"]


@pytest.fixture
def gmail(settings, quota_redis):
    emu = start_google_emulator(None, quota_scale=20.0)
    emu.add_account("me@example.com", "Me")
    yield (
        emu,
        google_settings(settings, emu, quota_scale=20.0, redis_url=quota_redis),
    )
    emu.stop()


def test_a_nul_display_name_in_gmail_does_not_stop_the_sync(gmail, database):
    # Given a Gmail mailbox of 30 messages, one From a NUL-poisoned name and label
    emu, gsettings = gmail
    for n in range(30):
        sender = "=?utf-8?q?Eve=00?= <eve@evil.test>" if n == 12 else f"P {n} <p{n}@example.org>"
        emu.add_message(
            id=f"g{n:03d}",
            headers=[
                ("From", sender),
                ("To", "me@example.com"),
                ("Date", "Mon, 02 Nov 2026 10:00:00 +0000"),
                ("Message-ID", f"<g{n}\x00@example.org>"),
            ],
            labels=["INBOX"],
            internal_ms=1_700_000_000_000 + n,
        )
    with database.tx() as conn:
        user = create_user(conn, "me@example.com")
        account_id = ensure_account(conn, user, "google", "me@example.com", scopes=list(SCOPES))
        save_credentials(
            conn, gsettings, account_id, {"refresh_token": emu.issue_refresh_token(), "scopes": list(SCOPES)}
        )
    # When the account syncs
    connector = build_connector(gsettings, database, account_id)
    try:
        run_sync(AccountSyncStore(database, account_id), connector, resources=["gmail"])
    finally:
        connector.close()
    # Then all 30 are stored and the poisoned name is stored clean
    assert stored_ids(database, account_id) == {f"g{n:03d}" for n in range(30)}
    with database.tx() as conn:
        assert conn.execute("SELECT name FROM participants WHERE address = 'eve@evil.test'").fetchall() == [("Eve",)]
        assert conn.execute("SELECT status FROM accounts WHERE id = %s", (account_id,)).fetchone() == ("incremental",)
