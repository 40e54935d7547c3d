"""The store: pages of interactions written idempotently, with their cursor, in one transaction."""

from datetime import datetime, timedelta, timezone

import pytest

from ingest.records import Interaction, Page, Participant, Quarantined, Removed
from service import store, sync_store
from service.providers.credentials import load_credentials, rotate_all, save_credentials
from service.crypto import CredentialError

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=timezone.utc)


def mail(pid, minutes=0, sender="ana@example.org", to=("you@kith.example",), **kw):
    parts = (Participant(sender, "from", "Ana"),) + tuple(Participant(a, "to") for a in to)
    return Interaction(
        provider_id=pid,
        kind="email",
        occurred_at=T0 + timedelta(minutes=minutes),
        participants=parts,
        message_id=f"{pid}@x",
        **kw,
    )


@pytest.fixture
def account(database):
    with database.tx() as conn:
        user_id = store.create_user(conn, "you@kith.example", "You")
        account_id = store.ensure_account(conn, user_id, "memory", "you@kith.example")
    return user_id, account_id


def counts(database, account_id):
    with database.tx() as conn:
        return conn.execute(
            "SELECT (SELECT count(*) FROM interactions WHERE account_id = %s), "
            "(SELECT count(*) FROM participants p JOIN interactions i ON i.id = p.interaction_id "
            " WHERE i.account_id = %s)",
            (account_id, account_id),
        ).fetchone()


def test_writing_a_page_twice_changes_nothing(database, account):
    # Given a page of two messages, when it is committed twice
    _, account_id = account
    s = sync_store.AccountSyncStore(database, account_id)
    page = Page(items=(mail("a"), mail("b", 5, to=("you@kith.example", "bo@example.org"))), cursor="2")
    s.commit_page("mail", page, "initial", 1)
    first = counts(database, account_id)
    s.commit_page("mail", page, "initial", 1)
    # Then the rows are the same, and the cursor is stored
    assert counts(database, account_id) == first == (2, 5)
    assert s.load("mail").cursor == "2"


def test_an_updated_item_replaces_its_participants(database, account):
    _, account_id = account
    s = sync_store.AccountSyncStore(database, account_id)
    s.commit_page("mail", Page(items=(mail("a", to=("you@kith.example", "bo@example.org")),), cursor="1"), "initial", 1)
    s.commit_page("mail", Page(items=(mail("a", to=("you@kith.example",)),), cursor="2"), "incremental", 1)
    assert counts(database, account_id) == (1, 2)


def test_quarantine_removal_and_full_sync_cleanup(database, account):
    # Given a first full sync with three items
    _, account_id = account
    s = sync_store.AccountSyncStore(database, account_id)
    s.commit_page(
        "mail",
        Page(items=(mail("a"), mail("b"), mail("c")), cursor="x", complete=True, full_sync=True),
        "incremental",
        1,
    )
    # When an incremental page removes one and quarantines a broken item
    report = s.commit_page(
        "mail", Page(items=(Removed("a"), Quarantined("off:10", "missing Date header")), cursor="y"), "incremental", 1
    )
    assert report.removed == 1 and report.quarantined == 1
    # And a later full resync (generation 2) sees only "c"
    s.commit_page("mail", Page(items=(mail("c"),), cursor="z", complete=True, full_sync=True), "incremental", 2)
    # Then only "c" is left, and the quarantine row keeps its reason
    with database.tx() as conn:
        left = [r[0] for r in conn.execute("SELECT provider_id FROM interactions WHERE account_id = %s", (account_id,))]
        reason = conn.execute("SELECT reason FROM quarantine").fetchone()[0]
    assert left == ["c"]
    assert reason == "missing Date header"


def test_own_addresses_from_pages_are_the_users(database, account):
    user_id, account_id = account
    s = sync_store.AccountSyncStore(database, account_id)
    s.commit_page("mail", Page(items=(), cursor="1", own_addresses=("Sam@Alias.example",)), "initial", 1)
    with database.tx() as conn:
        own = {r[0] for r in conn.execute("SELECT address FROM user_addresses WHERE user_id = %s", (user_id,))}
    assert "sam@alias.example" in own


def test_credentials_are_encrypted_at_rest_and_rotate(database, account, settings):
    _, account_id = account
    with database.tx() as conn:
        save_credentials(conn, settings, account_id, {"refresh_token": "1//secret-refresh-token"})
        blob = bytes(conn.execute("SELECT ciphertext FROM credentials").fetchone()[0])
    assert b"secret-refresh-token" not in blob
    # A new key put first, the old one kept second: rotation re-encrypts under the new key
    rotated = settings.model_copy(
        update={"secret_key": settings.secret_key.__class__("new-key," + settings.secret_key.get_secret_value())}
    )
    with database.tx() as conn:
        assert rotate_all(conn, rotated) == 1
    only_new = settings.model_copy(update={"secret_key": settings.secret_key.__class__("new-key")})
    with database.tx() as conn:
        assert load_credentials(conn, only_new, account_id) == {"refresh_token": "1//secret-refresh-token"}
        with pytest.raises(CredentialError):
            load_credentials(conn, settings, account_id)


def test_two_writes_in_one_transaction_keep_both_batches(database, account):
    # Given two batches written in the same transaction
    user_id, account_id = account
    with database.tx() as conn:
        store.write_interactions(conn, user_id, account_id, "mail", [mail("a"), mail("b")])
        store.write_interactions(conn, user_id, account_id, "mail", [mail("c")])
    # Then all three keep their participants
    assert counts(database, account_id) == (3, 6)
