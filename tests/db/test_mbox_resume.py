"""A Takeout import killed and resumed ends as if it had run in one go.

Takeout writes a message once per label (a mail to yourself is in Sent and in Inbox). One
run merges the copies itself; a run resumed from its cursor after a kill -9 has not seen
the copies before the cursor, so the store must merge them: labels are the union, and a
message is sent if any copy was in Sent.
"""

from __future__ import annotations

from datetime import datetime, timezone

from ingest.mbox import MboxConnector
from ingest.sync import run_sync
from service import store
from service.imports import file_resource
from service.sync_store import AccountSyncStore

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
PAGE = 4
UNIQUE = 24
# (message, labels of the later copy): 11 messages written twice, 35 copies in all. Most first
# appear as Sent (then again in Inbox, as the report had it); some the other way round.
SECOND_COPIES = (
    [(n, "Inbox") for n in (0, 2, 3, 5, 7, 8, 11)] + [(n, "Sent") for n in (13, 15, 16)] + [(4, "Important,Inbox")]
)


class Killed(BaseException):
    """kill -9 right after a page committed (nothing in the engine may swallow it)."""


def _copy(n: int, labels: str) -> bytes:
    return (
        f"From 1683{n:015d}@xxx Wed Nov 25 10:00:00 +0000 2026\n"
        f"X-GM-THRID: {1700 + n}\nX-Gmail-Labels: {labels}\n"
        f"From: {'Me <me@example.com>' if 'Sent' in labels else f'Person {n} <p{n}@example.org>'}\n"
        f"To: {f'p{n}@example.org' if 'Sent' in labels else 'me@example.com'}\n"
        f"Date: Mon, 02 Nov 2026 10:{n:02d}:00 +0000\nMessage-ID: <m{n}@example.org>\n\nbody\n\n"
    ).encode()


def takeout(path) -> None:
    first_labels = {n: ("Inbox" if n in (13, 15, 16) else "Sent" if n % 3 != 1 else "Inbox") for n in range(UNIQUE)}
    first_labels[4] = "Sent"
    copies = [_copy(n, first_labels[n]) for n in range(UNIQUE)]
    copies += [_copy(n, labels) for n, labels in SECOND_COPIES]
    path.write_bytes(b"".join(copies))
    assert len(copies) == 35


def _import(database, email: str, path, kill_after: int | None) -> dict[str, tuple[frozenset, bool]]:
    with database.tx() as conn:
        uid = store.create_user(conn, email)
        account = store.ensure_account(conn, uid, "mbox", email)
    resource = file_resource("mbox", path)
    pages = 0

    def die_after_commit(_resource, _total, _page):
        nonlocal pages
        pages += 1
        if pages == kill_after:
            raise Killed

    try:
        run_sync(
            AccountSyncStore(database, account),
            MboxConnector(path, resource=resource, now=NOW, page_size=PAGE),
            progress=die_after_commit,
        )
    except Killed:
        # A new process: a fresh connector from the committed cursor, no memory of the first run
        run_sync(AccountSyncStore(database, account), MboxConnector(path, resource=resource, now=NOW, page_size=PAGE))
    with database.tx() as conn:
        rows = conn.execute(
            "SELECT provider_id, labels, is_sent FROM interactions WHERE account_id = %s", (account,)
        ).fetchall()
    return {pid: (frozenset(labels), sent) for pid, labels, sent in rows}


def test_a_takeout_import_resumed_at_any_page_merges_copies_as_one_run_does(tmp_path, database):
    # Given a Takeout-like mbox: 24 messages, 11 of them written twice (35 copies, 9 pages)
    path = tmp_path / "takeout.mbox"
    takeout(path)
    # When it is imported in one go, and again killed after each page in turn and resumed
    whole = _import(database, "whole@example.com", path, kill_after=None)
    resumed = {k: _import(database, f"k{k}@example.com", path, kill_after=k) for k in range(1, 9)}
    # Then the single run has every message once, labels the union of its copies, sent if any copy was
    assert len(whole) == UNIQUE
    assert whole["m0@example.org"] == (frozenset({"Sent", "Inbox"}), True)
    assert whole["m13@example.org"] == (frozenset({"Sent", "Inbox"}), True)
    assert whole["m4@example.org"] == (frozenset({"Sent", "Important", "Inbox"}), True)
    assert sum(sent for _, sent in whole.values()) == sum(
        1 for n in range(UNIQUE) if n % 3 != 1 or n in (4, 13, 15, 16)
    )
    # And every resumed import agrees with it, message for message
    for k, rows in resumed.items():
        flipped = sorted(pid for pid in whole if rows.get(pid) != whole[pid])
        assert not flipped, (k, flipped)


def test_a_fresh_full_import_replaces_labels_rather_than_merging_old_ones(tmp_path, database):
    # Given a message imported with labels Sent and Inbox
    path = tmp_path / "takeout.mbox"
    path.write_bytes(_copy(1, "Sent") + _copy(1, "Inbox"))
    with database.tx() as conn:
        uid = store.create_user(conn, "me@example.com")
        account = store.ensure_account(conn, uid, "mbox", "me@example.com")
    resource = file_resource("mbox", path)
    sync_store = AccountSyncStore(database, account)
    run_sync(sync_store, MboxConnector(path, resource=resource, now=NOW))
    # When the file is re-exported with the message in Inbox only and imported from scratch
    path.write_bytes(_copy(1, "Inbox"))
    sync_store.reset(resource, "initial")
    run_sync(sync_store, MboxConnector(path, resource=resource, now=NOW))
    # Then the new export is the truth: not sent, Inbox only
    with database.tx() as conn:
        assert conn.execute(
            "SELECT labels, is_sent FROM interactions WHERE account_id = %s", (account,)
        ).fetchall() == [(["Inbox"], False)]
