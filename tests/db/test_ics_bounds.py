"""Hostile .ics files cannot hang or flood an import (issue 13, item 4): the three attacks
replayed, each against the bound that stops it, and the attendee cap of Google and Graph."""

from __future__ import annotations

import resource
import signal
from contextlib import contextmanager

import pytest

from ingest.attendees import MAX_ATTENDEES
from ingest.google.calendar import parse_event as google_event
from ingest.ics import IcsConnector, read_calendar
from ingest.microsoft.calendar import parse_event as graph_event
from ingest.records import Interaction, Quarantined
from ingest.recurrence import ITERATIONS, SUBDAILY_INSTANCES
from service.imports import import_file
from service.store import create_user
from tests.bench.bench_ics_attacks import _calendar, attendees, never_matching, secondly


@contextmanager
def cpu_limit(seconds: float):
    """Fail (instead of hanging) when the block uses more than `seconds` of CPU."""

    def expired(signum, frame):
        raise TimeoutError(f"more than {seconds} s of CPU")

    previous = signal.signal(signal.SIGPROF, expired)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def test_rules_that_never_match_are_detected_quickly_and_quarantined():
    # Given ten SECONDLY rules on February 30th (dateutil alone searches to the year 9999)
    data = never_matching()
    # When read under a CPU limit
    before = cpu()
    with cpu_limit(10):
        items, _, _ = read_calendar(data, "never.ics")
    spent = cpu() - before
    # Then each series keeps its first occurrence and says why nothing else came
    meetings = [i for i in items if isinstance(i, Interaction)]
    reasons = {q.ref: q.reason for q in items if isinstance(q, Quarantined)}
    assert sorted(m.provider_id for m in meetings) == sorted(f"never{n}@x/2026-01-01T08:00:00Z" for n in range(10))
    assert reasons == {
        f"never{n}@x": f"recurrence rule produced no instance within {ITERATIONS} iterations; "
        "only the first occurrence kept"
        for n in range(10)
    }
    assert spent < 5


def test_a_rule_with_interval_zero_is_refused_at_once():
    # Given a daily rule with INTERVAL=0 (found by the fuzz harness: dateutil repeats the
    # first start for ever and rruleset drops each repeat before the budget sees it)
    data = _calendar(["UID:still@x\r\nDTSTART:20260105T080000Z\r\nRRULE:FREQ=DAILY;INTERVAL=0\r\n"])
    # When read under a CPU limit
    with cpu_limit(10):
        items, _, _ = read_calendar(data, "still.ics")
    # Then the series keeps its first occurrence and says why the rule was not expanded
    meetings = [i for i in items if isinstance(i, Interaction)]
    reasons = [q.reason for q in items if isinstance(q, Quarantined)]
    assert len(meetings) == 1
    assert len(reasons) == 1 and "INTERVAL=0 (it must be a positive whole number)" in reasons[0]


def test_secondly_series_are_capped_and_the_cap_is_reported():
    # Given fifty open-ended SECONDLY series
    data = secondly()
    # When read
    with cpu_limit(20):
        items, _, _ = read_calendar(data, "secondly.ics")
    # Then each keeps its first SUBDAILY_INSTANCES instances, and says so
    meetings = [i for i in items if isinstance(i, Interaction)]
    quarantined = [q for q in items if isinstance(q, Quarantined)]
    assert len(meetings) == 50 * SUBDAILY_INSTANCES
    assert len(quarantined) == 50 and {q.reason for q in quarantined} == {
        f"series has more than {SUBDAILY_INSTANCES} instances in the window (it repeats more often than daily); "
        f"kept the first {SUBDAILY_INSTANCES}"
    }


def test_a_huge_attendee_list_is_counted_not_stored(tmp_path, database):
    # Given 20,000 attendees on a daily series of 50
    path = tmp_path / "crowd.ics"
    path.write_bytes(attendees())
    with database.tx() as conn:
        user_id = create_user(conn, "me@kith.example")
    # When imported into the database
    with cpu_limit(60):
        (report,) = import_file(database, user_id, "ics", path)
    # Then the 50 meetings keep the organizer and MAX_ATTENDEES attendees each, and their true size
    with database.tx() as conn:
        rows = conn.execute("SELECT count(*) FROM participants").fetchone()[0]
        sizes = {r[0] for r in conn.execute("SELECT n_participants FROM interactions").fetchall()}
        reasons = conn.execute("SELECT ref, reason FROM quarantine").fetchall()
    assert report.written == 50 and rows == 50 * (MAX_ATTENDEES + 1)
    assert sizes == {20_001}
    assert reasons == [
        ("crowd@x", f"meeting has 20001 distinct people; kept the organizer and the first {MAX_ATTENDEES} attendees")
    ]


def test_a_long_import_reports_progress_page_by_page(tmp_path):
    # Given fifty capped series (5,000 meetings)
    path = tmp_path / "secondly.ics"
    path.write_bytes(secondly())
    # When imported in pages of 500
    pages = list(IcsConnector(path, page_size=500).pages("ics", None))
    # Then progress rises page by page, the total known on the last one
    assert [p.progress[0] for p in pages] == list(range(500, 5001, 500)) + [5050]
    assert [p.progress[1] for p in pages[:-1]] == [None] * 10 and pages[-1].progress == (5050, 5050)
    # And a resumed import continues from the cursor with the same items
    rest = list(IcsConnector(path, page_size=500).pages("ics", pages[4].cursor))
    assert [i for p in rest for i in p.items] == [i for p in pages[5:] for i in p.items]


