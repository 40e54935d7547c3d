"""The noise of a real mailbox: newsletters, no-reply senders, robots, bulk mail, strangers.

Each sender comes with the headers that give it away in real life (List-Unsubscribe,
List-Id, Precedence, Auto-Submitted, X-Mailer) -- and a few that hide it, so a filter
cannot lean on one header alone.
"""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import numpy as np

from .records import WORK_DOMAIN, WorldPerson
from .cast import MONTH, NameBook
from .mail import Mailer, Thread

# (name, address, kind, account, per-month rate, category, headers, weekdays only, subject)
SENDERS = [
    (
        "The Morning Brief",
        "newsletter@morningbrief.example",
        "newsletter",
        "google",
        6.0,
        "CATEGORY_PROMOTIONS",
        "list",
        True,
        "Your Morning Brief",
    ),
    (
        "Design Weekly",
        "hello@designweekly.example",
        "newsletter",
        "google",
        4.3,
        "CATEGORY_PROMOTIONS",
        "list",
        False,
        "Design Weekly #{n}",
    ),
    (
        "Rust Digest",
        "digest@rust-digest.example",
        "newsletter",
        "google",
        4.3,
        "CATEGORY_UPDATES",
        "list",
        False,
        "This week in Rust #{n}",
    ),
    (
        "City Museum",
        "news@citymuseum.example",
        "newsletter",
        "google",
        1.0,
        "CATEGORY_PROMOTIONS",
        "list",
        False,
        "Exhibitions this month",
    ),
    (
        "Hiking Club",
        "hiking-club@googlegroups.com",
        "newsletter",
        "google",
        3.0,
        "CATEGORY_FORUMS",
        "group",
        False,
        "Trip on Sunday",
    ),
    (
        "Industry Insider",
        "insider@industry.example",
        "newsletter",
        "microsoft",
        4.3,
        "",
        "list",
        True,
        "Industry Insider weekly",
    ),
    (
        "Acme Bank",
        "no-reply@acmebank.example",
        "noreply",
        "google",
        1.0,
        "CATEGORY_UPDATES",
        "plain",
        False,
        "Your statement is ready",
    ),
    (
        "ShopRight",
        "noreply@shopright.example",
        "noreply",
        "google",
        1.5,
        "CATEGORY_UPDATES",
        "plain",
        False,
        "Your order #{n} has shipped",
    ),
    (
        "TravelNow",
        "do-not-reply@travelnow.example",
        "noreply",
        "google",
        0.4,
        "CATEGORY_UPDATES",
        "plain",
        False,
        "Booking confirmation {n}",
    ),
    (
        "Google",
        "no-reply@accounts.google.com",
        "noreply",
        "google",
        0.3,
        "CATEGORY_UPDATES",
        "plain",
        False,
        "Security alert",
    ),
    (
        "GitHub",
        "notifications@github.example",
        "notifier",
        "google",
        4.0,
        "CATEGORY_UPDATES",
        "robot",
        False,
        "[kith/kith] Issue #{n}",
    ),
    (
        "FriendNet",
        "notify@friendnet.example",
        "notifier",
        "google",
        3.0,
        "CATEGORY_SOCIAL",
        "robot",
        False,
        "You have new connections",
    ),
    ("Jira", f"jira@{WORK_DOMAIN}", "notifier", "microsoft", 7.0, "", "robot", True, "[JIRA] (NW-{n}) updated"),
    (
        "ShopRight Deals",
        "deals@shopright.example",
        "bulk_sender",
        "google",
        4.0,
        "CATEGORY_PROMOTIONS",
        "bulk",
        False,
        "48 hours only: {n}% off",
    ),
    (
        "Conference Hub",
        "events@conferencehub.example",
        "bulk_sender",
        "microsoft",
        2.0,
        "",
        "bulk",
        False,
        "Last chance to register",
    ),
]
USER_LABELS = {"noreply@shopright.example": ("Label_15",), "do-not-reply@travelnow.example": ("Label_7",)}
COLD = [
    "Quick question about your stack",
    "Partnership opportunity",
    "Exciting role at a startup",
    "15 minutes next week?",
    "Following up",
    "Your feedback on our tool",
]


