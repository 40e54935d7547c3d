"""Reads never write: people are refreshed by whoever writes interactions (a sync, an import)
or scores, and loading the analytics input, the exclusions or ties computed as of a date
runs in a READ ONLY transaction (service/people/exchanges.py, service/people/refresh.py)."""

from __future__ import annotations

from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import psycopg
import pytest

from ingest.records import Interaction, Participant, SyncReport
from service import people, store
from service.imports import import_file
from service.ties.scoring import compute_ties

ME = "me@home.example"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def mail(pid, frm, to, at, sent=False):
    return Interaction(
        provider_id=pid,
        kind="email",
        occurred_at=T0 + timedelta(hours=at),
        participants=(Participant(frm, "from", None), *(Participant(a, "to", None) for a in to)),
        message_id=f"{pid}@mail",
        is_sent=sent,
    )


def talk(who, start):
    return [mail(f"in{who}{start}", who, [ME], start), mail(f"out{who}{start}", ME, [who], start + 1, sent=True)]


def write(db, user_id, items):
    with db.tx() as conn:
        account = store.ensure_account(conn, user_id, "google", ME)
        store.write_interactions(conn, user_id, account, "mail", items)


@contextmanager
def read_only(db):
    """A connection in a READ ONLY transaction: any INSERT, UPDATE or DELETE raises."""
    with db.tx() as conn:
        conn.execute("SET TRANSACTION READ ONLY")
        yield conn


def test_the_analytics_input_exclusions_and_ties_as_of_a_date_are_read_in_a_read_only_transaction(database):
    # Given a user whose mail with Ana was written and refreshed, and newer mail from Bob
    # that no refresh has seen yet (as between two pages of a sync)
    with database.tx() as conn:
        user_id = store.create_user(conn, ME)
    write(database, user_id, talk("ana@example.org", 0))
    with database.tx() as conn:
        people.refresh_people(conn, user_id)
    write(database, user_id, talk("bob@example.org", 10))
    # When the analytics input, the exclusions and the ties as of a date are read READ ONLY
    with read_only(database) as conn:
        result = people.analytics_input(conn, user_id)
        exchanges, info = people.load_exchanges(conn, user_id, T0 + timedelta(days=1))
        left_out = people.exclusions(conn, user_id)
        page = people.exclusion_pages.exclusion_page(conn, user_id)
        ties = compute_ties(conn, user_id, T0 + timedelta(days=1))
    # Then nothing was written (a write would have raised), Ana is a tie, and Bob waits for
    # the next refresh, named as unknown rather than given a person by the read
    assert [v["primary"] for v in info.values()] == ["ana@example.org"]
    assert [t["contact"] for t in ties] == ["ana@example.org"]
    assert result.unknown == frozenset({"bob@example.org"})
    assert len(exchanges) == 2 and left_out == page.items == []
    with database.tx() as conn:
        assert (
            conn.execute("SELECT count(*) FROM person_addresses WHERE address = 'bob@example.org'").fetchone()[0] == 0
        )


def test_a_read_only_transaction_refuses_a_write(database):
    # Given the helper the test above relies on, When a refresh (a writer) runs in it,
    # Then the database refuses: the READ ONLY check is real
    with database.tx() as conn:
        user_id = store.create_user(conn, ME)
    write(database, user_id, talk("ana@example.org", 0))
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        with read_only(database) as conn:
            people.refresh_people(conn, user_id)


def test_an_import_refreshes_people_so_that_a_read_finds_them(database, tmp_path):
    # Given an mbox with a conversation with Ana
    with database.tx() as conn:
        user_id = store.create_user(conn, ME)
    path = tmp_path / "mail.mbox"
    with open(path, "wb") as f:
        for n, (frm, to, label) in enumerate(((ME, "ana@pals.example", "Sent"), ("ana@pals.example", ME, "Inbox"))):
            f.write(
                f"From {n}@xxx Mon Jan 05 09:0{n}:00 +0000 2026\nX-Gmail-Labels: {label}\n"
                f"Message-ID: <m{n}@x>\nDate: Mon, 05 Jan 2026 09:0{n}:00 +0000\nFrom: {frm}\nTo: {to}\n\nhi\n\n".encode()
            )
    # When imported (as `kith import mbox`), then read in a READ ONLY transaction
    import_file(database, user_id, "mbox", path)
    with read_only(database) as conn:
        result = people.analytics_input(conn, user_id)
    # Then Ana already has a person: the import refreshed, the read did not have to
    assert [v["primary"] for v in result.info.values()] == ["ana@pals.example"]
    assert result.unknown == frozenset() and len(result.exchanges) == 2


def test_a_failed_run_refreshes_what_it_committed_and_raises_its_own_error(database):
    # Given a run that commits a page of mail and then fails (a rate limit, say)
    with database.tx() as conn:
        user_id = store.create_user(conn, ME)

    class Stopped(Exception):
        pass

    def run():
        write(database, user_id, talk("ana@example.org", 0))
        raise Stopped("the provider said wait")

    # When it runs through refresh_after
    with pytest.raises(Stopped):
        people.refresh_after(database, user_id, run)
    # Then the run's own error came out, and Ana's address has a person
    with database.tx() as conn:
        assert {a for p in people.list_people(conn, user_id) for a in p["addresses"]} == {"ana@example.org"}


def test_a_run_that_wrote_nothing_leaves_people_alone(database):
    # Given mail written outside the run, and a run that reports nothing written or removed
    with database.tx() as conn:
        user_id = store.create_user(conn, ME)
    write(database, user_id, talk("ana@example.org", 0))
    # When it runs through refresh_after, Then no refresh happened; one that wrote refreshes
    people.refresh_after(database, user_id, lambda: [SyncReport(resource="mail", quarantined=3)])
    with database.tx() as conn:
        assert people.list_people(conn, user_id) == []
    people.refresh_after(database, user_id, lambda: [SyncReport(resource="mail", written=1)])
    with database.tx() as conn:
        assert [p["addresses"] for p in people.list_people(conn, user_id)] == [["ana@example.org"]]
