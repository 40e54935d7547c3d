"""The Google connector against the emulator, through the real sync engine and store:
full and incremental sync, stale cursors, throttling, 5xx, revoked grants, the quota."""

from __future__ import annotations

import threading
import time

import pytest

from tests.support.oauth import google_settings
from pydantic import SecretStr

from ingest.errors import AuthRevoked
from ingest.google import SCOPES, Quota
from ingest.sandbox.google import start_google_emulator
from ingest.sandbox.world import BODY_MARKER, generate_world
from ingest.sync import run_sync
from service.providers.credentials import save_credentials
from service.providers.google import build_connector
from service.store import create_user, ensure_account
from service.sync_store import AccountSyncStore

SCALE = 20.0  # the emulator's quota clock and the connector's budget, both x20


@pytest.fixture(scope="module")
def world():
    return generate_world(3, days=120, contacts=12)


@pytest.fixture
def emu(world):
    emulator = start_google_emulator(world, quota_scale=SCALE)
    yield emulator
    emulator.stop()


@pytest.fixture
def gsettings(settings, emu, quota_redis):
    return google_settings(settings, emu, quota_scale=SCALE, redis_url=quota_redis)


@pytest.fixture
def account(database, gsettings, emu, world):
    with database.tx() as conn:
        user_id = create_user(conn, world.user_email)
        account_id = ensure_account(conn, user_id, "google", world.user_email, scopes=list(SCOPES))
        save_credentials(
            conn, gsettings, account_id, {"refresh_token": emu.issue_refresh_token(), "scopes": list(SCOPES)}
        )
    return account_id


def sync(gsettings, database, account_id, **options):
    connector = build_connector(gsettings, database, account_id, **options)
    try:
        return run_sync(AccountSyncStore(database, account_id), connector)
    finally:
        connector.close()


def stored(database, account_id, resource):
    with database.tx() as conn:
        rows = conn.execute(
            "SELECT provider_id FROM interactions WHERE account_id = %s AND resource = %s", (account_id, resource)
        ).fetchall()
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids))
    return set(ids)


def calendar_ids(emu):
    return {f"gcal:primary:{i}" for i in emu.event_ids()}


def test_full_sync_stores_exactly_the_mailbox_and_calendar_without_bodies(gsettings, database, account, emu, world):
    """Given a connected account, a first sync stores every message and occurrence once,
    the sendAs aliases become the user's addresses, and quota use beats 5 units/message."""
    reports = sync(gsettings, database, account)
    assert {r.resource for r in reports} == {"gmail", "calendar:primary"}
    assert stored(database, account, "gmail") == emu.message_ids()
    assert stored(database, account, "calendar:primary") == calendar_ids(emu)
    with database.tx() as conn:
        own = {r[0] for r in conn.execute("SELECT address FROM user_addresses").fetchall()}
        dump = conn.execute(
            "SELECT string_agg(headers::text || coalesce(message_id, ''), '') FROM interactions"
        ).fetchone()[0]
        (status,) = conn.execute("SELECT status FROM accounts WHERE id = %s", (account,)).fetchone()
    assert {a for a in world.user_aliases if "@" in a and "gmail" in a} <= own
    assert BODY_MARKER not in dump and status == "incremental"
    usage = emu.usage()
    assert usage.refused == 0
    assert len(emu.message_ids()) * 1000 / usage.units > 200


def test_incremental_sync_applies_additions_deletions_and_label_changes(gsettings, database, account, emu):
    sync(gsettings, database, account)
    ids = sorted(emu.message_ids())
    emu.delete_message(ids[0])
    emu.modify_labels(ids[1], add=["STARRED", "Label_3"], remove=["INBOX"])
    new = [
        emu.add_message(
            headers=[
                ("From", f"n{i}@example.org"),
                ("To", "you@kith.example"),
                ("Date", "Mon, 23 Nov 2026 10:00:00 +0000"),
            ],
            labels=["INBOX"],
        )
        for i in range(3)
    ]
    gone = sorted(emu.event_ids())[0]
    emu.cancel_event(gone)
    before = emu.usage().units
    sync(gsettings, database, account)
    assert stored(database, account, "gmail") == emu.message_ids()
    assert set(new) <= emu.message_ids() and ids[0] not in stored(database, account, "gmail")
    assert stored(database, account, "calendar:primary") == calendar_ids(emu)
    with database.tx() as conn:
        (labels,) = conn.execute("SELECT labels FROM interactions WHERE provider_id = %s", (ids[1],)).fetchone()
    assert "STARRED" in labels and "INBOX" not in labels
    assert emu.usage().units - before <= 2 + 4 * 5  # history.list + 4 messages.get


