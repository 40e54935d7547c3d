"""Fuzz: hostile calendar entries through the .ics importer and the Google Calendar and Graph
calendar connectors (on the emulators of ingest/sandbox/) into PostgreSQL.

Entries carry control characters, lone surrogates and overlong text in names, addresses
and ids; impossible dates (year 0, 99999, February 30, the edges of datetime); DTEND before
DTSTART; recurrence rules that never match, SECONDLY rules, huge COUNTs; thousands of
attendees; broken line folding and non-UTF-8 bytes. Every example asserts that each entry
is stored or quarantined with a reason, that the sync reaches its end, and that CPU time
and memory per entry stay bounded. The counts per surface are printed at the end (-s).

A short profile runs in the default test run. The long one, on demand:

    KITH_FUZZ_PROFILE=long KITH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \\
    KITH_REDIS_URL=redis://127.0.0.1:6379/0 \\
    .venv/bin/pytest -q -s -p no:cacheprovider tests/emulators/test_fuzz_calendar.py
"""

from __future__ import annotations

import itertools
import os
import threading
import time
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, Phase, given, note, settings, strategies as st

from ingest.google import SCOPES
from ingest.microsoft import GraphClient, LocalThrottle, MicrosoftConnector
from ingest.sandbox.google import calendar_api, start_google_emulator
from ingest.sandbox.google.calendars import StoredEvent
from ingest.sandbox.microsoft import start_microsoft_emulator
from ingest.sync import run_sync
from service.providers.credentials import save_credentials
from service.providers.google import build_connector
from service.imports import import_file
from service.store import create_user, ensure_account
from service.sync_store import AccountSyncStore

PROFILE = os.environ.get("KITH_FUZZ_PROFILE", "short")
EXAMPLES = {"short": 12, "long": 400}[PROFILE]
ENTRIES = {"short": 6, "long": 12}[PROFILE]
CROWD = {"short": 600, "long": 5000}[PROFILE]  # the biggest attendee list drawn
# CPU as the process spends it, with no tracer on: tracemalloc slows Python three to five
# times on most paths but eighteen on dateutil's day-by-day search (a SECONDLY rule that
# never matches cost 0.54 s of CPU plain and 9-10 s traced), so a traced bound was no bound.
# The bounds are the traced ones divided by four; the base covers a connector's start (TLS,
# OAuth, first request).
CPU_BASE_S = 0.75
CPU_PER_ENTRY_S = 0.5
MEMORY_MB = 256  # growth of the process's resident memory during one sync
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
COUNTS: dict[str, Counter] = {}
WORST: dict[str, dict[str, float]] = {}  # surface -> the worst CPU share of its bound, and memory (MB)
_serial = itertools.count()

# No shrinking: an example costs a sync into PostgreSQL, and the failing one is printed as is.
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=PROFILE == "short",
    suppress_health_check=list(HealthCheck),
    phases=(Phase.explicit, Phase.generate),
)

# --- hostile values -----------------------------------------------------------------

CONTROL = st.sampled_from(
    ["\x00", "\x01", "\x07", "\x1b[2J", "\x7f", "\x85", "\u2028", "\u202e", "\ufeff", "\ud800", "\udfff", "\t"]
)
NASTY = st.one_of(
    st.text(st.characters(exclude_categories=()), max_size=24),  # any code point, lone surrogates too
    st.lists(CONTROL, min_size=1, max_size=4).map("".join),
    st.integers(3000, 12000).map(lambda n: "x" * n),
)
ADDRESS = st.one_of(
    st.builds(
        lambda a, b: f"{a}@{b}.example",
        st.from_regex(r"[a-z]{1,8}", fullmatch=True),
        st.from_regex(r"[a-z]{1,8}", fullmatch=True),
    ),
    NASTY.map(lambda s: f"{s}@x.example"),
    NASTY,
)
ICS_DATES = st.sampled_from(
    [
        "20260105T100000Z",
        "20261115T093000Z",
        "00000101T000000Z",
        "999991231T000000Z",
        "20260230T100000Z",
        "00010101T000000Z",
        "99991231T235959Z",
        "18991231T235959Z",
        "20261301T000000",
        "20260105",
        "garbage",
        "",
    ]
)
RULES = st.sampled_from(
    [
        None,
        None,
        "FREQ=SECONDLY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=SECONDLY",
        "FREQ=MINUTELY;COUNT=999999999",
        "FREQ=DAILY;COUNT=2147483648",
        "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30",
        "FREQ=HOURLY;BYSETPOS=2",
        "FREQ=DAILY;INTERVAL=0",
        "FREQ=WEEKLY;UNTIL=99991231T235959Z",
        "FREQ=MONTHLY;BYDAY=6MO",
        "FREQ=DAILY;UNTIL=00010101",
        "FREQ=SOMETIMES",
        "FREQ=MONTHLY;BYMONTH=4;BYMONTHDAY=31",
        "FREQ=DAILY;COUNT=5",
    ]
)
GOOGLE_TIMES = st.sampled_from(
    [
        {"dateTime": "2026-01-05T10:00:00Z"},
        {"dateTime": "0000-01-01T00:00:00Z"},
        {"dateTime": "99999-12-31T00:00:00Z"},
        {"dateTime": "2026-02-30T10:00:00Z"},
        {"dateTime": "9999-12-31T23:00:00-05:00"},
        {"dateTime": "0001-01-01T00:30:00+01:00"},
        {"date": "2026-02-30"},
        {"date": "0000-00-00"},
        {"dateTime": "2026-01-05T10:00:00", "timeZone": "Nowhere/Zone"},
        {"dateTime": "garbage"},
        {},
        "not an object",
    ]
)
GRAPH_TIMES = st.sampled_from(
    [
        {"dateTime": "2026-06-05T10:00:00.0000000", "timeZone": "UTC"},
        {"dateTime": "2026-06-05T10:00:00.0000000", "timeZone": "Pacific Standard Time"},
        {"dateTime": "0000-01-01T00:00:00.0000000", "timeZone": "UTC"},
        {"dateTime": "2026-02-30T10:00:00.0000000", "timeZone": "UTC"},
        {"dateTime": "9999-12-31T23:00:00.0000000", "timeZone": "Pacific Standard Time"},
        {"dateTime": "2026-06-05T10:00:00.9999999999999", "timeZone": "UTC"},
        {"dateTime": "2026-06-05T10:00:00", "timeZone": "Nowhere/Zone"},
    ]
)


