"""The .ics importer: attendees and responses, status, all-day, recurrences and time zones."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.errors import CursorExpired, InputError
from ingest.ics import IcsConnector, read_calendar
from ingest.records import Interaction, Quarantined

MADRID = ZoneInfo("Europe/Madrid")


def calendar(*events: str, extra: str = "") -> bytes:
    body = "".join(f"BEGIN:VEVENT\n{e.strip()}\nEND:VEVENT\n" for e in events)
    text = f"BEGIN:VCALENDAR\nVERSION:2.0\nPRODID:-//kith//test//EN\n{extra}{body}END:VCALENDAR\n"
    return text.replace("\n", "\r\n").encode()


def items_of(data: bytes, **kwargs) -> list:
    return read_calendar(data, "test.ics", **kwargs)[0]


def meetings(items) -> list[Interaction]:
    return [i for i in items if isinstance(i, Interaction)]


def test_a_meeting_keeps_organizer_attendees_and_normalised_responses():
    # Given a meeting with an organizer, attendees in every PARTSTAT, a room and a bad address
    data = calendar("""
UID:m1@x
DTSTART:20261102T150000Z
DTEND:20261102T160000Z
ORGANIZER;CN="Ana Ruiz":mailto:Ana@Example.org
ATTENDEE;PARTSTAT=ACCEPTED;CN=Bob:mailto:bob@x.org
ATTENDEE;PARTSTAT=DECLINED:MAILTO:carl@x.org
ATTENDEE;PARTSTAT=TENTATIVE:mailto:dee@x.org
ATTENDEE:mailto:eve@x.org
ATTENDEE;PARTSTAT=DELEGATED:mailto:fay@x.org
ATTENDEE;CUTYPE=ROOM;PARTSTAT=ACCEPTED:mailto:room-1@resource.x.org
ATTENDEE:invalid:nomail
""")
    # When read
    (item,) = items_of(data)
    # Then the people and their responses are there, the room and the garbage are not
    assert item.kind == "meeting" and item.provider_id == "m1@x" and item.status == "confirmed"
    assert item.occurred_at == datetime(2026, 11, 2, 15, tzinfo=timezone.utc)
    assert item.duration_s == 3600 and item.all_day is False
    assert [(p.role, p.address, p.name, p.response) for p in item.participants] == [
        ("organizer", "ana@example.org", "Ana Ruiz", "organizer"),
        ("attendee", "bob@x.org", "Bob", "accepted"),
        ("attendee", "carl@x.org", None, "declined"),
        ("attendee", "dee@x.org", None, "tentative"),
        ("attendee", "eve@x.org", None, "needs_action"),
        ("attendee", "fay@x.org", None, "none"),
    ]


def test_cancelled_and_all_day_events():
    # Given a cancelled meeting, an all-day event and a multi-day all-day event
    data = calendar(
        "UID:c@x\nSTATUS:CANCELLED\nDTSTART;TZID=Europe/Madrid:20261102T100000\nDURATION:PT30M",
        "UID:d@x\nDTSTART;VALUE=DATE:20261103",
        "UID:e@x\nDTSTART;VALUE=DATE:20261104\nDTEND;VALUE=DATE:20261107\nSTATUS:TENTATIVE",
    )
    # When read
    cancelled, day, days = items_of(data)
    # Then status, all-day flag, duration and UTC start are right
    assert cancelled.status == "cancelled" and cancelled.duration_s == 1800
    assert cancelled.occurred_at == datetime(2026, 11, 2, 9, tzinfo=timezone.utc)
    assert day.all_day and day.duration_s == 86400
    assert day.occurred_at == datetime(2026, 11, 3, tzinfo=timezone.utc)
    assert days.all_day and days.duration_s == 3 * 86400 and days.status == "tentative"


def test_weekly_madrid_meeting_stays_at_ten_local_across_dst():
    # Given a weekly 10:00 Europe/Madrid meeting spanning the March and October changes
    data = calendar("""
