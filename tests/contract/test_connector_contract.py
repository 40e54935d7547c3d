"""The contract every connector keeps, run against each of them.

A connector is exercised through a `Harness`: the connector, one of its resources, and
hands on the source behind it (add an item, delete one, make the stored cursors stale, say
what the source now holds). To put a new connector under the contract, write a factory
returning a Harness and add it to HARNESSES.

The five connectors: memory (the reference), mbox and .ics files, Google and Microsoft on
their emulators (ingest/sandbox). A file is a snapshot: deleting a message or an event
rewrites it, so the stored cursor expires and the full resync that follows drops what is
gone (`removal_expires`); an API reports the removal in its incremental round.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from collections.abc import Callable

import pytest

from ingest.connector import Connector
from ingest.errors import CursorExpired
from ingest.memory import MemoryConnector
from ingest.records import Interaction, Page, Participant, Quarantined, Removed, SyncReport
from ingest.sync import ResourceState, run_sync

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@dataclass
class Harness:
    connector: Connector
    resource: str
    add: Callable[[int], str]  # add the n-th item to the source; returns its provider id
    delete: Callable[[str], object]  # what it returns is ignored
    expire: Callable[[], None]  # make every cursor handed out so far stale
    present: Callable[[], set[str]]  # provider ids the source holds in `resource` now
    close: Callable[[], None] = lambda: None
    removal_expires: bool = False  # a snapshot source: a removal expires the cursor instead


def memory_harness(initial: int) -> Harness:
    connector = MemoryConnector(page_size=3, own=("me@example.org",))

    def add(n: int) -> str:
        connector.add(
            Interaction(
                provider_id=f"m{n}",
                kind="email",
                occurred_at=T0 + timedelta(minutes=n),
                participants=(Participant(f"p{n}@example.org", "from"),),
            )
        )
        return f"m{n}"

    for n in range(initial):
        add(n)
    return Harness(connector, "memory", add, connector.remove, connector.expire_cursors, connector.present)


def microsoft_harness(initial: int) -> Harness:
    from ingest.microsoft import GraphClient, MicrosoftConnector
    from ingest.sandbox.microsoft import start_microsoft_emulator

    emulator = start_microsoft_emulator()
    token = emulator.access_token_for()
    client = GraphClient(emulator.graph_base, lambda force_refresh=False: token, ca_bundle=emulator.ca_file)
    connector = MicrosoftConnector(client, page_size=3)

    def add(n: int) -> str:
        return emulator.add_message(sender=(f"P {n}", f"p{n}@example.org"), date=T0 + timedelta(minutes=n))

    for n in range(initial):
        add(n)
    return Harness(
        connector,
        "mail:inbox",
        add,
        emulator.delete_message,
        emulator.expire_delta_tokens,
        lambda: emulator.message_ids(("inbox",)),
        emulator.stop,
    )


def google_harness(initial: int) -> Harness:
    from google.oauth2.credentials import Credentials

    from ingest.google import GoogleConnector, Quota
    from ingest.sandbox.google import start_google_emulator

    emulator = start_google_emulator(accounts=("me@example.org",), enforce_quota=False)
    credentials = Credentials(
        None,
        refresh_token=emulator.issue_refresh_token(),
        token_uri=f"{emulator.url}/token",
        client_id="kith-emulator-client",
        client_secret="kith-emulator-secret",
    )
    connector = GoogleConnector(
        credentials, api_base=emulator.url, quota=Quota(), list_page=3, address="me@example.org"
    )

    def add(n: int) -> str:
        when = T0 + timedelta(minutes=n)
        headers = [
            ("From", f"P {n} <p{n}@example.org>"),
            ("To", "me@example.org"),
            ("Subject", f"note {n}"),
            ("Date", format_datetime(when)),
            ("Message-ID", f"<g{n}@example.org>"),
        ]
        return emulator.add_message(headers=headers, labels=["INBOX"], internal_ms=int(when.timestamp() * 1000))

    def expire() -> None:
        # Gmail keeps about a week of history: a cursor is stale once changes after it are forgotten.
        emulator.modify_labels(sorted(emulator.message_ids())[0], add=("STARRED",))
        emulator.expire_history()

    for n in range(initial):
        add(n)
    return Harness(connector, "gmail", add, emulator.delete_message, expire, emulator.message_ids, emulator.stop)


class _FileSource:
    """A file as a source: entries (key -> n) written whole; a deletion or an expiry rewrites
    it (an expiry changes only a line that holds no item, so the file's items stay the same)."""

    suffix = ""

    def __init__(self, initial: int):
        self.path = Path(tempfile.mkdtemp(prefix="kith-contract-")) / f"source{self.suffix}"
        self.epoch = 0
        self.entries: dict[str, int] = {self.key(n): n for n in range(initial)}
        self.write()

    def key(self, n: int) -> str:
        return f"k{n}@example.org"

    def render(self) -> str:
        raise NotImplementedError

    def write(self) -> None:
        self.path.write_text(self.render())

    def add(self, n: int) -> str:
        self.entries[self.key(n)] = n
        self.write()
        return self.key(n)

    def delete(self, key: str) -> None:
        del self.entries[key]
        self.write()

    def expire(self) -> None:
        self.epoch += 1
        self.write()

    def harness(self, connector: Connector, resource: str) -> Harness:
        return Harness(
            connector,
            resource,
            self.add,
            self.delete,
            self.expire,
            lambda: set(self.entries),
            lambda: shutil.rmtree(self.path.parent),
            removal_expires=True,
        )


class _MboxFile(_FileSource):
    """Messages in order, new ones appended as a mail client does; an expiry renames the
    senders of the From_ lines."""

    suffix = ".mbox"

    def message(self, key: str) -> str:
        n = self.entries[key]
        when = T0 + timedelta(minutes=n)
        return (
            f"From sender{self.epoch}@example.org {when.strftime('%a %b %d %H:%M:%S %Y')}\n"
            f"From: P {n} <p{n}@example.org>\nTo: me@example.org\nDate: {format_datetime(when)}\n"
            f"Message-ID: <{key}>\nSubject: note {n}\n\nbody {n}\n\n"
        )

    def render(self) -> str:
        return "".join(self.message(key) for key in self.entries)

    def add(self, n: int) -> str:
        self.entries[self.key(n)] = n
        with self.path.open("a") as f:
            f.write(self.message(self.key(n)))
        return self.key(n)


class _IcsFile(_FileSource):
    """Events by UID; an expiry changes the PRODID."""

    suffix = ".ics"

    def render(self) -> str:
        lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:-//kith contract {self.epoch}//EN"]
        for uid, n in self.entries.items():
            start = T0 + timedelta(hours=n)
            lines += [
                "BEGIN:VEVENT",
                f"UID:{uid}",
                f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
                f"DTEND:{start + timedelta(minutes=30):%Y%m%dT%H%M%SZ}",
                f"SUMMARY:meeting {n}",
                "ORGANIZER:mailto:me@example.org",
                f"ATTENDEE;CN=P {n}:mailto:p{n}@example.org",
                "END:VEVENT",
            ]
        return "\r\n".join(lines + ["END:VCALENDAR", ""])


def mbox_harness(initial: int) -> Harness:
    from ingest.mbox import MboxConnector

    source = _MboxFile(initial)
    return source.harness(MboxConnector(source.path, page_size=3, now=T0 + timedelta(days=1)), "mbox")


def ics_harness(initial: int) -> Harness:
    from ingest.ics import IcsConnector

    source = _IcsFile(initial)
    return source.harness(IcsConnector(source.path, page_size=3), "ics")


HARNESSES: dict[str, Callable[[int], Harness]] = {
    "memory": memory_harness,
    "mbox": mbox_harness,
    "ics": ics_harness,
    "google": google_harness,
    "microsoft": microsoft_harness,
}


@pytest.fixture(params=sorted(HARNESSES))
def make(request):
    made: list[Harness] = []

    def factory(initial: int = 8) -> Harness:
        harness = HARNESSES[request.param](initial)
        made.append(harness)
        return harness

    yield factory
    for harness in made:
        harness.connector.close()
        harness.close()


def ids(pages: list[Page], kind=Interaction) -> list[str]:
    return [item.provider_id for page in pages for item in page.items if isinstance(item, kind)]


# --- an in-memory store with AccountSyncStore's semantics, to run the engine against ------------


@dataclass
class ModelStore:
    rows: dict[str, tuple[str, int]] = field(default_factory=dict)  # provider id -> (resource, generation)
    states: dict[str, ResourceState] = field(default_factory=dict)
    account_state: str = "initial"
    crash_after: int | None = None  # commits allowed before a simulated SIGKILL
    commits: int = 0

    def load(self, resource):
        return self.states.get(resource, ResourceState(None, "initial", 0))

    def commit_page(self, resource, page, state, generation):
        if self.crash_after is not None and self.commits >= self.crash_after:
            raise KeyboardInterrupt("killed")  # nothing of this page is committed
        self.commits += 1
        for item in page.items:
            if isinstance(item, Interaction):
                self.rows[item.provider_id] = (resource, generation)
            elif isinstance(item, Removed) and self.rows.get(item.provider_id, ("",))[0] == resource:
                del self.rows[item.provider_id]
        if page.complete and page.full_sync:
            for key, (res, gen) in list(self.rows.items()):
                if res == resource and gen < generation:
                    del self.rows[key]
        self.states[resource] = ResourceState(page.cursor, state, generation)
        return SyncReport(resource=resource, pages=1)

    def reset(self, resource, state):
        old = self.load(resource)
        self.states[resource] = ResourceState(None, state, old.generation)

    def set_account_state(self, state, error=None):
        self.account_state = state


# --- the contract ------------------------------------------------------------------------------------


def test_full_sync_yields_every_item_once_and_ends_complete(make):
    # Given a source holding 8 items
    h = make(8)
    # When a full sync runs from no cursor
    pages = list(h.connector.pages(h.resource, None))
    # Then every item comes exactly once, the round ends with one complete full-sync page,
    # and every page carries a string cursor
    assert sorted(ids(pages)) == sorted(h.present()) and len(ids(pages)) == 8
    assert [p.complete for p in pages] == [False] * (len(pages) - 1) + [True]
    assert len(pages) > 1 and all(p.full_sync for p in pages)
    assert all(isinstance(p.cursor, str) and p.cursor for p in pages)


def test_incremental_round_without_changes_is_one_empty_complete_page(make):
    h = make(5)
    cursor = list(h.connector.pages(h.resource, None))[-1].cursor
    # When nothing changed at the source
    pages = list(h.connector.pages(h.resource, cursor))
    # Then the next round is a single complete page with nothing in it
    assert len(pages) == 1 and pages[0].complete and not pages[0].full_sync
    assert [i for i in pages[0].items if not isinstance(i, Quarantined)] == []


def test_incremental_round_reports_additions_and_removals(make):
    h = make(6)
    first = list(h.connector.pages(h.resource, None))
    gone = ids(first)[0]
    # Given an item added and one deleted after the full sync
    added = h.add(100)
    h.delete(gone)
    if h.removal_expires:
        # When the next round runs from the stored cursor of a rewritten file
        with pytest.raises(CursorExpired):
            list(h.connector.pages(h.resource, first[-1].cursor))
        # Then it is refused, and the full resync holds the addition and not the removed item
        pages = list(h.connector.pages(h.resource, None))
        assert added in ids(pages) and gone not in ids(pages)
        assert sorted(ids(pages)) == sorted(h.present()) and pages[-1].complete
        return
    # When the next round runs from the stored cursor
    pages = list(h.connector.pages(h.resource, first[-1].cursor))
    # Then the addition and the removal are both reported, and the round completes
    assert added in ids(pages)
    assert gone in ids(pages, Removed)
    assert pages[-1].complete and not any(p.full_sync for p in pages)


def test_resuming_from_any_page_cursor_misses_nothing(make):
    h = make(10)
    pages = list(h.connector.pages(h.resource, None))
    for k in range(len(pages) - 1):
        # Given a round interrupted after page k (its cursor committed, the rest lost)
        before = ids(pages[: k + 1])
        # When a new process resumes from that cursor
        after = list(h.connector.pages(h.resource, pages[k].cursor))
        # Then together they hold every item, none of them twice, still as a full sync
        assert sorted(before + ids(after)) == sorted(h.present())
        assert after[-1].complete and all(p.full_sync for p in after)


def test_stale_cursor_raises_cursor_expired(make):
    h = make(4)
    cursor = list(h.connector.pages(h.resource, None))[-1].cursor
    # Given the provider dropped its sync state
    h.expire()
    # Then the stored cursor is refused with CursorExpired (not some other error)
    with pytest.raises(CursorExpired):
        list(h.connector.pages(h.resource, cursor))
    # And a full sync from no cursor still works
    assert sorted(ids(list(h.connector.pages(h.resource, None)))) == sorted(h.present())


def test_engine_recovers_from_a_kill_at_every_page_and_from_expiry(make):
    h = make(9)
    h.add(50)
    n_pages = len(list(h.connector.pages(h.resource, None)))
    for kill_at in range(n_pages):
        # Given a sync killed before its (kill_at+1)-th commit
        store = ModelStore(crash_after=kill_at)
        with pytest.raises(KeyboardInterrupt):
            run_sync(store, h.connector, [h.resource])
        # When it restarts
        store.crash_after = None
        run_sync(store, h.connector, [h.resource])
        # Then the store holds exactly what the source holds
        assert set(store.rows) == h.present()
    # And after changes plus a stale cursor, a full resync converges and drops what was deleted
    victim = sorted(h.present())[0]
    h.delete(victim)
    h.add(51)
    h.expire()
    run_sync(store, h.connector, [h.resource])
    assert set(store.rows) == h.present() and victim not in store.rows
    assert store.states[h.resource].state == "incremental"
