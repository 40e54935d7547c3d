"""The Microsoft connector against the emulator: the world's mailbox synced exactly,
moves between folders, foreign and stale delta links, the moving calendar window, and
Graph's throttling (Retry-After honoured, 4 in flight per mailbox across processes, the
10-minute budget)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta, timezone

import pytest
import redis
import requests
from hypothesis import HealthCheck, given, settings, strategies as st

from ingest.errors import RateLimited
from ingest.microsoft import GraphClient, LocalThrottle, MicrosoftConnector, RedisThrottle
from ingest.microsoft.connector import DEFAULT_FOLDERS
from ingest.sandbox.microsoft import start_microsoft_emulator
from ingest.sandbox.microsoft.seed import event_json
from ingest.sandbox.world import generate_world
from ingest.sync import run_sync
from service.store import create_user, ensure_account
from service.sync_store import AccountSyncStore

from tests.conftest import ROOT

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def emulator():
    emulator = start_microsoft_emulator()
    yield emulator
    emulator.stop()


def connector_for(
    emulator,
    *,
    folders=DEFAULT_FOLDERS,
    page_size=1000,
    throttle=None,
    sleep=time.sleep,
    now=lambda: NOW,
    **client_options,
):
    token = emulator.access_token_for()
    client = GraphClient(
        emulator.graph_base,
        lambda force_refresh=False: token,
        ca_bundle=emulator.ca_file,
        throttle=throttle or LocalThrottle(),
        sleep=sleep,
        **client_options,
    )
    return MicrosoftConnector(client, folders=folders, page_size=page_size, now=now)


@pytest.fixture
def account(database):
    with database.tx() as conn:
        user_id = create_user(conn, "sam@kith.example")
        account_id = ensure_account(conn, user_id, "microsoft", "sam.rivera@northwind.example")
    return AccountSyncStore(database, account_id)


def held(database, account_id, resource_prefix="mail:"):
    with database.tx() as conn:
        rows = conn.execute(
            "SELECT provider_id FROM interactions WHERE account_id = %s AND resource LIKE %s",
            (account_id, resource_prefix + "%"),
        ).fetchall()
    return [r[0] for r in rows]


def test_the_worlds_mailbox_and_calendar_sync_exactly(database, account):
    world = generate_world(7)
    emulator = start_microsoft_emulator(world)
    try:
        connector = connector_for(emulator, page_size=400, now=lambda: world.as_of)
        reports = run_sync(account, connector)
        # Then every message of Inbox and Sent Items is held once, and nothing else
        assert sorted(held(database, account.account_id)) == sorted(emulator.message_ids())
        assert sum(r.quarantined for r in reports) == 0
        # and the calendar holds the events of the window (two years back, 90 days ahead)
        window = emulator.event_ids(world.as_of - timedelta(days=730), world.as_of + timedelta(days=90))
        assert set(held(database, account.account_id, "calendar")) == window and len(window) > 100
        with database.tx() as conn:
            sent = conn.execute(
                "SELECT bool_and(is_sent) FROM interactions WHERE resource = 'mail:sentitems'"
            ).fetchone()[0]
            dn = conn.execute(
                "SELECT count(*) FROM participants WHERE address ILIKE '/o=%%' AND role = 'from'"
            ).fetchone()[0]
            own = {r[0] for r in conn.execute("SELECT address FROM user_addresses").fetchall()}
        assert sent is True
        assert dn == sum(
            1
            for m in world.messages_for("microsoft")
            if m.folder in ("inbox", "sentitems") and m.sender[1].lower().startswith("/o=")
        )
        assert world.work_email in own
        # And a round with no changes costs one Graph request per folder and calendar
        emulator.reset_stats()
        run_sync(account, connector)
        assert emulator.graph_requests() == len(connector.resources()) == 3
    finally:
        emulator.stop()


def test_a_message_moved_between_synced_folders_is_held_once_in_its_new_folder(emulator, database, account):
    first = emulator.add_message(sender=("A", "a@example.org"))
    second = emulator.add_message(sender=("B", "b@example.org"), folder="archive")
    connector = connector_for(emulator, folders=("inbox", "sentitems", "archive"))
    run_sync(account, connector)
    # When one moves Inbox -> Archive and the other Archive -> Inbox (ids are immutable)
    emulator.move_message(first, "archive")
    emulator.move_message(second, "inbox")
    run_sync(account, connector)
    # Then both are still held, each in the folder it is in now
    with database.tx() as conn:
        rows = dict(conn.execute("SELECT provider_id, resource FROM interactions").fetchall())
    assert rows == {first: "mail:archive", second: "mail:inbox"}


def test_a_delta_link_of_another_folder_or_a_stale_one_leads_to_a_lossless_resync(emulator, database, account):
    ids = [emulator.add_message(sender=("A", f"a{n}@example.org")) for n in range(5)]
    emulator.add_message(folder="sentitems")
    connector = connector_for(emulator, page_size=2)
    run_sync(account, connector)
    # Given Inbox's cursor stored under Sent Items (a bad restore, a bug elsewhere)
    with database.tx() as conn:
        conn.execute(
            "UPDATE sync_state SET cursor = (SELECT cursor FROM sync_state WHERE resource = 'mail:inbox') "
            "WHERE resource = 'mail:sentitems'"
        )
    emulator.delete_message(ids[0])
    reports = run_sync(account, connector)
    # Then Sent Items is resynced in full, and everything matches the mailbox
    assert {r.resource for r in reports if r.full_sync} == {"mail:sentitems"}
    assert sorted(held(database, account.account_id)) == sorted(emulator.message_ids())
    # When Exchange drops the delta state of every folder, with changes pending
    emulator.delete_message(ids[1])
    emulator.add_message(sender=("N", "new@example.org"))
    emulator.expire_delta_tokens()
    reports = run_sync(account, connector)
    assert all(r.full_sync for r in reports)
    assert sorted(held(database, account.account_id)) == sorted(emulator.message_ids())


def meeting(item_id, start, minutes=30, **fields):
    return event_json(
        item_id=item_id,
        ical_uid=f"uid-{item_id}",
        subject="",
        start=start,
        end=start + timedelta(minutes=minutes),
        zone="Europe/Madrid",
        all_day=False,
        organizer=fields.pop("organizer", ("Ana", "ana@example.org")),
        attendees=fields.pop("attendees", [("Sam", "sam.rivera@northwind.example", "accepted")]),
        cancelled=fields.pop("cancelled", False),
        owner="sam.rivera@northwind.example",
    )


def test_the_calendar_window_moves_forward_and_changes_arrive(emulator, database, account):
    clock = {"now": NOW}
    emulator.put_event(meeting("past", NOW - timedelta(days=400)))
    emulator.put_event(meeting("ancient", NOW - timedelta(days=800)))
    emulator.put_event(meeting("soon", NOW + timedelta(days=10)))
    emulator.put_event(meeting("later", NOW + timedelta(days=100)))
    emulator.put_event(meeting("orphan", NOW - timedelta(days=3), organizer=None))
    connector = connector_for(emulator, folders=(), now=lambda: clock["now"])
    run_sync(account, connector)
    # Then only the window's events are held (two years back, 90 days ahead)
    assert sorted(held(database, account.account_id, "calendar")) == ["orphan", "past", "soon"]
    # When an event is cancelled and another deleted
    emulator.put_event(meeting("soon", NOW + timedelta(days=10), cancelled=True))
    emulator.delete_event("past")
    reports = run_sync(account, connector)
    assert not reports[0].full_sync
    with database.tx() as conn:
        rows = dict(conn.execute("SELECT provider_id, status FROM interactions").fetchall())
    assert rows == {"orphan": "confirmed", "soon": "cancelled"}
    # When a month passes (and an event vanished just before), the window moves forward in one
    # full pass: what entered it arrives, what left it or vanished goes
    emulator.delete_event("orphan")
    emulator.put_event(meeting("recent", NOW + timedelta(days=20)))
    clock["now"] = NOW + timedelta(days=30)
    reports = run_sync(account, connector)
    assert reports[0].full_sync
    assert sorted(held(database, account.account_id, "calendar")) == ["later", "recent", "soon"]
    # And within a week no new pass is made
    clock["now"] = NOW + timedelta(days=34)
    assert not run_sync(account, connector)[0].full_sync


def test_an_event_ending_past_the_year_9999_in_utc_is_served_and_quarantined(emulator, database, account):
    # Given an event ending 9999-12-31T23:00 Pacific time, the year 10000 in UTC (the
    # long fuzz profile's case: the emulator failed the page with a 500 on it, where
    # Exchange's .NET conversion clamps to the last tick of DateTime)
    start = NOW - timedelta(days=3)
    forever = meeting("forever", start)
    forever["end"] = {"dateTime": "9999-12-31T23:00:00.0000000", "timeZone": "Pacific Standard Time"}
    emulator.put_event(forever)
    emulator.put_event(meeting("ok", start))
    # When the calendar is synced (in UTC, as the connector asks)
    run_sync(account, connector_for(emulator, folders=()))
    # Then the page was served, the event's end clamped to the end of time in UTC
    session = requests.Session()
    session.verify = emulator.ca_file
    session.trust_env = False
    page = session.get(
        f"{emulator.graph_base}/me/calendarView/delta",
        params={"startDateTime": (NOW - timedelta(days=7)).isoformat(), "endDateTime": NOW.isoformat()},
        headers={"Authorization": f"Bearer {emulator.access_token_for()}", "Prefer": 'outlook.timezone="UTC"'},
    )
    assert page.status_code == 200
    ends = {e["id"]: e["end"] for e in page.json()["value"]}
    assert ends["forever"] == {"dateTime": "9999-12-31T23:59:59.9999999", "timeZone": "UTC"}
    # And the sync reached its end: the ordinary event is held, the endless one quarantined
    assert held(database, account.account_id, "calendar") == ["ok"]
    with database.tx() as conn:
        status = conn.execute("SELECT status FROM accounts WHERE id = %s", (account.account_id,)).fetchone()[0]
        reasons = conn.execute("SELECT ref, reason FROM quarantine").fetchall()
    assert status == "incremental"
    assert reasons == [
        ("forever", "event lasts 2912117 days (7973 years); more than 24855 days (68 years) is no meeting")
    ]


def test_429_and_503_with_retry_after_are_waited_out(emulator):
    emulator.add_message()
    waits: list[float] = []
    connector = connector_for(emulator, sleep=waits.append)
    emulator.fail_next(2, status=429, retry_after=1.5)
    emulator.fail_next(1, status=503, retry_after=2)
    pages = list(connector.pages("mail:inbox", None))
    # Then the connector waited exactly what Graph asked, and the round completed
    assert waits == [1.5, 1.5, 2.0]
    assert pages[-1].complete and len([i for p in pages for i in p.items]) == 1


def test_a_storm_or_a_long_retry_after_is_handed_to_the_worker_as_rate_limited(emulator, database, account):
    emulator.add_message()
    connector = connector_for(emulator, sleep=lambda s: None)
    emulator.fail_next(1, status=429, retry_after=120)
    with pytest.raises(RateLimited) as caught:
        run_sync(account, connector)
    assert caught.value.retry_after == 120
    emulator.fail_next(50, status=429, retry_after=1)
    with pytest.raises(RateLimited):
        run_sync(account, connector)
    # After the storm the same sync converges
    emulator.reset_stats()
    emulator._faults.clear()
    run_sync(account, connector)
    assert sorted(held(database, account.account_id)) == sorted(emulator.message_ids())


WORKER = textwrap.dedent("""
    import sys, threading
    from ingest.microsoft import GraphClient, LocalThrottle, RedisThrottle
    base, ca, token, redis_url, mode = sys.argv[1:6]
    throttle = RedisThrottle.from_url(redis_url, "sam.rivera@northwind.example") if mode == "redis" else LocalThrottle()
    client = GraphClient(base, lambda force_refresh=False: token, ca_bundle=ca, throttle=throttle,
                         max_retries=0)
    errors = []
    def work():
        for _ in range(3):
            try:
                client.get("me/mailFolders")
            except Exception as exc:
                errors.append(type(exc).__name__)
    threads = [threading.Thread(target=work) for _ in range(4)]
    [t.start() for t in threads]; [t.join() for t in threads]
    print(",".join(errors))
