"""Gmail and Calendar JSON parsers: what is kept, and bad input that must not crash."""

from __future__ import annotations

from datetime import datetime, timezone

from hypothesis import given, settings, strategies as st

from ingest.attendees import MAX_ATTENDEES
from ingest.google import parse_event, parse_message
from ingest.records import Interaction, Quarantined, Removed

UTC = timezone.utc


def gmail(headers, labels=("INBOX",), internal="1700000000000", id_="18c0ffee00000001"):
    return {
        "id": id_,
        "threadId": "18c0ffee00000000",
        "labelIds": list(labels),
        "internalDate": internal,
        "historyId": "42",
        "payload": {"mimeType": "text/plain", "headers": [{"name": k, "value": v} for k, v in headers]},
    }


def test_message_metadata_becomes_an_interaction():
    """Given a sent reply with every header Kith asks for, the record keeps them (no body)."""
    item = parse_message(
        gmail(
            [
                ("From", "Sam Rivera <You@Kith.Example>"),
                ("To", "Ana Ruiz <ana@example.org>, bo@example.org"),
                ("Cc", "=?utf-8?q?Zo=C3=AB?= <zoe@example.org>"),
                ("Bcc", "hidden@example.org"),
                ("Date", "Tue, 14 Nov 2023 22:13:20 +0100"),
                ("Message-ID", "<m2@kith.example>"),
                ("In-Reply-To", "<m1@example.org>"),
                ("References", "<m0@example.org> <m1@example.org>"),
                ("List-Id", "<team.example.org>"),
                ("Precedence", "bulk"),
            ],
            labels=("SENT", "CATEGORY_PERSONAL"),
        )
    )
    assert isinstance(item, Interaction)
    assert item.occurred_at == datetime(2023, 11, 14, 21, 13, 20, tzinfo=UTC)
    assert [(p.role, p.address) for p in item.participants] == [
        ("from", "you@kith.example"),
        ("to", "ana@example.org"),
        ("to", "bo@example.org"),
        ("cc", "zoe@example.org"),
        ("bcc", "hidden@example.org"),
    ]
    assert item.participants[3].name == "Zoë"
    assert item.message_id == "m2@kith.example" and item.in_reply_to == "m1@example.org"
    assert item.references == ("m0@example.org", "m1@example.org")
    assert item.is_sent and item.labels == ("SENT", "CATEGORY_PERSONAL")
    assert item.header("list-id") == "<team.example.org>" and item.header("precedence") == "bulk"
    assert item.thread_id == "18c0ffee00000000"


def test_message_without_date_uses_internal_date_and_unknown_labels_are_kept():
    """Given no Date header, Gmail's internalDate dates the message; odd label ids stay."""
    item = parse_message(gmail([("From", "a@example.org")], labels=("Label_999", "WHATEVER")))
    assert item.occurred_at == datetime.fromtimestamp(1700000000, tz=UTC)
    assert item.labels == ("Label_999", "WHATEVER")


def test_message_without_any_date_is_quarantined_with_headers_only():
    item = parse_message(gmail([("From", "a@example.org"), ("Subject", "secret plans")], internal=None))
    assert isinstance(item, Quarantined) and item.ref == "18c0ffee00000001"
    assert "From: a@example.org" in item.excerpt and "secret" not in item.excerpt


def test_garbage_addresses_are_dropped_one_by_one_and_a_thousand_recipients_are_counted():
    # Given an unreadable From, a thousand recipients and an empty group
    to = ", ".join(f"p{i}@example.org" for i in range(1000))
    item = parse_message(
        gmail(
            [
                ("From", "<<<>>> @@ not an address"),
                ("To", to),
                ("Cc", "undisclosed-recipients:;"),
                ("Date", "yesterday-ish"),
            ]
        )
    )
    # Then the record counts the thousand (a broadcast) and stores none of the strangers
    assert isinstance(item, Interaction)
    assert item.audience == 1000
    assert item.participants == ()