def crowd(draw) -> int:
    return draw(st.one_of(st.integers(0, 4), st.integers(0, 4), st.just(CROWD)))


def flat(text: str) -> str:
    """A value on one content line: a newline would start another property."""
    return text.replace("\r", " ").replace("\n", " ")


# --- bookkeeping ----------------------------------------------------------------------


@pytest.fixture(scope="module", autouse=True)
def report_counts():
    yield
    for surface, counts in COUNTS.items():
        worst = WORST.get(surface, {})
        print(
            f"\nfuzz[{PROFILE}] {surface}: "
            + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
            + f"; worst CPU {worst.get('cpu', 0):.0%} of its bound, worst memory growth {worst.get('mb', 0):.0f} MB"
        )


def held(database, account_id: int) -> tuple[list[str], dict[str, str], str]:
    with database.tx() as conn:
        ids = [
            r[0]
            for r in conn.execute(
                "SELECT provider_id FROM interactions WHERE account_id = %s", (account_id,)
            ).fetchall()
        ]
        reasons = dict(
            conn.execute("SELECT ref, reason FROM quarantine WHERE account_id = %s", (account_id,)).fetchall()
        )
        status = conn.execute("SELECT status FROM accounts WHERE id = %s", (account_id,)).fetchone()[0]
    return ids, reasons, status


class ResidentPeak:
    """How far the process's resident memory rose above its level at the start of a block,
    sampled from /proc/self/statm every `every` seconds on a thread of its own (a runaway
    allocation fills pages for far longer than that). Unlike tracemalloc it slows nothing,
    and it sees memory allocated outside Python's allocator too."""

    PAGE = os.sysconf("SC_PAGE_SIZE")

    def __init__(self, every: float = 0.002) -> None:
        self.every = every
        self.start = self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _resident(self) -> int:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[1]) * self.PAGE

    def _watch(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, self._resident())

    def __enter__(self) -> ResidentPeak:
        self.start = self.peak = self._resident()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, self._resident())

    @property
    def grown(self) -> int:
        return self.peak - self.start


def check(surface: str, database, account_id: int, prefixes: list[str], run) -> None:
    """Run a sync under measurement, then account for every entry by its id prefix."""
    with ResidentPeak() as memory:
        cpu = time.process_time()
        try:
            reports = run()
        finally:
            spent = time.process_time() - cpu
    peak = memory.grown
    ids, reasons, status = held(database, account_id)
    counts = COUNTS.setdefault(surface, Counter())
    counts["pages"] += sum(r.pages for r in reports)
    # Then the sync reached its end, and nothing was left in between
    assert status == "incremental"
    assert all(reason.strip() for reason in reasons.values())
    for prefix in prefixes:
        stored = any(i.startswith(prefix) for i in ids)
        quarantined = any(r.startswith(prefix) for r in reasons)
        assert stored or quarantined, f"{prefix[:60]!r} neither stored nor quarantined"
        counts["tried"] += 1
        counts["stored"] += stored
        counts["quarantined"] += quarantined
    # And time and memory stayed bounded
    bound = CPU_BASE_S + CPU_PER_ENTRY_S * len(prefixes)
    worst = WORST.setdefault(surface, {"cpu": 0.0, "mb": 0.0})
    worst["cpu"], worst["mb"] = max(worst["cpu"], spent / bound), max(worst["mb"], peak / 2**20)
    assert spent < bound, f"{spent:.1f} s of CPU for {len(prefixes)} entries"
    assert peak < MEMORY_MB * 2**20, f"{peak / 2**20:.0f} MB"


