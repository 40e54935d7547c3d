"""Stored interactions for tests of people and exchanges: a mail and a meeting, made the way
a connector hands them to the store (tests/db/test_people_db.py,
tests/bench/bench_load_exchanges.py)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ingest.records import Interaction, Participant

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def mail(pid, frm, to=(), cc=(), *, at=0, sent=None, mid=None, irt=None, headers=(), labels=(), names=None):
    names = names or {}
    parts = [Participant(frm, "from", names.get(frm))]
    parts += [Participant(a, "to", names.get(a)) for a in to]
    parts += [Participant(a, "cc", names.get(a)) for a in cc]
    return Interaction(
        provider_id=pid,
        kind="email",
        occurred_at=T0 + timedelta(hours=at),
        participants=tuple(parts),
        message_id=mid or f"{pid}@mail",
        in_reply_to=irt,
        is_sent=sent,
        headers=tuple(headers),
        labels=tuple(labels),
    )


def meeting(pid, organizer, attendees, *, at=0, status="confirmed", minutes=30):
    parts = [Participant(organizer, "organizer", None, "organizer")]
    parts += [Participant(a, "attendee", None, r) for a, r in attendees]
    return Interaction(
        provider_id=pid,
        kind="meeting",
        occurred_at=T0 + timedelta(hours=at),
        participants=tuple(parts),
        status=status,
        duration_s=minutes * 60,
    )
