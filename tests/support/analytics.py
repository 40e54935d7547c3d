"""Small, deterministic histories for the analytics tests (no I/O)."""

from __future__ import annotations

import random
from datetime import datetime, timezone

from analytics import Exchange

DAY = 86400.0
AS_OF = datetime(2026, 6, 1, tzinfo=timezone.utc)
T_END = AS_OF.timestamp()


def conversation(
    contact: int,
    at: float,
    *,
    you_start: bool = True,
    answered: bool = True,
    answer_after: float = 3 * 3600,
    audience: tuple[int, ...] = (),
) -> list[Exchange]:
    """One message (plus its answer) between the user and `contact`."""
    others = tuple(sorted(set(audience) - {contact}))
    if you_start:
        first = Exchange(at, "email", 0, (contact,) + others, key=f"m{contact}-{at}")
        reply = Exchange(at + answer_after, "email", contact, (0,) + others, reply_to=first.key, key=f"r{contact}-{at}")
    else:
        first = Exchange(at, "email", contact, (0,) + others, key=f"m{contact}-{at}")
        reply = Exchange(at + answer_after, "email", 0, (contact,) + others, reply_to=first.key, key=f"r{contact}-{at}")
    return [first, reply] if answered else [first]


def meeting(
    contact: int, at: float, *, organiser: int = 0, hours: float = 0.5, others: tuple[int, ...] = ()
) -> Exchange:
    people = tuple(p for p in (0, contact) + others if p != organiser)
    return Exchange(at, "meeting", organiser, people, duration_s=hours * 3600)


def regular(
    contact: int,
    *,
    every_days: float,
    start_days_ago: float,
    stop_days_ago: float = 0,
    you_share: float = 0.5,
    answered: float = 1.0,
    seed: int = 0,
) -> list[Exchange]:
    """A conversation about every `every_days` days between the two moments."""
    rng = random.Random(seed * 1009 + contact)
    out = []
    day = start_days_ago
    while day > stop_days_ago:
        at = T_END - day * DAY + rng.uniform(8, 18) * 3600
        out += conversation(contact, at, you_start=rng.random() < you_share, answered=rng.random() < answered)
        day -= every_days * rng.uniform(0.7, 1.3)
    return out


def small_world(seed: int = 0) -> list[Exchange]:
    """A user with ties of known shape: steady, cooling, dormant, one-sided both ways."""
    ex: list[Exchange] = []
    ex += regular(1, every_days=3, start_days_ago=700, seed=seed)  # strong and steady
    ex += regular(2, every_days=14, start_days_ago=700, seed=seed)  # medium
    ex += regular(3, every_days=4, start_days_ago=700, stop_days_ago=120, seed=seed)  # cooling: slowed down,
    ex += regular(3, every_days=40, start_days_ago=119, stop_days_ago=75, seed=seed)  # then went quiet
    ex += regular(4, every_days=3, start_days_ago=900, stop_days_ago=450, seed=seed)  # dormant
    ex += regular(5, every_days=5, start_days_ago=500, you_share=1.0, answered=0.3, seed=seed)
    ex += regular(6, every_days=5, start_days_ago=500, you_share=0.0, answered=0.3, seed=seed)
    ex += regular(7, every_days=90, start_days_ago=400, seed=seed)  # weak
    for week in range(80):
        ex.append(meeting(1, T_END - (week * 7 + 2) * DAY, organiser=0 if week % 2 else 1))
    return ex
