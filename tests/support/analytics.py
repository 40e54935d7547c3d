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


def random_history(seed: int, n: int = 300, people: int = 25, span_days: float = 400) -> list[Exchange]:
    """Varied, messy histories for checking a fast implementation against a plain one:
    mail from the user, to the user, between others with the user on it (To or Cc), groups
    on both sides of the 20-person cut, meetings organised by anyone, replies to known and
    unknown keys, exchanges at the same instant, repeated and self-addressed recipients."""
    rng = random.Random(seed)
    out: list[Exchange] = []
    keys: list[str] = []
    stamps: list[float] = []
    for i in range(n):
        if stamps and rng.random() < 0.1:
            at = rng.choice(stamps)  # the same instant as an earlier exchange
        else:
            at = T_END - rng.uniform(0, span_days) * DAY
        stamps.append(at)
        size = rng.choice([1, 1, 1, 2, 3, 4, rng.randint(5, 24)])
        crowd = [rng.randint(1, people) for _ in range(size)]
        roll = rng.random()
        if roll < 0.12:
            organiser = rng.choice([0, 0, *crowd])
            attendees = tuple(p for p in [0, *crowd] if p != organiser or rng.random() < 0.1)
            out.append(Exchange(at, "meeting", organiser, attendees, duration_s=rng.choice([0.0, 1800.0, 3600.0])))
            continue
        if roll < 0.5:
            sender, recipients = 0, list(crowd)
        elif roll < 0.9:
            sender, recipients = crowd[0], [0, *crowd[1:]]
        else:
            sender, recipients = rng.randint(1, people), [0, *crowd]
        rng.shuffle(recipients)
        cc = tuple(p for p in set(recipients) if rng.random() < 0.2)
        key = f"k{i}" if rng.random() < 0.9 else None
        reply_to = rng.choice(keys) if keys and rng.random() < 0.5 else ("nowhere" if rng.random() < 0.1 else None)
        thread = f"t{rng.randint(0, n // 4)}" if rng.random() < 0.8 else None
        audience = rng.choice([0, 0, 0, 0, rng.randint(1, 30)])
        out.append(
            Exchange(
                at,
                "email",
                sender,
                tuple(recipients),
                thread=thread,
                key=key,
                reply_to=reply_to,
                cc=cc,
                audience=audience,
            )
        )
        if key is not None:
            keys.append(key)
    rng.shuffle(out)
    return out
