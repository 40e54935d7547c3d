"""The dashboard's sentences (service/dashboard/words.py): plain, specific, never a raw key."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, strategies as st

from service.dashboard import words

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)


def test_relative_times_read_as_a_person_says_them():
    ago = {
        timedelta(minutes=5): "just now",
        timedelta(hours=3): "3 hours ago",
        timedelta(days=1, hours=2): "yesterday",
        timedelta(days=5): "5 days ago",
        timedelta(days=20): "2 weeks ago",
        timedelta(days=200): "6 months ago",
        timedelta(days=3 * 365 + 10): "3 years ago",
    }
    for delta, text in ago.items():
        assert words.relative(NOW - delta, NOW) == text
    assert words.relative(None, NOW) == "never"
    assert words.relative("2026-12-01T12:00:00Z", NOW) == "5 days ago"


@given(st.integers(-100, 100))
def test_balance_is_always_a_phrase_without_numbers(r):
    text = words.balance(r, "Ana")
    assert text and not any(ch.isdigit() for ch in text)
    assert ("you give" in text) == (r >= 15)
    assert ("Ana gives" in text) == (r <= -15)


def test_flags_and_addresses_in_words():
    assert words.flags(["one_sided_them", "dormant"]) == ["one-sided: they do the reaching out", "gone quiet"]
    dn = "/o=ExchangeLabs/ou=Exchange Administrative Group/cn=Recipients/cn=ben.ortiz"
    assert words.address({"contact": dn, "addresses": [dn, "ben@west.example"]}) == "ben@west.example"
    assert words.address({"contact": dn, "addresses": [dn]}) == "ben.ortiz"
    assert words.name({"name": dn, "contact": dn, "addresses": [dn, "ben@west.example"]}) == "ben@west.example"


def test_the_ledger_in_sentences():
    tie = {
        "name": "Ana Ruiz",
        "ledger": {
            "initiated_by_you": 5,
            "initiated_by_them": 9,
            "replies_by_you": 1,
            "replies_by_them": 4,
            "meetings_you_organised": 2,
            "meetings_they_organised": 1,
            "median_reply_hours_you": 26.0,
            "median_reply_hours_them": 1.5,
            "window_days": 180,
        },
    }
    assert words.ledger(tie) == [
        "You started 5 of the last 14 conversations (in 180 days); Ana started 9.",
        "Ana usually replies within 2 hours, you within a day.",
        "You answered 1 message of theirs; Ana answered 4 messages of yours.",
        "You set up 2 of the 3 meetings you had together; Ana set up 1.",
    ]
    assert words.ledger({"ledger": {"median_reply_hours_you": None, "window_days": 180}}) == [
        "No conversations or meetings with them in the last 180 days."
    ]


def test_account_health_in_words():
    demo = {
        "provider": "google",
        "status": "disabled",
        "last_error": "demo account: its emulator has stopped",
        "last_synced_at": NOW - timedelta(hours=2),
    }
    assert words.account_health(demo, NOW) == (
        "Disconnected (the demo's emulator has stopped); last synced 2 hours ago. Its mail stays in Kith.",
        "quiet",
    )
    revoked = {"provider": "microsoft", "status": "auth_revoked", "last_error": "invalid_grant"}
    assert words.account_health(revoked, NOW)[1] == "bad"
    live = {"provider": "google", "status": "incremental", "last_synced_at": NOW - timedelta(days=1, hours=1)}
    assert words.account_health(live, NOW) == ("Up to date: last synced yesterday.", "ok")
    imported = {"provider": "mbox", "status": "incremental", "last_synced_at": NOW - timedelta(days=3)}
    assert words.account_health(imported, NOW) == ("Imported from a file 3 days ago.", "ok")


def test_an_even_balance_without_any_mail_is_called_silence():
    quiet = {"messages_to_them": 0.0, "messages_from_them": 0.0}
    assert words.balance(0, "Julia", quiet) == "no recent mail either way to weigh"
    assert words.balance(0, "Julia", {"messages_to_them": 2.0, "messages_from_them": 3.0}) == "even: you both reach out"
    assert words.balance(-60, "Julia", quiet) == "Julia gives clearly more"