UID:weekly@x
DTSTART;TZID=Europe/Madrid:20260302T100000
DTEND;TZID=Europe/Madrid:20260302T110000
RRULE:FREQ=WEEKLY;UNTIL=20261130T000000Z
ORGANIZER:mailto:ana@x.org
""")
    # When expanded
    instances = meetings(items_of(data))
    # Then every Monday from March 2 to November 23 is there, at 10:00 Madrid time
    assert len(instances) == 39
    local = [i.occurred_at.astimezone(MADRID) for i in instances]
    assert {(t.hour, t.minute, t.weekday()) for t in local} == {(10, 0, 0)}
    # And the UTC hour moves with DST: 09:00 in winter, 08:00 in summer
    utc_hours = {i.occurred_at.date(): i.occurred_at.hour for i in instances}
    assert utc_hours[date(2026, 3, 23)] == 9 and utc_hours[date(2026, 3, 30)] == 8
    assert utc_hours[date(2026, 10, 19)] == 8 and utc_hours[date(2026, 10, 26)] == 9
    assert instances[0].provider_id == "weekly@x/2026-03-02T09:00:00Z"
    assert len({i.provider_id for i in instances}) == 39 and {i.duration_s for i in instances} == {3600}


def test_exdate_rdate_and_overridden_instances():
    # Given a daily series with an excluded day, an extra date, a moved and a cancelled instance
    data = calendar(
        """
UID:s@x
DTSTART;TZID=Europe/Madrid:20260601T090000
DURATION:PT15M
RRULE:FREQ=DAILY;COUNT=5
EXDATE;TZID=Europe/Madrid:20260602T090000
RDATE;TZID=Europe/Madrid:20260610T120000
ATTENDEE;PARTSTAT=ACCEPTED:mailto:bob@x.org
""",
        """
UID:s@x
RECURRENCE-ID;TZID=Europe/Madrid:20260603T090000
DTSTART;TZID=Europe/Madrid:20260603T170000
DURATION:PT45M
ATTENDEE;PARTSTAT=DECLINED:mailto:bob@x.org
""",
        """
UID:s@x
RECURRENCE-ID;TZID=Europe/Madrid:20260604T090000
DTSTART;TZID=Europe/Madrid:20260604T090000
STATUS:CANCELLED
""",
    )
    # When expanded
    by_id = {i.provider_id: i for i in meetings(items_of(data))}
    # Then June 2 is gone, June 10 is added, June 3 moved to 17:00 with its own people
    assert sorted(by_id) == [f"s@x/2026-06-{d}T07:00:00Z" for d in ("01", "03", "04", "05")] + [
        "s@x/2026-06-10T10:00:00Z"
    ]
    moved = by_id["s@x/2026-06-03T07:00:00Z"]
    assert moved.occurred_at == datetime(2026, 6, 3, 15, tzinfo=timezone.utc) and moved.duration_s == 2700
    assert [p.response for p in moved.participants] == ["declined"]
    assert by_id["s@x/2026-06-04T07:00:00Z"].status == "cancelled"
    assert by_id["s@x/2026-06-05T07:00:00Z"].status == "confirmed"


def test_recurring_all_day_and_custom_vtimezone():
    # Given a yearly all-day event and a meeting in a zone defined only by its VTIMEZONE
    vtimezone = """BEGIN:VTIMEZONE