def test_stale_history_id_moves_to_a_full_resync_that_loses_nothing(gsettings, database, account, emu):
    sync(gsettings, database, account)
    ids = sorted(emu.message_ids())
    emu.delete_message(ids[5])
    added = emu.add_message(headers=[("From", "late@example.org"), ("Date", "Tue, 24 Nov 2026 10:00:00 +0000")])
    emu.expire_history()
    emu.expire_sync_tokens()
    reports = sync(gsettings, database, account)
    assert all(r.full_sync for r in reports)
    assert stored(database, account, "gmail") == emu.message_ids() and added in emu.message_ids()
    assert stored(database, account, "calendar:primary") == calendar_ids(emu)


def test_a_history_id_of_another_account_is_refused_and_resynced(gsettings, database, account, emu):
    sync(gsettings, database, account)
    other = start_google_emulator(accounts=["other@example.org"])
    foreign = other.mailboxes["other@example.org"].history_id
    other.stop()
    with database.tx() as conn:
        conn.execute(
            "UPDATE sync_state SET cursor = %s WHERE account_id = %s AND resource = 'gmail'",
            (f'{{"phase": "incr", "history_id": {foreign}}}', account),
        )
    reports = {r.resource: r for r in sync(gsettings, database, account)}
    assert reports["gmail"].full_sync and stored(database, account, "gmail") == emu.message_ids()


def test_rate_limit_storms_and_5xx_are_retried_and_never_drop_anything(gsettings, database, account, emu):
    """Given 429s on three parts of the first batch and 503s on three calls, the sync
    retries only the refused parts (honouring Retry-After) and stores everything."""
    slept = []
    emu.faults.storm_methods = ("users.messages.get", "users.threads.get")
    emu.faults.rate_limit_storm = 3
    emu.faults.server_errors = 3
    sync(gsettings, database, account, sleep=slept.append)
    assert stored(database, account, "gmail") == emu.message_ids()
    assert max(slept) >= 1.0  # Retry-After: 1
    assert 3 in emu.batch_sizes  # the three refused parts went again, alone
    emu.faults.storm_methods = ()
    emu.faults.rate_limit_status, emu.faults.rate_limit_storm = 403, 2
    emu.add_message(headers=[("From", "again@example.org")])
    sync(gsettings, database, account, sleep=slept.append)
    assert stored(database, account, "gmail") == emu.message_ids()


def test_revoked_grant_marks_the_account_without_a_retry_storm(gsettings, database, account, emu):
    from service.sync import sync_account

    sync(gsettings, database, account)
    emu.revoke()
    emu.oauth.expire_access_tokens()
    before = emu.oauth.token_requests
    with pytest.raises(AuthRevoked):
        sync_account(gsettings, database, account)
    assert emu.oauth.token_requests - before == 1
    with database.tx() as conn:
        status, error = conn.execute("SELECT status, last_error FROM accounts WHERE id = %s", (account,)).fetchone()
    assert status == "auth_revoked" and "reconnect" in error
    assert sync_account(gsettings, database, account) == []  # no more calls until reconnected
    assert emu.oauth.token_requests - before == 1


def test_refreshed_access_token_is_stored_for_the_next_worker(gsettings, database, account, emu):
    from service.providers.credentials import load_credentials

    sync(gsettings, database, account)
    with database.tx() as conn:
        payload = load_credentials(conn, gsettings, account)
    assert payload["token"].startswith("ya29.") and payload["expiry"]
    before = emu.oauth.token_requests
    emu.add_message(headers=[("From", "z@example.org")])
    sync(gsettings, database, account)
    assert emu.oauth.token_requests == before  # reused, not refreshed


def test_quota_is_shared_by_processes_through_redis_and_caps_concurrency(quota_redis):
    """Given two budgets for one account (two workers), together they spend at most the
    ceiling: 2,000 units at 1,000 units/s take about two seconds, never less."""
    gates = [
        Quota(redis_url=quota_redis, account="shared@example.org", units_per_second=1000, burst_s=0.1, max_concurrent=2)
        for _ in range(2)
    ]
    inside, peak, lock = [0], [0], threading.Lock()

    def work(gate):
        for _ in range(20):
            with gate.slot("gmail", 50):
                with lock:
                    inside[0] += 1
                    peak[0] = max(peak[0], inside[0])
                time.sleep(0.002)
                with lock:
                    inside[0] -= 1

    started = time.monotonic()
    threads = [threading.Thread(target=work, args=(g,)) for g in gates for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    assert elapsed >= (4 * 20 * 50 - 100) / 1000 - 0.05  # 4,000 units at 1,000/s after a 100-unit burst
    assert peak[0] <= 2


def test_an_expired_access_token_is_refreshed_once_and_the_sync_goes_on(gsettings, database, account, emu):
    from service.providers.credentials import load_credentials

    sync(gsettings, database, account)
    emu.oauth.expire_access_tokens()  # the server forgets them before their stated expiry
    emu.add_message(headers=[("From", "after-expiry@example.org")])
    before = emu.oauth.token_requests
    sync(gsettings, database, account)
    assert emu.oauth.token_requests - before == 1
    assert stored(database, account, "gmail") == emu.message_ids()
    with database.tx() as conn:
        assert load_credentials(conn, gsettings, account)["token"] in emu.oauth.access
