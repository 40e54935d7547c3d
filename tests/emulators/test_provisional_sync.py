"""Newest first, provisional early: a first Gmail sync reads the user's recent sent mail,
then everything newest first, saying after each page since when the mailbox is whole; the
sync asks for provisional scores once the last 180 days are in, and those snapshots are
marked provisional until the sync has finished."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.support.oauth import google_settings
from pydantic import SecretStr

from ingest.google import SCOPES
from ingest.records import Interaction
from ingest.sandbox.google import start_google_emulator
from ingest.sandbox.world import generate_world
from service import coverage
from service.providers.credentials import save_credentials
from service.providers.google import build_connector
from service.store import create_user, ensure_account
from service.sync import sync_account
from service.ties.scoring import score_user

SCALE = 20.0
NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture(scope="module")
def world():
    # A year of mail ending now, so that the last 180 days are half of it.
    return generate_world(11, days=365, contacts=14, as_of=NOW)


@pytest.fixture
def emu(world):
    emulator = start_google_emulator(world, quota_scale=SCALE)
    yield emulator
    emulator.stop()


@pytest.fixture
def gsettings(settings, emu, quota_redis):
    return google_settings(settings, emu, quota_scale=SCALE, redis_url=quota_redis, google_calendars="primary")


@pytest.fixture
def account(database, gsettings, emu, world):
    with database.tx() as conn:
        user_id = create_user(conn, world.user_email)
        account_id = ensure_account(conn, user_id, "google", world.user_email, scopes=list(SCOPES))
        save_credentials(
            conn, gsettings, account_id, {"refresh_token": emu.issue_refresh_token(), "scopes": list(SCOPES)}
        )
    return user_id, account_id


def test_the_first_gmail_sync_reads_recent_sent_mail_then_all_mail_newest_first(gsettings, database, account, emu):
    # Given a year of mail at the emulator
    _, account_id = account
    mailbox = emu.mailboxes[emu.user()].messages
    connector = build_connector(gsettings, database, account_id, list_page=100)
    # When the first sync's pages are read
    seen: list[str] = []
    marks: list[datetime | None] = []
    sent_stage: list[str] = []  # what came before the first page with a mark
    try:
        for page in connector.pages("gmail", None):
            seen += [i.provider_id for i in page.items if isinstance(i, Interaction)]
            if not any(marks) and page.covered_since is None:
                sent_stage = list(seen)
            marks.append(page.covered_since)
            if page.covered_since is not None:
                # Then every message newer than the page's mark is already read
                newer = {m.id for m in mailbox.values() if m.internal_ms > page.covered_since.timestamp() * 1000}
                assert newer <= set(seen)
    finally:
        connector.close()
    # ... it began with the user's own mail of the last 180 days (SENT, with its threads) ...
    sent_threads = {m.thread_id for m in mailbox.values() if "SENT" in m.labels}
    horizon_ms = (NOW - timedelta(days=180)).timestamp() * 1000
    recent_sent = {m.id for m in mailbox.values() if "SENT" in m.labels and m.internal_ms > horizon_ms}
    assert recent_sent and recent_sent <= set(sent_stage) < set(seen)
    assert all(mailbox[i].thread_id in sent_threads for i in sent_stage)
    # ... every message came, few twice (a thread fetched whole after one of its messages
    # was fetched alone), and the marks only go back in time
    assert set(seen) == set(mailbox) and len(seen) - len(set(seen)) <= len(seen) // 50
    dated = [m for m in marks if m is not None]
    assert dated == sorted(dated, reverse=True) and dated[0] > NOW - timedelta(days=60)
    assert dated[-1] < NOW - timedelta(days=300)


def test_provisional_scores_come_once_the_last_180_days_are_in_and_are_marked(gsettings, database, account, emu):
    # Given a connected account whose first sync has not run
    user_id, account_id = account
    mailbox = emu.mailboxes[emu.user()].messages
    calls: list[tuple[int, coverage.Coverage, set[str]]] = []

    def provisional(uid: int) -> None:
        # When the sync asks for provisional scores, they are made there and then
        score_user(database, uid)
        with database.tx() as conn:
            shown = coverage.latest(conn, uid)
            ids = {r[0] for r in conn.execute("SELECT provider_id FROM interactions WHERE resource = 'gmail'")}
        calls.append((uid, shown, ids))

    sync_account(gsettings, database, account_id, on_provisional=provisional)
    # Then it asked, for this user, first when the last 180 days were whole and older mail was not
    assert calls and all(uid == user_id for uid, _, _ in calls)
    _, first, ids = calls[0]
    assert first.provisional and first.since is not None
    assert NOW - timedelta(days=240) < first.since <= NOW - timedelta(days=180)
    assert {m.id for m in mailbox.values() if m.internal_ms >= first.since.timestamp() * 1000} <= ids < set(mailbox)
    assert "older mail still arriving" in (first.note() or "") and f"{first.since:%B %Y}" in (first.note() or "")
    # ... and once the sync has finished, the scores made then are final
    score_user(database, user_id)
    with database.tx() as conn:
        assert coverage.latest(conn, user_id) == coverage.FINAL
        assert coverage.live(conn, user_id) == coverage.FINAL


def test_a_first_sync_that_dies_keeps_its_mark_and_resumes_from_it(gsettings, database, account, emu):
    # Given a first sync stopped (as by a crash) right after the page that made 180 days whole
    user_id, account_id = account

    class Stop(Exception):
        pass

    def stop(uid: int) -> None:
        raise Stop

    with pytest.raises(Stop):
        sync_account(gsettings, database, account_id, on_provisional=stop)
    with database.tx() as conn:
        mark = conn.execute(
            "SELECT covered_since FROM sync_state WHERE account_id = %s AND resource = 'gmail'", (account_id,)
        ).fetchone()[0]
        live = coverage.live(conn, user_id)
    # Then the stored mark says since when the mail is whole, and the scores would be provisional
    assert mark is not None and mark <= NOW - timedelta(days=180)
    assert live.provisional and live.since == mark and live.seconds_left is not None
    # When the sync runs again, it ends with the store equal to the mailbox and nothing provisional
    sync_account(gsettings, database, account_id)
    with database.tx() as conn:
        ids = {r[0] for r in conn.execute("SELECT provider_id FROM interactions WHERE resource = 'gmail'")}
        assert coverage.live(conn, user_id) == coverage.FINAL
    assert ids == emu.message_ids()


def test_graph_reads_sent_items_first_and_each_folder_newest_first(settings):
    # Given a Graph mailbox seeded from a year of mail
    from ingest.microsoft import GraphClient, LocalThrottle, MicrosoftConnector
    from ingest.sandbox.microsoft import start_microsoft_emulator

    world = generate_world(11, days=365, contacts=10, as_of=NOW)
    emulator = start_microsoft_emulator(world)
    try:
        token = emulator.access_token_for()
        client = GraphClient(
            emulator.graph_base, lambda force_refresh=False: token, ca_bundle=emulator.ca_file, throttle=LocalThrottle()
        )
        connector = MicrosoftConnector(client, page_size=5, now=lambda: NOW)
        mailbox = emulator.mailbox()
        # Then the mail folders come sent items first (after the small calendar)
        assert connector.resources() == ["calendar", "mail:sentitems", "mail:inbox"]
        for folder in ("sentitems", "inbox"):
            collection = f"mail:{mailbox.folder_id(folder)}"
            received = {
                i: datetime.fromisoformat(e.body["receivedDateTime"].replace("Z", "+00:00"))
                for i, e in mailbox.entries.items()
                if e.collection == collection
            }
            # When the folder's first round is read
            seen: list[str] = []
            marks = []
            for page in connector.pages(f"mail:{folder}", None):
                seen += [i.provider_id for i in page.items if isinstance(i, Interaction)]
                if page.covered_since is not None:
                    marks.append(page.covered_since)
                    # Then all that arrived after the page's mark is read
                    assert {i for i, when in received.items() if when > page.covered_since} <= set(seen)
            # ... newest first, every message once
            assert [received[i] for i in seen] == sorted((received[i] for i in seen), reverse=True)
            assert set(seen) == set(received) and len(seen) == len(received) and len(marks) > 2
        # And an order Graph does not take is refused, as Graph refuses it
        with pytest.raises(Exception, match="400 errorinvalidparameter"):
            client.get(
                f"me/mailFolders/{mailbox.folder_id('inbox')}/messages/delta", params={"$orderby": "subject asc"}
            )
    finally:
        emulator.stop()