def headers_for(style: str, address: str, name: str, n: int) -> tuple[tuple[str, str], ...]:
    domain = address.split("@")[1]
    if style == "list":
        return (
            ("List-Unsubscribe", f"<mailto:unsubscribe@{domain}?subject=unsub-{n}>, <https://{domain}/u/{n}>"),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ("List-Id", f"{name} <news.{domain}>"),
            ("Precedence", "bulk"),
            ("X-Mailer", "MailBlaster 4.2"),
        )
    if style == "group":
        local = address.split("@")[0]
        return (
            ("List-Id", f"<{local}.googlegroups.com>"),
            ("Precedence", "list"),
            ("List-Post", f"<mailto:{address}>"),
            ("List-Unsubscribe", f"<mailto:{local}+unsubscribe@googlegroups.com>"),
        )
    if style == "robot":
        return (("Auto-Submitted", "auto-generated"), ("X-Auto-Response-Suppress", "All"), ("X-Mailer", "notifier/3.1"))
    if style == "bulk":  # no List-* headers: bulk mail that hides
        return (("Precedence", "bulk"), ("X-Mailer", "Campaigner 9"))
    return (("X-Mailer", "transactional-mailer 2.0"),)


def noise_people(names: NameBook, cold: int) -> list[WorldPerson]:
    people = [WorldPerson(s[0], (s[1],), s[2]) for s in SENDERS]
    people.append(WorldPerson("Google Calendar", ("calendar-notification@google.com",), "notifier"))
    people.append(WorldPerson("Northwind Announcements", (f"announcements@{WORK_DOMAIN}",), "bulk_sender"))
    for i in range(cold):
        name, first, last = names.take()
        domain = ["growthly.example", "talentscout.example", "saasify.example"][i % 3]
        people.append(WorldPerson(name, (f"{first}.{last}@{domain}",), "cold_sender"))
    return people


def noise_mail(mailer: Mailer, people: list[WorldPerson], days: int, scale: float, nrng: np.random.Generator) -> None:
    rng = mailer.rng
    by_address = {p.address: p for p in people}
    for index, spec in enumerate(SENDERS):
        name, address, _kind, account, rate, category, style, weekdays, subject = spec
        counts = nrng.poisson(rate * scale / MONTH, days)
        for day in np.nonzero(counts)[0]:
            for _ in range(int(counts[day])):
                at = mailer.clock(int(day), mailer.user_tz, weekdays)
                if at >= mailer.as_of:
                    continue
                n = rng.randint(10, 9999)
                sender = (name, address)
                if style == "group":  # posts arrive "via" the group
                    sender = (f"'{rng.choice(['Lea', 'Tom', 'Ravi', 'Mo'])}' via {name}", address)
                own = (
                    mailer.work_email
                    if account == "microsoft"
                    else (mailer.plus_alias if style == "list" and index % 2 else mailer.user_email)
                )
                labels, folder = mailer.received_labels(
                    account, at, category or "CATEGORY_UPDATES", extra=USER_LABELS.get(address, ()), unread=0.6
                )
                thread = Thread(subject.format(n=n))
                mailer.emit(
                    thread,
                    account,
                    sender,
                    ((mailer.user_name, own),),
                    at,
                    labels=labels,
                    folder=folder,
                    headers=headers_for(style, address, name, n),
                )
    _group_posts(mailer, by_address["hiking-club@googlegroups.com"], days)
    for person in people:
        if person.kind == "cold_sender":
            _cold(mailer, person, days)


def _group_posts(mailer: Mailer, group: WorldPerson, days: int) -> None:
    """The user posts to a mailing list now and then: sent mail that is not a tie."""
    rng = mailer.rng
    for _ in range(3):
        at = mailer.clock(rng.randrange(days), mailer.user_tz, False)
        if at < mailer.as_of:
            mailer.emit(
                Thread("Anyone up for the ridge walk?"),
                "google",
                (mailer.user_name, mailer.user_email),
                ((group.name, group.address),),
                at,
                labels=("SENT",),
            )


def _cold(mailer: Mailer, person: WorldPerson, days: int) -> None:
    """A stranger writes, nudges once or twice, and is never answered."""
    rng = mailer.rng
    account = "microsoft" if rng.random() < 0.4 else "google"
    own = mailer.work_email if account == "microsoft" else mailer.user_email
    thread = Thread(rng.choice(COLD))
    at = mailer.clock(rng.randrange(days), ZoneInfo(person.timezone), True)
    for _ in range(rng.randint(1, 3)):
        if at >= mailer.as_of:
            return
        labels, folder = mailer.received_labels(account, at, unread=0.5)
        mailer.emit(
            thread, account, (person.name, person.address), ((mailer.user_name, own),), at, labels=labels, folder=folder
        )
        at += timedelta(days=rng.uniform(3, 12))
