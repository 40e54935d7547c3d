"""A user's history whose past calls can be checked (analytics/evidence.py), as Exchanges
and written into the schema as a provider would have (from/to/cc roles, sent flags)."""

from __future__ import annotations

from datetime import datetime, timezone

from analytics import Exchange
from ingest.records import Interaction, Participant
from service import store
from service.people import refresh_people
from tests.support.analytics import DAY, T_END, regular

CALLS = T_END - 90 * DAY  # Kith's calls, 90 days before AS_OF


def history(seed: int = 0) -> list[Exchange]:
    """20 ties: 7 strong and still in touch (1-6 and 15), 3 strong that stop before the
    calls, 5 cooling (slowed down, then silent for months before the calls: Kith's cooling)
    of which 3 stay quiet and 2 come back monthly, 5 weak. Ten strong in all, so that
    Kith's strong calls are a claim of their own (evidence.TOP)."""
    ex: list[Exchange] = []
    for c in (*range(1, 7), 15):
        ex += regular(c, every_days=3, start_days_ago=500, seed=seed)
    for c in range(7, 10):
        ex += regular(c, every_days=3, start_days_ago=500, stop_days_ago=95, seed=seed)
    for c in range(10, 15):
        ex += regular(c, every_days=4, start_days_ago=600, stop_days_ago=200, seed=seed)
        ex += regular(c, every_days=35, start_days_ago=199, stop_days_ago=165, seed=seed)
        if c >= 13:
            ex += regular(c, every_days=30, start_days_ago=80, seed=seed)
    for c in range(16, 21):
        ex += regular(c, every_days=60, start_days_ago=500, seed=seed)
    return ex


def address(person: int, domain: str) -> str:
    return f"p{person}@{domain}"


def write_history(db, email: str, exchanges: list[Exchange], domain: str = "example.org") -> int:
    """A user with these exchanges (person k is p{k}@domain), people refreshed."""
    items = []
    for n, x in enumerate(exchanges):

        def who(p: int) -> str:
            return email if p == 0 else address(p, domain)

        parts = [Participant(who(x.sender), "from" if x.kind == "email" else "organizer")]
        for p in x.recipients:
            role = "attendee" if x.kind == "meeting" else ("cc" if p in x.cc else "to")
            parts.append(Participant(who(p), role, response="accepted" if x.kind == "meeting" else None))
        items.append(
            Interaction(
                provider_id=f"i{n}",
                kind=x.kind,
                occurred_at=datetime.fromtimestamp(x.at, timezone.utc),
                participants=tuple(parts),
                message_id=x.key,
                in_reply_to=x.reply_to,
                duration_s=int(x.duration_s) if x.kind == "meeting" else None,
                is_sent=(x.sender == 0) if x.kind == "email" else None,
            )
        )
    with db.tx() as conn:
        user_id = store.create_user(conn, email)
        account = store.ensure_account(conn, user_id, "mbox", f"{email}.mbox")
        store.write_interactions(conn, user_id, account, "mail", items)
        refresh_people(conn, user_id)
    return user_id