# --- .ics -----------------------------------------------------------------------------


@st.composite
def ics_event(draw, n: int) -> str:
    lines = [f"UID:ev{n}-{flat(draw(NASTY))}"]
    start = draw(ICS_DATES)
    lines.append(f"DTSTART:{start}" if start else "SUMMARY:no start")
    if draw(st.booleans()):
        lines.append(f"DTEND:{draw(ICS_DATES)}")  # often before DTSTART, or impossible
    rule = draw(RULES)
    if rule:
        lines.append(f"RRULE:{rule}")
    lines.append(f'ORGANIZER;CN="{flat(draw(NASTY))}":mailto:{flat(draw(ADDRESS))}')
    lines.extend(
        f"ATTENDEE;CN={flat(draw(NASTY)) if k < 3 else 'P'}:mailto:{flat(draw(ADDRESS)) if k < 3 else f'p{k}@crowd.example'}"
        for k in range(crowd(draw))
    )
    return "\r\n".join(lines)


@st.composite
def ics_file(draw) -> tuple[bytes, int]:
    count = draw(st.integers(1, ENTRIES))
    body = "".join(f"BEGIN:VEVENT\r\n{draw(ics_event(n))}\r\nEND:VEVENT\r\n" for n in range(count))
    text = f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//fuzz//EN\r\n{body}END:VCALENDAR\r\n"
    data = text.encode("utf-8", "surrogatepass")  # lone surrogates become invalid UTF-8 bytes
    mangle = draw(st.sampled_from(["none", "fold", "latin1", "bare-lf"]))
    if mangle == "fold":  # folds anywhere, in the middle of a UTF-8 sequence too
        cuts = sorted(draw(st.lists(st.integers(40, max(41, len(data) - 20)), max_size=6)))
        for cut in reversed(cuts):
            data = data[:cut] + b"\r\n " + data[cut:]
    elif mangle == "latin1":
        data = text.encode("latin-1", "replace")
    elif mangle == "bare-lf":
        data = data.replace(b"\r\n", b"\n")
    return data, count


@FUZZ
@given(sample=ics_file())
def test_hostile_ics_files_are_stored_or_quarantined(sample, database, tmp_path_factory):
    # Given a calendar file of hostile events
    data, count = sample
    note(f"the file, {len(data)} bytes: {data[:4000]!r}")
    path = tmp_path_factory.mktemp("ics") / "fuzz.ics"
    path.write_bytes(data)
    with database.tx() as conn:
        email = f"fuzz{next(_serial)}@kith.example"
        user_id = create_user(conn, email)
        account_id = ensure_account(conn, user_id, "ics", email)  # the account import_file uses
    # When imported, Then every event is stored or quarantined, within bounds
    check(
        "ics",
        database,
        account_id,
        [f"ev{n}-" for n in range(count)],
        lambda: import_file(database, user_id, "ics", path),
    )


# --- Google Calendar ------------------------------------------------------------------


@st.composite
def google_events(draw) -> list[dict]:
    events = []
    for n in range(draw(st.integers(1, ENTRIES))):
        raw = {}
        if draw(st.booleans()):
            raw["start"], raw["end"] = draw(GOOGLE_TIMES), draw(GOOGLE_TIMES)
        people = [(flat(draw(NASTY)), draw(ADDRESS), "accepted") for _ in range(min(3, crowd(draw)))]
        people += [("", f"p{k}@crowd.example", "needsAction") for k in range(max(0, crowd(draw) - 3))]
        events.append(
            {
                "id": f"fz{n}-{draw(NASTY)}",
                "organizer": (draw(NASTY), draw(ADDRESS)),
                "attendees": tuple(people),
                "raw": raw,
                "backwards": draw(st.booleans()),
                "summary": draw(NASTY),
            }
        )
    return events


@pytest.fixture
def google(settings, quota_redis, monkeypatch):
    emulator = start_google_emulator(quota_scale=50.0)
    overlays: dict[str, dict] = {}
    plain = calendar_api.event_json

    def hostile_json(event, calendar, owner):
        return {**plain(event, calendar, owner), **overlays.get(event.id, {})}

    monkeypatch.setattr(calendar_api, "event_json", hostile_json)
    overrides = {**emulator.settings_overrides(), "google_quota_scale": 50.0, "redis_url": quota_redis}
    yield emulator, overlays, settings.model_copy(update=overrides)
    emulator.stop()


