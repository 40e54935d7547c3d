"""Noise classifiers: every exclusion has a reason; below the caps nothing is dropped."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from hypothesis import given, strategies as st

from ingest import noise
from ingest.records import Interaction, Participant

ME = "me@example.org"
AT = datetime(2026, 5, 4, 10, tzinfo=timezone.utc)


def email(frm="ana@example.org", to=(ME,), headers=(), labels=(), draft=False):
    parts = (Participant(frm, "from"),) + tuple(Participant(a, "to") for a in to)
    return Interaction("x", "email", AT, parts, headers=tuple(headers), labels=tuple(labels), is_draft=draft)


def meeting(organizer=ME, attendees=(("ana@example.org", "accepted"),), status="confirmed"):
    parts = (Participant(organizer, "organizer", response="organizer"),)
    parts += tuple(Participant(a, "attendee", response=r) for a, r in attendees)
    return Interaction("m", "meeting", AT, parts, status=status, duration_s=1800)


@pytest.mark.parametrize(
    "headers,labels,reason",
    [
        ([("list-unsubscribe", "<https://x/u>")], [], noise.LIST_UNSUBSCRIBE),
        ([("list-id", "<dev.lists.example>")], [], noise.LIST_ID),
        ([("precedence", "Bulk")], [], "bulk mail (Precedence: bulk)"),
        ([("precedence", "junk")], [], "bulk mail (Precedence: junk)"),
        ([("auto-submitted", "auto-replied")], [], "automatic message (Auto-Submitted: auto-replied)"),
        ([("content-class", "urn:content-classes:calendarmessage")], [], noise.CALENDAR_NOTIFICATION),
        ([], ["INBOX", "CATEGORY_PROMOTIONS"], "Gmail category Promotions"),
        ([], ["Category Social"], "Gmail category Social"),
        ([], ["Category Updates", "Inbox"], "Gmail category Updates"),
        ([], ["CATEGORY_FORUMS"], "Gmail category Forums"),
        ([], ["SPAM"], noise.SPAM),
        ([], ["junkemail"], noise.SPAM),
    ],
)
def test_header_and_label_noise_has_a_reason(headers, labels, reason):
    """Given a mail with a list/bulk/auto header or a noisy Gmail category, Then it is left out, with why."""
    assert noise.interaction_reason(email(headers=headers, labels=labels), [ME]) == reason


def test_human_mail_passes():
    """Given a plain personal mail (Auto-Submitted: no, CATEGORY_PERSONAL), Then it is kept."""
    assert (
        noise.interaction_reason(email(headers=[("auto-submitted", "no")], labels=["CATEGORY_PERSONAL"]), [ME]) is None
    )


@pytest.mark.parametrize(
    "address",
    [
        "noreply@shop.example",
        "no-reply@x.example",
        "do-not-reply@bank.example",
        "donotreply@x.example",
        "notifications@github.com",
        "MAILER-DAEMON@mx.example",
        "bounce-123@mail.example",
        "messages-noreply@linkedin.com",
        "x@bounces.example.com",
        "calendar-notification@google.com",
        "room-1@resource.calendar.google.com",
        "reply+ABC@reply.github.com",
    ],
)
def test_robot_addresses(address):
    assert noise.address_reason(address) is not None


@pytest.mark.parametrize(
    "address", ["ana@example.org", "noreen@example.org", "info.desk.ana@x.example", "b.ana@gmail.com"]
)
def test_people_are_not_robots(address):
    assert noise.address_reason(address) is None


def test_mail_from_a_robot_is_left_out():
    assert noise.interaction_reason(email(frm="noreply@shop.example"), [ME]) == noise.NO_REPLY


@given(st.integers(0, 120))
def test_recipient_cap_only_above_the_cap(n):
    """Given a mail to n recipients, Then it is dropped only when n exceeds the cap (50)."""
    to = [ME] + [f"p{i}@example.org" for i in range(n - 1)] if n else []
    reason = noise.interaction_reason(email(to=to), [ME])
    assert (reason == "message to more than 50 recipients") == (n > 50)


@given(st.integers(0, 40))
def test_attendee_cap_only_above_the_cap(n):
    """Given a meeting of the user and n others, Then it is dropped only above 25 attendees,
    and an event with no one else is a single-attendee event."""
    reason = noise.interaction_reason(meeting(attendees=[(f"p{i}@x.example", "accepted") for i in range(n)]), [ME])
    if n == 0:
        assert reason == noise.SINGLE_ATTENDEE
    else:
        assert (reason == "meeting with more than 25 attendees") == (n + 1 > 25)


def test_cancelled_declined_and_declined_by_others():
    """Given a cancelled meeting, one the user declined, and one only a guest declined,
    Then the first two are left out and the third is a single-attendee event."""
    assert noise.interaction_reason(meeting(status="cancelled"), [ME]) == noise.CANCELLED
    declined = meeting(organizer="ana@example.org", attendees=[(ME, "declined")])
    assert noise.interaction_reason(declined, [ME]) == noise.DECLINED
    assert noise.interaction_reason(meeting(attendees=[("ana@example.org", "declined")]), [ME]) == noise.SINGLE_ATTENDEE
    assert noise.interaction_reason(meeting(organizer="ana@example.org", attendees=[(ME, "accepted")]), [ME]) is None


def test_drafts_are_not_exchanges():
    assert noise.interaction_reason(email(frm=ME, to=["ana@example.org"], draft=True), [ME]) == noise.DRAFT


def test_one_way():
    """Given who wrote to the user and whom the user answered, Then only the unanswered are one-way."""
    assert noise.one_way({1: 3, 2: 1, 3: 0}, answered={2}) == {1}


def test_rules_most_specific_wins():
    """Given a blocked domain and an allowed address in it, and a sub-domain rule,
    Then the address rule wins over the domain rule, the longer domain over its parent."""
    rules = noise.Rules(
        [
            ("domain", "example.com", "block"),
            ("address", "Ana@Example.com", "allow"),
            ("domain", "eu.example.com", "allow"),
        ]
    )
    assert rules.verdict("ana@example.com")[0] == "allow"
    assert rules.verdict("bob@example.com") == ("block", "blocked by your rule on domain example.com")
    assert rules.verdict("bob@eu.example.com")[0] == "allow"
    assert rules.verdict("bob@example.org") is None
    assert not noise.Rules()