@pytest.mark.parametrize(
    "year, rule",
    [(9999, "RRULE:FREQ=DAILY"), (1, "RRULE:FREQ=YEARLY"), (2026, "RRULE:FREQ=DAILY;UNTIL=99991231T235959Z")],
)
def test_dates_at_the_edge_of_time_are_quarantined_or_bounded(year, rule):
    # Given a series at the edge of what datetime can hold, next to an ordinary event
    data = (
        f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:edge@x\r\nDTSTART:{year:04d}0101T080000Z\r\n"
        f"{rule}\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:ok@x\r\nDTSTART:20260105T080000Z\r\nEND:VEVENT\r\n"
        "END:VCALENDAR\r\n"
    ).encode()
    # When read, Then nothing overflows and the ordinary event is kept
    with cpu_limit(10):
        items, _, _ = read_calendar(data, "edge.ics")
    assert "ok@x" in {i.provider_id for i in items if isinstance(i, Interaction)}
    assert all(isinstance(i, (Interaction, Quarantined)) for i in items)


def _crowd(n: int) -> list[str]:
    return [f"p{k}@crowd.example" for k in range(n)]


def test_google_and_graph_events_keep_a_bounded_attendee_list_and_count_the_rest():
    # Given a Google event and a Graph event with 5,000 attendees each
    people = _crowd(5000)
    google = {
        "id": "e1",
        "status": "confirmed",
        "start": {"dateTime": "2026-01-05T10:00:00Z"},
        "end": {"dateTime": "2026-01-05T11:00:00Z"},
        "organizer": {"email": "boss@crowd.example"},
        "attendees": [{"email": a, "responseStatus": "accepted"} for a in people],
    }
    graph = {
        "id": "g1",
        "start": {"dateTime": "2026-01-05T10:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-01-05T11:00:00.0000000", "timeZone": "UTC"},
        "organizer": {"emailAddress": {"address": "boss@crowd.example"}},
        "attendees": [{"type": "required", "emailAddress": {"address": a}} for a in people],
    }
    # When parsed
    for item in (google_event(google, "primary"), graph_event(graph)):
        # Then the organizer and MAX_ATTENDEES attendees are kept, and the true size is known
        assert isinstance(item, Interaction)
        assert len(item.participants) == MAX_ATTENDEES + 1 and item.audience == 5001
        assert item.participants[0].role == "organizer"


def test_an_event_that_ends_in_the_year_9999_is_quarantined_once_before_the_database(tmp_path, database, caplog):
    # Given a minutely series whose DTEND is 7,973 years after its DTSTART (its seconds
    # overflow the integer duration column; found by the long fuzz profile, where every
    # occurrence reached PostgreSQL and was refused one by one), beside an ordinary meeting
    path = tmp_path / "forever.ics"
    path.write_bytes(
        _calendar(
            [
                "UID:forever@x\r\nDTSTART:20261115T093000Z\r\nDTEND:99991231T235959Z\r\n"
                "RRULE:FREQ=MINUTELY;COUNT=999999999\r\nORGANIZER:mailto:ana@example.org\r\n",
                "UID:ok@x\r\nDTSTART:20261116T093000Z\r\nDTEND:20261116T103000Z\r\n"
                "ORGANIZER:mailto:ana@example.org\r\n",
            ]
        )
    )
    with database.tx() as conn:
        user_id = create_user(conn, "me@kith.example")
    # When imported into the database
    with cpu_limit(20):
        (report,) = import_file(database, user_id, "ics", path)
    # Then the series is quarantined once, unexpanded, with the reason, and nothing of it is
    # stored; the ordinary meeting is, with its hour
    with database.tx() as conn:
        stored = conn.execute("SELECT provider_id, duration_s FROM interactions").fetchall()
        reasons = conn.execute("SELECT ref, reason FROM quarantine").fetchall()
    assert stored == [("ok@x", 3600)] and report.written == 1
    assert reasons == [
        ("forever@x", "event lasts 2912124 days (7973 years); more than 24855 days (68 years) is no meeting")
    ]
    # And no occurrence reached the database to be refused there
    assert "could not be stored" not in caplog.text


def test_google_and_graph_events_that_end_in_the_year_9999_are_quarantined():
    # Given a Google event and a Graph event (as Graph serves it in UTC, clamped to the
    # last tick of the year 9999) that start in 2026 and end at the end of time
    google = {
        "id": "e1",
        "start": {"dateTime": "2026-01-05T10:00:00Z"},
        "end": {"dateTime": "9999-12-31T23:00:00Z"},
        "organizer": {"email": "boss@example.org"},
    }
    graph = {
        "id": "g1",
        "start": {"dateTime": "2026-01-05T10:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "9999-12-31T23:59:59.9999999", "timeZone": "UTC"},
        "organizer": {"emailAddress": {"address": "boss@example.org"}},
    }
    # When parsed, Then each is quarantined with the reason, and nothing is left to store
    for item, ref in ((google_event(google, "primary"), "gcal:primary:e1"), (graph_event(graph), "g1")):
        assert isinstance(item, Quarantined) and item.ref == ref
        assert item.reason.startswith("event lasts 2912") and item.reason.endswith("(68 years) is no meeting")
    # And a long but possible event (a year of leave) is still a meeting, with its length
    year = {**google, "end": {"dateTime": "2027-01-05T10:00:00Z"}}
    kept = google_event(year, "primary")
    assert isinstance(kept, Interaction) and kept.duration_s == 365 * 86400