TZID:W. Europe Custom
BEGIN:STANDARD
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
END:DAYLIGHT
END:VTIMEZONE
"""
    data = calendar(
        "UID:bday@x\nDTSTART;VALUE=DATE:20240229\nRRULE:FREQ=YEARLY;COUNT=3;BYMONTH=2;BYMONTHDAY=-1",
        "UID:z@x\nDTSTART;TZID=W. Europe Custom:20260715T100000\nDURATION:PT1H",
        extra=vtimezone,
    )
    # When read
    items = meetings(items_of(data))
    # Then the all-day instances are dates, and the custom zone gives summer time (+02:00)
    assert [i.provider_id for i in items if i.all_day] == [
        "bday@x/2024-02-29",
        "bday@x/2025-02-28",
        "bday@x/2026-02-28",
    ]
    (z,) = [i for i in items if i.provider_id == "z@x"]
    assert z.occurred_at == datetime(2026, 7, 15, 8, tzinfo=timezone.utc)


def test_open_ended_series_is_bounded_by_the_window_and_the_instance_cap():
    # Given a daily series without end and a single later event
    data = calendar("UID:daily@x\nDTSTART:20260101T080000Z\nRRULE:FREQ=DAILY", "UID:one@x\nDTSTART:20260301T080000Z")
    # When expanded with the default window
    daily = [i for i in items_of(data) if i.provider_id.startswith("daily@x")]
    # Then it runs from the first start to 90 days after the newest start
    assert daily[0].occurred_at == datetime(2026, 1, 1, 8, tzinfo=timezone.utc)
    assert daily[-1].occurred_at == datetime(2026, 5, 30, 8, tzinfo=timezone.utc)
    # And an explicit window or a cap bounds it further
    window = items_of(
        data,
        window_start=datetime(2026, 2, 1, tzinfo=timezone.utc),
        window_end=datetime(2026, 2, 10, 23, tzinfo=timezone.utc),
    )
    assert len([i for i in window if i.provider_id.startswith("daily@x")]) == 10
    capped = items_of(data, max_instances=7)
    assert len([i for i in meetings(capped) if i.provider_id.startswith("daily@x")]) == 7
    # And the cap is reported: the series is quarantined with what was kept
    assert [(q.ref, q.reason) for q in capped if isinstance(q, Quarantined)] == [
        ("daily@x", "series has more than 7 instances in the window; kept the first 7")
    ]


def test_garbage_events_are_quarantined_and_the_rest_kept():
    # Given an event without DTSTART, one with a garbled DTSTART, one with a broken RRULE,
    # one with a floating time and one good event
    data = calendar(
        "UID:nostart@x\nSUMMARY:lunch\nDESCRIPTION:secret agenda",
        "UID:garbled@x\nDTSTART:tomorrow",
        "UID:badrule@x\nDTSTART:20260101T080000Z\nRRULE:FREQ=SOMETIMES",
        "UID:floating@x\nDTSTART:20260102T080000",
        "UID:ok@x\nDTSTART:20260103T080000Z",
    )
    # When read
    items, _, notes = read_calendar(data, "test.ics")
    # Then each unreadable part is quarantined with a reason and no description
    reasons = {q.ref: q.reason for q in items if isinstance(q, Quarantined)}
    assert reasons["nostart@x"] == "VEVENT without DTSTART"
    assert reasons["garbled@x"] == "unreadable DTSTART: 'tomorrow'"
    assert reasons["badrule@x"].startswith("unreadable recurrence") and "first occurrence kept" in reasons["badrule@x"]
    assert "secret agenda" not in repr(items)
    # And the readable events are kept, floating time read as UTC and reported
    kept = {i.provider_id: i for i in meetings(items)}
    assert set(kept) == {"badrule@x/2026-01-01T08:00:00Z", "floating@x", "ok@x"}
    assert kept["floating@x"].occurred_at == datetime(2026, 1, 2, 8, tzinfo=timezone.utc)
    assert notes == ["test.ics: floating times (no time zone) in 1 event(s), read as UTC"]


def test_repeated_uid_keeps_the_highest_sequence():
    # Given the same single event twice, updated to a later time
    data = calendar("UID:u@x\nSEQUENCE:2\nDTSTART:20260105T100000Z", "UID:u@x\nSEQUENCE:1\nDTSTART:20260105T090000Z")
    # When read, Then one record with the newest version
    (item,) = items_of(data)
    assert item.occurred_at.hour == 10


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "x.ics is not an iCalendar file: it does not start with BEGIN:VCALENDAR"),
        (
            b"From a@b Wed Nov 25 10:00:00 2026\n",
            "x.ics is not an iCalendar file: it does not start with BEGIN:VCALENDAR",
        ),
        (b"BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nUID:x\r\n", "x.ics is not a readable iCalendar file"),
    ],
)
def test_a_file_that_is_not_icalendar_is_an_input_error(tmp_path, content, message):
    # Given an empty file, an mbox, and a truncated calendar
    path = tmp_path / "x.ics"
    path.write_bytes(content)
    # When imported, Then InputError says what is wrong
    with pytest.raises(InputError) as error:
        list(IcsConnector(path).pages("ics", None))
    assert str(error.value).startswith(message)


def test_pages_resume_from_a_cursor_and_expire_when_the_file_changes(tmp_path):
    # Given a calendar whose owner is named and which has 7 events
    path = tmp_path / "cal.ics"
    path.write_bytes(
        calendar(
            *(f"UID:e{n}@x\nDTSTART:2026010{n}T080000Z" for n in range(1, 8)), extra="X-WR-CALNAME:Ana@Example.org\n"
        )
    )
    connector = IcsConnector(path, page_size=3)
    single = [i for p in IcsConnector(path).pages("ics", None) for i in p.items]
    # When the import stops after the first page and resumes from its cursor
    first = next(iter(connector.pages("ics", None)))
    rest = list(IcsConnector(path, page_size=3).pages("ics", first.cursor))
    # Then the union equals one pass, the last page is complete, and the owner is known
    assert list(first.items) + [i for p in rest for i in p.items] == single and len(single) == 7
    assert not first.complete and rest[-1].complete and rest[-1].progress == (7, 7)
    assert first.own_addresses == ("ana@example.org",) and all(p.full_sync for p in [first, *rest])
    # And a later round over the unchanged file is one empty, complete, incremental page
    (again,) = IcsConnector(path).pages("ics", rest[-1].cursor)
    assert again.items == () and again.complete and not again.full_sync
    # And a changed file expires both kinds of cursor
    path.write_bytes(calendar("UID:other@x\nDTSTART:20260101T080000Z"))
    for cursor in (first.cursor, rest[-1].cursor):
        with pytest.raises(CursorExpired):
            list(IcsConnector(path).pages("ics", cursor))


def test_an_empty_calendar_gives_one_complete_empty_page(tmp_path):
    # Given a calendar with no events
    path = tmp_path / "none.ics"
    path.write_bytes(calendar())
    # When imported, Then a single complete page holds nothing
    (page,) = IcsConnector(path).pages("ics", None)
    assert page.items == () and page.complete


def test_dtstart_off_the_rule_is_the_first_of_count_occurrences():
    # Given a Monday start with a Tuesday/Thursday rule of 4 occurrences (RFC 5545 3.3.10:
    # DTSTART always counts as the first occurrence)
    data = calendar("UID:odd@x\nDTSTART:20260727T080000Z\nRRULE:FREQ=WEEKLY;COUNT=4;BYDAY=TU,TH")
    # When expanded, Then Monday plus the first three rule dates
    assert [i.occurred_at.day for i in items_of(data)] == [27, 28, 30, 4]


@pytest.fixture(scope="module")
def world():
    from ingest.sandbox.world import generate_world

    return generate_world(11, days=150, contacts=15, scale=0.6)


def _rid(uid: str, start, all_day: bool) -> str:
    return f"{uid}/{start.date()}" if all_day else f"{uid}/{start.astimezone(timezone.utc):%Y-%m-%dT%H:%M:%SZ}"


@pytest.mark.parametrize("account", ["google", "microsoft"])
def test_the_synthetic_worlds_calendar_imports_event_for_event(tmp_path, world, account):
    # Given the world's calendar as .ics (series as RRULE masters with EXDATEs and exceptions)
    from ingest.sandbox.world import write_ics

    path = tmp_path / f"{account}.ics"
    write_ics(world, path, account)
    expected = {}
    for e in world.events_for(account):
        if e.recurrence:
            instances = e.instances()
            ids = [_rid(e.ical_uid, i.original_start, e.all_day) for i in instances]
            if instances and instances[0].original_start != e.start:
                # DTSTART off the rule: RFC 5545 makes it the first of COUNT occurrences,
                # where the world's own expansion (dateutil alone) leaves it out.
                assert not e.exdates and not e.overridden
                ids = [_rid(e.ical_uid, e.start, e.all_day)] + ids[:-1]
                instances = [e] + list(instances[:-1])
            expected.update(zip(ids, instances))
        elif e.recurring_event_id:
            expected[_rid(e.ical_uid, e.original_start, e.all_day)] = e
        else:
            expected[e.ical_uid] = e
    last = max(e.start for e in expected.values())
    # When imported with a window that covers the whole world
    items = [i for p in IcsConnector(path, window_end=last + timedelta(days=1)).pages("ics", None) for i in p.items]
    # Then every occurrence is there once, with its time, status and people's responses
    assert sorted(i.provider_id for i in items) == sorted(expected) and len(items) > 10
    for item in items:
        e = expected[item.provider_id]
        assert item.all_day == e.all_day and item.status == e.status
        if not e.all_day:
            assert item.occurred_at == e.start.astimezone(timezone.utc)
            assert item.duration_s == int((e.end - e.start).total_seconds())
        attendees = {(p.address, p.response) for p in item.participants if p.role == "attendee"}
        assert attendees == {(a.lower(), r.replace("needsAction", "needs_action")) for _, a, r in e.attendees}
        assert [p.address for p in item.participants if p.role == "organizer"] == [e.organizer[1].lower()]


_LINES = [
    "UID:u@x",
    "DTSTART:20260101T100000Z",
    "DTSTART;TZID=Europe/Madrid:20260329T023000",
    "DTSTART;VALUE=DATE:20260101",
    "DTSTART:garbage",
    "DTEND:20250101T100000Z",
    "DURATION:PT1H",
    "DURATION:nonsense",
    "RRULE:FREQ=DAILY;COUNT=3",
    "RRULE:FREQ=WEEKLY;UNTIL=20260201",
    "RRULE:FREQ=MONTHLY;BYDAY=-1FR;UNTIL=20260601T000000Z",
    "RRULE:FREQ=DAILY;COUNT=2;UNTIL=20260105",
    "RRULE:BYDAY=XX",
    "EXDATE:20260102T100000Z",
    "EXDATE;VALUE=DATE:20260103",
    "RDATE:20260110T100000Z",
    "RDATE;VALUE=PERIOD:20260111T100000Z/PT1H",
    "RECURRENCE-ID:20260102T100000Z",
    "RECURRENCE-ID;VALUE=DATE:20260102",
    "STATUS:CANCELLED",
    "SEQUENCE:x",
    "ORGANIZER:mailto:a@x.org",
    "ATTENDEE;PARTSTAT=WHAT:mailto:b@x.org",
    "ATTENDEE:not-an-address",
    "DTSTART;TZID=Nowhere/Zone:20260101T100000",
]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(_LINES), max_size=7), max_size=4))
def test_arbitrary_event_properties_never_raise(events):
    # Given events made of any mix of valid, odd and broken properties
    data = calendar(*("\n".join(lines) or "SUMMARY:empty" for lines in events))
    # When read, Then each event is a meeting or quarantined, and nothing raises
    items, _, _ = read_calendar(data, "fuzz.ics", max_instances=50)
    assert all(isinstance(i, (Interaction, Quarantined)) for i in items)
