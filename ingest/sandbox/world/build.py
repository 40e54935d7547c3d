"""Assembles a `World`: plan the cast, fix the truth from the plan, then sample the mail
and the meetings. Everything draws from one `random.Random(seed)` and one numpy
generator seeded alike, in a fixed order, so a seed always gives the same world.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

import numpy as np

from .records import DEFAULT_AS_OF, UTC, WORK_DOMAIN, World, WorldPerson, exchange_dn
from .calendar import Planner, group_events
from .cast import NameBook, noise_truth, plan_ties, spread, true_tie
from .mail import Mailer, Thread, relationship_thread
from .noise import noise_mail, noise_people

USER_TZ = "Europe/Madrid"
LABELS = {"Label_3": "Family", "Label_7": "Travel", "Label_12": "Work/Clients", "Label_15": "Receipts"}


def user_aliases(user_email: str, user_name: str) -> tuple[str, ...]:
    """A +tag variant, an old Gmail the user still sends from, its dotted form, the DN."""
    local, domain = user_email.split("@")
    parts = [p.lower() for p in user_name.split()] or ["me"]
    return (
        f"{local}+news@{domain}",
        f"{''.join(parts)}@gmail.com",
        f"{'.'.join(parts)}@gmail.com",
        exchange_dn(parts[0][0] + parts[-1]),
    )


def build(
    *,
    seed: int,
    user_email: str,
    user_name: str,
    work_email: str,
    as_of: datetime,
    days: int,
    contacts: int,
    scale: float,
) -> World:
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    start = as_of - timedelta(days=days)
    names = NameBook(rng)
    aliases = user_aliases(user_email, user_name)
    ties = plan_ties(rng, names, days, contacts, scale, {aliases[-1]})
    crowd = []
    for _ in range(300):
        name, first, last = names.take()
        crowd.append(WorldPerson(name, (f"{first}.{last}@{WORK_DOMAIN}",), "colleague"))
    noise = noise_people(names, cold=max(2, round(6 * contacts / 60)))
    mailer = Mailer(
        rng,
        user_name=user_name,
        user_email=user_email,
        work_email=work_email,
        aliases=aliases,
        start=start,
        as_of=as_of,
        user_tz=USER_TZ,
    )
    planner = Planner(mailer, days)

    # Plan: recurring 1:1s are part of the truth, so they are fixed before it.
    for index, tie in enumerate(ties):
        if tie.archetype in ("strong_steady", "cooling", "dormant") and (tie.account == "microsoft" or index % 2 == 0):
            active = np.nonzero(tie.threads)[0]
            end = int(active[-1]) + 1 if len(active) else 0
            if tie.archetype == "strong_steady":
                end = days + 60
            elif tie.archetype == "cooling":
                end = tie.change
            tie.series = planner.one_on_one_series(tie, end)
    truth = {t.person.address: true_tie(t, start, as_of, days) for t in ties}

    # Sample: conversations, meetings, then everything that is not a relationship.
    pools = {
        acc: [
            t
            for t in ties
            if t.account == acc and t.archetype in ("strong_steady", "medium_steady", "weak_occasional", "new_rising")
        ]
        for acc in ("google", "microsoft")
    }
    for tie in ties:
        for day in spread(tie.threads, nrng):
            relationship_thread(mailer, tie, int(day), pools[tie.account])
    for tie in ties:
        for event in tie.series:
            planner.add(event)
        if tie.series and tie.account == "microsoft":  # the user set the 1:1 up; they accept
            first = tie.series[0]
            planner.response(
                first,
                (tie.person.name, tie.person.address),
                "Accepted",
                first.start.astimezone(UTC) - timedelta(days=3),
            )
        planner.meetings(tie, nrng)
    group_events(planner, ties, crowd, days)
    noise_mail(mailer, noise, days, scale, nrng)
    _all_hands_mail(mailer, noise, ties, crowd, days, nrng, scale)
    _self_and_drafts(mailer, ties, aliases, days)
    _calendar_reminders(mailer, planner)

    for person in crowd + noise:
        truth[person.address] = noise_truth(person, start, as_of)
    people = tuple([t.person for t in ties] + crowd + noise)
    messages = tuple(sorted(mailer.messages, key=lambda m: (m.date, m.gmail_id)))
    events = tuple(sorted(planner.events, key=lambda e: (e.start, e.id)))
    return World(
        seed=seed,
        user_email=user_email,
        user_name=user_name,
        work_email=work_email,
        user_aliases=aliases,
        timezone=USER_TZ,
        start=start,
        as_of=as_of,
        people=people,
        messages=messages,
        events=events,
        truth=truth,
        label_names=dict(LABELS),
    )


def _all_hands_mail(mailer: Mailer, noise, ties, crowd, days: int, nrng, scale: float) -> None:
    """Company-wide mail to ~300 people, and the odd reply-all from a colleague."""
    rng = mailer.rng
    sender = next(p for p in noise if p.address.startswith("announcements@"))
    colleagues = [t for t in ties if t.account == "microsoft"]
    for day in np.nonzero(nrng.poisson(np.full(days, 2.0 * scale / 30.44)))[0]:
        at = mailer.clock(int(day), mailer.user_tz, True)
        if at >= mailer.as_of:
            continue
        active = [(t.person.name, t.person.address) for t in colleagues if t.threads[day] > 0]
        to = tuple((c.name, c.address) for c in crowd) + tuple(active) + ((mailer.user_name, mailer.work_email),)
        thread = Thread(rng.choice(["Company update", "Office closure", "New benefits", "Welcome our new hires"]))
        mailer.emit(thread, "microsoft", (sender.name, sender.address), to, at, folder="inbox")
        if active and rng.random() < 0.1:
            who = rng.choice(active)
            later = at + timedelta(minutes=rng.randint(5, 300))
            if later < mailer.as_of:  # a reply-all after the world's end is not in it
                mailer.emit(thread, "microsoft", who, to, later, folder="inbox")


def _self_and_drafts(mailer: Mailer, ties, aliases, days: int) -> None:
    """Notes to self (no tie) and drafts that were never sent (no interaction)."""
    rng = mailer.rng
    me = (mailer.user_name, mailer.user_email)
    for _ in range(6):
        at = mailer.clock(rng.randrange(days), mailer.user_tz, False)
        if at < mailer.as_of:
            mailer.emit(Thread("Note to self"), "google", me, ((me[0], aliases[1]),), at, labels=("SENT", "INBOX"))
    contacts = [t for t in ties if t.account == "google"]
    colleagues = [t for t in ties if t.account == "microsoft"]
    for pool, account, n in ((contacts, "google", 8), (colleagues, "microsoft", 3)):
        for _ in range(n if pool else 0):
            t = rng.choice(pool)
            at = mailer.clock(rng.randrange(days), mailer.user_tz, False)
            if at >= mailer.as_of:
                continue
            own = me if account == "google" else (me[0], mailer.work_email)
            mailer.emit(
                Thread("Draft: thoughts"),
                account,
                own,
                ((t.person.name, t.person.address),),
                at,
                labels=("DRAFT",) if account == "google" else (),
                folder="drafts" if account == "microsoft" else None,
                draft=True,
            )


def _calendar_reminders(mailer: Mailer, planner: Planner) -> None:
    rng = mailer.rng
    for event in list(planner.events):
        if event.account != "google" or event.recurrence or event.all_day or rng.random() > 0.15:
            continue
        at = event.start.astimezone(UTC) - timedelta(minutes=10)
        if mailer.start <= at < mailer.as_of:
            labels, _ = mailer.received_labels("google", at, "CATEGORY_UPDATES", unread=0.5)
            mailer.emit(
                Thread(f"Notification: {event.summary}"),
                "google",
                ("Google Calendar", "calendar-notification@google.com"),
                ((mailer.user_name, mailer.user_email),),
                at,
                labels=labels,
                headers=(("Auto-Submitted", "auto-generated"),),
            )


__all__ = ["build", "user_aliases"]


def generate_world(
    seed: int = 7,
    *,
    user_email: str = "you@kith.example",
    user_name: str = "Sam Rivera",
    work_email: str = "sam.rivera@northwind.example",
    as_of: datetime | None = None,
    days: int = 730,
    contacts: int = 60,
    scale: float = 1.0,
) -> World:
    """Build the world (deterministic for a seed). See the module docstring for truth."""
    as_of = (as_of or DEFAULT_AS_OF).astimezone(UTC)
    if days < 30 or contacts < 1 or scale <= 0:
        raise ValueError("days >= 30, contacts >= 1 and scale > 0 are required")
    return build(
        seed=seed,
        user_email=user_email.lower(),
        user_name=user_name,
        work_email=work_email.lower(),
        as_of=as_of,
        days=days,
        contacts=contacts,
        scale=scale,
    )