@settings(max_examples=150, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["From", "To", "Cc", "Bcc", "Date", "Message-ID", "References", "In-Reply-To", "X-Other"]),
            st.text(max_size=200),
        ),
        max_size=12,
    ),
    st.one_of(st.none(), st.text(max_size=20), st.integers().map(str)),
    st.lists(st.text(max_size=30), max_size=5),
)
def test_any_header_soup_gives_a_record_or_a_quarantine(headers, internal, labels):
    """Whatever the headers, the parser answers with an Interaction or a Quarantined, never raises."""
    item = parse_message(gmail(headers, labels=labels, internal=internal))
    assert isinstance(item, (Interaction, Quarantined))
    if isinstance(item, Interaction):
        assert item.occurred_at.tzinfo is not None
        assert all("@" in p.address and p.address == p.address.lower() for p in item.participants)


def event(**fields):
    base = {
        "id": "ev1",
        "status": "confirmed",
        "iCalUID": "ev1@google.com",
        "start": {"dateTime": "2026-03-29T10:00:00+02:00", "timeZone": "Europe/Madrid"},
        "end": {"dateTime": "2026-03-29T11:30:00+02:00", "timeZone": "Europe/Madrid"},
        "organizer": {"email": "ana@example.org", "displayName": "Ana"},
        "attendees": [
            {"email": "ana@example.org", "organizer": True, "responseStatus": "accepted"},
            {"email": "You@Kith.example", "self": True, "responseStatus": "declined"},
            {"email": "room-1@resource.calendar.google.com", "resource": True, "responseStatus": "accepted"},
            {"email": "bo@example.org", "responseStatus": "needsAction"},
        ],
    }
    base.update(fields)
    return base


def test_event_keeps_organizer_attendees_responses_and_duration():
    item = parse_event(event(), "primary", "Europe/Madrid")
    assert isinstance(item, Interaction) and item.kind == "meeting"
    assert item.provider_id == "gcal:primary:ev1" and item.resource == "calendar:primary"
    assert item.occurred_at == datetime(2026, 3, 29, 8, 0, tzinfo=UTC) and item.duration_s == 5400
    assert [(p.role, p.address, p.response) for p in item.participants] == [
        ("organizer", "ana@example.org", "organizer"),
        ("attendee", "ana@example.org", "accepted"),
        ("attendee", "you@kith.example", "declined"),
        ("attendee", "bo@example.org", "needs_action"),
    ]


def test_all_day_event_starts_at_local_midnight_and_instances_keep_their_series():
    item = parse_event(
        event(start={"date": "2026-07-01"}, end={"date": "2026-07-02"}, recurringEventId="series1", attendees=None),
        "primary",
        "Europe/Madrid",
    )
    assert item.all_day and item.occurred_at == datetime(2026, 6, 30, 22, 0, tzinfo=UTC)
    assert item.duration_s == 86400 and item.thread_id == "series1"


def test_cancelled_event_is_removed_and_an_event_without_start_is_quarantined():
    assert parse_event({"id": "gone", "status": "cancelled"}, "primary") == Removed("gcal:primary:gone")
    assert isinstance(parse_event(event(start={}), "primary"), Quarantined)
    assert isinstance(parse_event(event(start={"dateTime": "not a time"}), "primary"), Quarantined)


def test_an_attendee_response_of_the_wrong_json_type_reads_as_none():
    # Given attendees whose responseStatus is a list and an object (unhashable as dict keys)
    attendees = [
        {"email": "ana@example.org", "responseStatus": ["accepted"]},
        {"email": "bo@example.org", "responseStatus": {"x": 1}},
        {"email": "cy@example.org", "responseStatus": "accepted"},
    ]
    # When the event is parsed
    item = parse_event(event(attendees=attendees), "primary")
    # Then it is still a meeting and those responses are unknown, the good one kept
    assert isinstance(item, Interaction)
    assert [(p.address, p.response) for p in item.participants if p.role == "attendee"] == [
        ("ana@example.org", "none"),
        ("bo@example.org", "none"),
        ("cy@example.org", "accepted"),
    ]


def test_event_with_a_thousand_attendees():
    attendees = [{"email": f"p{i}@example.org", "responseStatus": "tentative"} for i in range(1000)]
    item = parse_event(event(attendees=attendees), "work@group.calendar.google.com")
    # The organizer and the first MAX_ATTENDEES attendees are kept; the true size is counted
    assert len(item.participants) == MAX_ATTENDEES + 1 and item.audience == 1001
    assert item.resource == "calendar:work@group.calendar.google.com"
