"""Graph message and event JSON -> records: the bad input the issue lists, and properties."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings, strategies as st

from ingest.microsoft.calendar import parse_date_time_zone, parse_event
from ingest.microsoft.mail import is_legacy_exchange, normalise_address, parse_graph_datetime, parse_message
from ingest.records import Interaction, Quarantined, Removed

DN = "/o=ExchangeLabs/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=3f2a-ana"


def who(address=None, name=None):
    email = {}
    if address is not None:
        email["address"] = address
    if name is not None:
        email["name"] = name
    return {"emailAddress": email}


def message(**fields):
    base = {
        "id": "AAMkA1",
        "sentDateTime": "2026-03-02T09:15:00Z",
        "receivedDateTime": "2026-03-02T09:15:02Z",
        "conversationId": "AAQkC1",
        "internetMessageId": "<abc@example.org>",
        "isDraft": False,
        "parentFolderId": "AAMkF",
        "from": who("Ana@Example.org", "Ana Ruiz"),
        "toRecipients": [who("sam@northwind.example", "Sam")],
        "ccRecipients": [],
        "bccRecipients": [],
    }
    base.update(fields)
    return base


def test_a_plain_message_becomes_an_email_interaction():
    item = parse_message(message(), "mail:inbox")
    assert isinstance(item, Interaction)
    assert item.kind == "email" and item.provider_id == "AAMkA1" and item.thread_id == "AAQkC1"
    assert item.message_id == "abc@example.org"
    assert item.occurred_at == datetime(2026, 3, 2, 9, 15, tzinfo=timezone.utc)
    assert [(p.role, p.address, p.name) for p in item.participants] == [
        ("from", "ana@example.org", "Ana Ruiz"),
        ("to", "sam@northwind.example", "Sam"),
    ]
    assert item.labels == ("inbox",) and item.is_sent is False


def test_sent_items_are_marked_sent():
    assert parse_message(message(), "mail:sentitems").is_sent is True


def test_recipients_without_an_address_are_dropped_not_fatal():
    # Given a recipient Graph shows by name only (a distribution list the user cannot expand)
    item = parse_message(message(toRecipients=[who(name="All Staff"), who("bo@example.org")]), "mail:inbox")
    # Then the message keeps its other people
    assert [p.address for p in item.participants if p.role == "to"] == ["bo@example.org"]


def test_a_message_where_nobody_has_an_address_is_quarantined_with_a_reason():
    item = parse_message(message(**{"from": who(name="Someone"), "toRecipients": [who(name="x")]}), "mail:inbox")
    assert isinstance(item, Quarantined) and "address" in item.reason and item.ref == "AAMkA1"
    assert "body" not in item.excerpt.lower()


def test_exchange_legacy_dn_is_kept_raw_for_identity_resolution():
    item = parse_message(message(**{"from": who(DN, "Ana Ruiz")}), "mail:inbox")
    assert item.participants[0].address == DN


def test_a_draft_has_no_sent_time_and_is_flagged():
    item = parse_message(message(isDraft=True, sentDateTime=None), "mail:drafts")
    assert item.is_draft and item.occurred_at == datetime(2026, 3, 2, 9, 15, 2, tzinfo=timezone.utc)


def test_a_message_without_any_time_is_quarantined():
    item = parse_message(message(sentDateTime=None, receivedDateTime=None), "mail:inbox")
    assert isinstance(item, Quarantined) and "time" in item.reason


def test_hundreds_of_recipients_are_counted_once_and_the_users_lines_kept():
    # Given 400 recipients (one repeated in upper case) and the user on To and Cc
    to = [who(f"p{i}@example.org") for i in range(400)] + [who("P7@example.org")]
    item = parse_message(
        message(toRecipients=to, ccRecipients=[who("p1@example.org")]), "mail:inbox", own=["P1@example.org"]
    )
    # Then the distinct addresses are counted and only the sender and the user's lines are stored
    assert item.audience == 401  # 400 recipients and the sender
    assert sorted((p.role, p.address) for p in item.participants if p.role != "from") == [
        ("cc", "p1@example.org"),
        ("to", "p1@example.org"),
    ]


def test_removed_entries_become_removed_records():
    assert parse_message({"id": "AAMkA9", "@removed": {"reason": "deleted"}}) == Removed("AAMkA9")
    assert parse_event({"id": "AAMkE9", "@removed": {"reason": "deleted"}}) == Removed("AAMkE9")


def test_graph_seven_digit_fractions_and_offsets_parse():
    assert parse_graph_datetime("2026-03-02T09:15:00.1234567Z") == datetime(
        2026, 3, 2, 9, 15, 0, 123456, tzinfo=timezone.utc
    )
    assert parse_graph_datetime("2026-03-02T10:15:00+01:00") == datetime(2026, 3, 2, 9, 15, tzinfo=timezone.utc)
    assert parse_graph_datetime("yesterday") is None


def event(**fields):
    base = {
        "id": "AAMkE1",
        "iCalUId": "040000008200E0",
        "isAllDay": False,
        "isCancelled": False,
        "showAs": "busy",
        "type": "singleInstance",
        "start": {"dateTime": "2026-03-02T10:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-03-02T10:45:00.0000000", "timeZone": "UTC"},
        "organizer": who("ana@example.org", "Ana"),
        "attendees": [
            {
                "type": "required",
                "emailAddress": {"address": "sam@northwind.example"},
                "status": {"response": "accepted", "time": "2026-03-01T00:00:00Z"},
            },
            {
                "type": "optional",
                "emailAddress": {"address": "bo@example.org"},
                "status": {"response": "tentativelyAccepted"},
            },
            {"type": "required", "emailAddress": {"address": "cy@example.org"}, "status": {"response": "notResponded"}},
            {
                "type": "resource",
                "emailAddress": {"address": "room-4@northwind.example"},
                "status": {"response": "accepted"},
            },
        ],
    }
    base.update(fields)
    return base


def test_an_event_becomes_a_meeting_with_organizer_attendees_and_responses():
    item = parse_event(event())
    assert item.kind == "meeting" and item.duration_s == 45 * 60 and item.status == "confirmed"
    assert [(p.role, p.address, p.response) for p in item.participants] == [
        ("organizer", "ana@example.org", "organizer"),
        ("attendee", "sam@northwind.example", "accepted"),
        ("attendee", "bo@example.org", "tentative"),
        ("attendee", "cy@example.org", "needs_action"),
    ]
    assert item.labels == ("showAs:busy",)


def test_an_event_without_organizer_is_still_a_meeting():
    item = parse_event(event(organizer=None))
    assert isinstance(item, Interaction) and item.kind == "meeting"
    assert all(p.role == "attendee" for p in item.participants)


def test_an_attendee_response_of_the_wrong_json_type_reads_as_none():
    # Given attendees whose status.response is a list and an object (unhashable as dict keys)
    attendees = [
        {
            "type": "required",
            "emailAddress": {"address": "sam@northwind.example"},
            "status": {"response": ["accepted"]},
        },
        {"type": "required", "emailAddress": {"address": "bo@example.org"}, "status": {"response": {}}},
        {"type": "required", "emailAddress": {"address": "cy@example.org"}, "status": {"response": "declined"}},
    ]
    # When the event is parsed
    item = parse_event(event(attendees=attendees))
    # Then it is still a meeting and those responses are unknown, the good one kept
    assert isinstance(item, Interaction)
    assert [(p.address, p.response) for p in item.participants if p.role == "attendee"] == [
        ("sam@northwind.example", "none"),
        ("bo@example.org", "none"),
        ("cy@example.org", "declined"),
    ]


def test_cancelled_and_tentative_events():
    assert parse_event(event(isCancelled=True)).status == "cancelled"
    assert parse_event(event(showAs="tentative")).status == "tentative"


def test_windows_and_iana_time_zones_give_the_same_instant():
    windows = parse_date_time_zone({"dateTime": "2026-07-01T10:00:00.0000000", "timeZone": "Romance Standard Time"})
    iana = parse_date_time_zone({"dateTime": "2026-07-01T10:00:00", "timeZone": "Europe/Madrid"})
    assert windows == iana == datetime(2026, 7, 1, 8, 0, tzinfo=timezone.utc)


def test_an_unknown_time_zone_is_quarantined_with_its_name():
    item = parse_event(event(start={"dateTime": "2026-03-02T10:00:00", "timeZone": "Mars Standard Time"}))
    assert isinstance(item, Quarantined) and "Mars Standard Time" in item.reason


def test_all_day_events():
    item = parse_event(
        event(
            isAllDay=True,
            start={"dateTime": "2026-03-02T00:00:00.0000000", "timeZone": "UTC"},
            end={"dateTime": "2026-03-03T00:00:00.0000000", "timeZone": "UTC"},
        )
    )
    assert item.all_day and item.duration_s == 86400


# --- properties ------------------------------------------------------------------------------------

addresses = st.one_of(st.none(), st.text(max_size=30), st.emails().map(str.upper), st.just(DN), st.just("  "))
recipients = st.lists(
    st.builds(
        lambda a, n: {"emailAddress": {"address": a, "name": n}}, addresses, st.one_of(st.none(), st.text(max_size=10))
    ),
    max_size=6,
)
json_values = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20))


@settings(max_examples=200)
@given(
    st.fixed_dictionaries(
        {"id": st.one_of(st.none(), st.text(min_size=1, max_size=8))},
        optional={
            "from": st.one_of(json_values, recipients.map(lambda r: r[0] if r else None)),
            "toRecipients": st.one_of(json_values, recipients),
            "ccRecipients": recipients,
            "bccRecipients": recipients,
            "sentDateTime": st.one_of(
                json_values,
                st.datetimes(timezones=st.just(timezone.utc)).map(lambda d: d.isoformat().replace("+00:00", "Z")),
            ),
            "receivedDateTime": json_values,
            "isDraft": json_values,
            "internetMessageId": json_values,
            "conversationId": json_values,
        },
    )
)
def test_any_message_json_gives_a_record_and_never_raises(data):
    item = parse_message(data, "mail:inbox")
    assert isinstance(item, (Interaction, Quarantined, Removed))
    if isinstance(item, Interaction):
        assert item.participants and item.occurred_at.tzinfo is not None
        keys = [(p.role, p.address) for p in item.participants]
        assert len(keys) == len(set(keys))
        assert all(p.address == p.address.strip() and p.address for p in item.participants)


@settings(max_examples=200)
@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2040, 1, 1)),
    st.integers(min_value=0, max_value=10 * 86400),
    st.sampled_from(["UTC", "Pacific Standard Time", "Europe/Madrid", "Tokyo Standard Time", "America/New_York"]),
)
def test_duration_is_end_minus_start_in_any_zone(start, seconds, zone_name):
    end = start + timedelta(seconds=seconds)
    fmt = "%Y-%m-%dT%H:%M:%S.0000000"
    item = parse_event(
        event(
            start={"dateTime": start.strftime(fmt), "timeZone": zone_name},
            end={"dateTime": end.strftime(fmt), "timeZone": zone_name},
        )
    )
    assert isinstance(item, Interaction)
    # Wall-clock differences across a DST change differ by at most an hour from real time.
    assert abs(item.duration_s - seconds) <= 3600


@given(st.text(max_size=40))
def test_normalised_addresses_are_trimmed_lowercase_smtp_or_raw_dn(raw):
    out = normalise_address(raw)
    if out is not None:
        assert out == out.strip() and (is_legacy_exchange(out) or ("@" in out and out == out.lower()))