""")


def run_workers(emulator, redis_url, mode, processes=3):
    token = emulator.access_token_for()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, emulator.graph_base, emulator.ca_file, token, redis_url, mode],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
            cwd=ROOT,
        )
        for _ in range(processes)
    ]
    return [p.communicate(timeout=60)[0].strip() for p in procs]


def test_never_more_than_four_requests_in_flight_per_mailbox_across_processes(emulator, redis_url):
    emulator.latency = 0.05
    # Given 3 worker processes with 4 threads each, sharing the Redis semaphore
    outputs = run_workers(emulator, redis_url, "redis")
    # Then Graph never saw a fifth concurrent request, and nothing was refused
    assert emulator.peak_wanted <= 4 and outputs == ["", "", ""]
    assert not [s for _, _, s in emulator.log if s == 429] and len(emulator.log) == 36
    # Whereas throttling each process on its own lets Graph refuse requests
    emulator.reset_stats()
    outputs = run_workers(emulator, redis_url, "local")
    assert any("RateLimited" in o for o in outputs) and emulator.peak_wanted > 4


def test_the_ten_minute_budget_and_a_dead_holders_slot(redis_url):
    client = redis.Redis.from_url(redis_url)
    throttle = RedisThrottle(client, "a@example.org", budget=5, concurrency=1, slot_ttl=0.3, wait_s=0.2)
    for _ in range(5):
        with throttle.slot():
            pass
    # Then the sixth request in the window is refused with a wait
    with pytest.raises(RateLimited) as caught:
        with throttle.slot():
            pass
    assert caught.value.retry_after >= 1
    # A holder that dies without releasing (SIGKILL) blocks others only until its slot expires
    other = RedisThrottle(client, "b@example.org", concurrency=1, slot_ttl=0.3, wait_s=0.1)
    assert other.slots.try_acquire() is not None  # taken, never released
    with pytest.raises(RateLimited):
        with other.slot():
            pass
    time.sleep(0.35)
    with other.slot():
        assert other.in_flight() == 1
    assert other.in_flight() == 0


FOLDERS = ("inbox", "sentitems", "archive")
sync = st.tuples(st.just("sync"), st.one_of(st.none(), st.integers(0, 6)))
move = st.tuples(st.just("move"), st.integers(0, 50), st.sampled_from(FOLDERS + ("drafts",)))
operations = st.lists(
    st.one_of(
        st.tuples(st.just("add"), st.sampled_from(FOLDERS)),
        st.tuples(st.just("delete"), st.integers(0, 50)),
        move,
        move,
        st.tuples(st.just("expire")),
        sync,
        sync,
    ),
    max_size=25,
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations)
def test_any_history_of_changes_syncs_and_crashes_converges_to_the_mailbox(emulator, ops):
    # Given a mailbox under any sequence of adds, deletes, moves (also out of the synced
    # folders), dropped delta state, and syncs killed after any number of pages
    from tests.contract.test_connector_contract import ModelStore

    store = ModelStore()
    connector = connector_for(emulator, folders=FOLDERS, page_size=2)
    connector.calendar = False
    for n in range(4):
        emulator.add_message(folder=FOLDERS[n % 3])
    for op in ops:
        known = sorted(emulator.message_ids(FOLDERS + ("drafts",)))
        if op[0] == "add":
            emulator.add_message(folder=op[1])
        elif op[0] in ("delete", "move") and known:
            victim = known[op[1] % len(known)]
            emulator.delete_message(victim) if op[0] == "delete" else emulator.move_message(victim, op[2])
        elif op[0] == "expire":
            emulator.expire_delta_tokens()
        elif op[0] == "sync":
            store.crash_after = None if op[1] is None else store.commits + op[1]
            try:
                run_sync(store, connector)
            except KeyboardInterrupt:
                pass
    # When syncing runs undisturbed (finishing any interrupted round, then one more)
    store.crash_after = None
    run_sync(store, connector)
    run_sync(store, connector)
    # Then the store holds exactly the synced folders' messages, each under its folder now
    mailbox = emulator.mailbox()
    expected = {
        i: f"mail:{mailbox.folders[e.collection[5:]]['_wellKnown']}"
        for i, e in mailbox.entries.items()
        if e.collection.startswith("mail:") and mailbox.folders[e.collection[5:]]["_wellKnown"] in FOLDERS
    }
    assert {i: r for i, (r, _) in store.rows.items()} == expected
    for item_id in list(mailbox.entries):
        mailbox.remove(item_id)