@FUZZ
@given(events=google_events())
def test_hostile_google_calendar_events_are_stored_or_quarantined(events, database, google):
    from pydantic import SecretStr

    emulator, overlays, base_settings = google
    gsettings = base_settings.model_copy(update={"google_client_secret": SecretStr("kith-emulator-secret")})
    # Given a Google calendar of hostile events
    address = f"fuzz{next(_serial)}@example.org"
    emulator.add_account(address)
    start = datetime(2026, 1, 5, 10, tzinfo=timezone.utc)
    for n, e in enumerate(events):
        end = start - timedelta(hours=1) if e["backwards"] else start + timedelta(hours=1)
        stored = StoredEvent(
            id=e["id"],
            ical_uid=f"{e['id']}@fuzz",
            start=start + timedelta(days=n),
            end=end,
            timezone="UTC",
            all_day=False,
            organizer=e["organizer"],
            attendees=e["attendees"],
            summary=e["summary"],
        )
        emulator.calendar("primary", address).put(stored)
        overlays[e["id"]] = e["raw"]
    with database.tx() as conn:
        user_id = create_user(conn, address)
        account_id = ensure_account(conn, user_id, "google", address, scopes=list(SCOPES))
        save_credentials(
            conn,
            gsettings,
            account_id,
            {"refresh_token": emulator.issue_refresh_token(address), "scopes": list(SCOPES)},
        )

    def sync():
        connector = build_connector(gsettings, database, account_id)
        try:
            return run_sync(AccountSyncStore(database, account_id), connector, resources=["calendar:primary"])
        finally:
            connector.close()

    # When synced, Then every event is stored or quarantined, within bounds
    # (a stored event's provider id and a quarantined one's ref both start with it)
    check("google", database, account_id, [f"gcal:primary:fz{n}-" for n in range(len(events))], sync)


# --- Microsoft Graph calendar ---------------------------------------------------------


def _recipient(name, address) -> dict:
    return {"emailAddress": {"name": name, "address": address}}


@st.composite
def graph_events(draw) -> list[dict]:
    events = []
    for n in range(draw(st.integers(1, ENTRIES))):
        people = [_recipient(flat(draw(NASTY)), draw(ADDRESS)) for _ in range(min(3, crowd(draw)))]
        people += [_recipient("P", f"p{k}@crowd.example") for k in range(max(0, crowd(draw) - 3))]
        start = draw(GRAPH_TIMES)
        events.append(
            {
                "id": f"fz{n}-{draw(NASTY)}",
                "iCalUId": draw(NASTY),
                "subject": draw(NASTY),
                "start": start,
                "end": draw(st.one_of(st.just(start), GRAPH_TIMES)),
                "isAllDay": draw(st.booleans()),
                "isCancelled": False,
                "showAs": draw(st.sampled_from(["busy", "x\x00"])),
                "type": "singleInstance",
                "organizer": _recipient(draw(NASTY), draw(ADDRESS)),
                "attendees": [{"type": "required", **p, "status": {"response": "accepted"}} for p in people],
            }
        )
    return events


@pytest.fixture
def graph():
    emulator = start_microsoft_emulator()
    yield emulator
    emulator.stop()


@FUZZ
@given(events=graph_events())
def test_hostile_graph_calendar_events_are_stored_or_quarantined(events, database, graph):
    # Given a mailbox whose calendar holds hostile events
    upn = f"fuzz{next(_serial)}@northwind.example"
    graph.add_mailbox(upn, "Fuzz")
    for event in events:
        graph.put_event(event, upn)
    window = (NOW - timedelta(days=730), NOW + timedelta(days=90))
    # (the emulator serves only what it can place in the window, as Graph does)
    served = sorted(graph.event_ids(*window, upn=upn))
    with database.tx() as conn:
        user_id = create_user(conn, upn)
        account_id = ensure_account(conn, user_id, "microsoft", upn)
    token = graph.access_token_for(upn)
    client = GraphClient(
        graph.graph_base, lambda force_refresh=False: token, ca_bundle=graph.ca_file, throttle=LocalThrottle()
    )
    connector = MicrosoftConnector(client, folders=(), now=lambda: NOW)

    def sync():
        try:
            return run_sync(AccountSyncStore(database, account_id), connector, resources=["calendar"])
        finally:
            connector.close()

    # When synced, Then every event served is stored or quarantined, within bounds
    check("graph", database, account_id, [i.split("-", 1)[0] + "-" for i in served], sync)
    COUNTS["graph"]["not served (no readable time in the window)"] += len(events) - len(served)
