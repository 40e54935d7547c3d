"""The cast of a synthetic world and the intensity plan behind every relationship.

A `Tie` is the generating plan for one relationship: expected threads and one-to-one
meetings per day, who starts threads, how likely each side answers, how fast. The truth
(`TrueTie`) is computed from the plan alone, never from the sampled mail, so sampling
noise is exactly what a model has to see through.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

import numpy as np

from .records import (
    WINDOW_DAYS,
    WORK_DOMAIN,
    TrueTie,
    WorldEvent,
    WorldPerson,
    exchange_dn,
    month_starts,
    strength_from_rate,
)

MONTH = 30.44  # days
FIRST = [
    "Ana",
    "Bo",
    "Carmen",
    "Dev",
    "Elif",
    "Farid",
    "Greta",
    "Hugo",
    "Ines",
    "Jonas",
    "Kenji",
    "Lena",
    "Marco",
    "Nadia",
    "Omar",
    "Priya",
    "Quinn",
    "Rosa",
    "Stefan",
    "Tara",
    "Umar",
    "Vera",
    "Wes",
    "Ximena",
    "Yusuf",
    "Zoë",
    "Aiko",
    "Bruno",
    "Chloe",
    "Diego",
    "Emma",
    "Felix",
    "Gala",
    "Hana",
    "Ivan",
    "Julia",
    "Kofi",
    "Lucia",
    "Mateo",
    "Nora",
    "Oscar",
    "Paula",
    "Rafael",
    "Sofia",
    "Tomás",
    "Ulla",
    "Victor",
    "Wanda",
    "Yara",
    "José",
    "Mina",
    "Noah",
    "Olga",
    "Pablo",
    "Rhea",
    "Sven",
    "Teo",
    "Uma",
    "Vik",
    "Willa",
]
LAST = [
    "Ruiz",
    "Chen",
    "Okafor",
    "Patel",
    "Novak",
    "Haddad",
    "Lindqvist",
    "Moreau",
    "Silva",
    "Berg",
    "Tanaka",
    "Fischer",
    "Rossi",
    "Karimi",
    "Nguyen",
    "Iyer",
    "Walsh",
    "Ortega",
    "Kowalski",
    "Mensah",
    "Sato",
    "Dubois",
    "Costa",
    "Novák",
    "Schmidt",
    "Horvat",
    "Ahmed",
    "Jensen",
    "Romero",
    "Park",
    "Levi",
    "Castro",
    "Yilmaz",
    "Bauer",
    "Lopez",
    "Núñez",
    "Meyer",
    "Ivanova",
    "Garcia",
    "Kim",
    "Murphy",
    "Hughes",
    "Santos",
    "Weber",
    "Marin",
    "Ito",
    "Russo",
    "Stone",
    "Vidal",
    "Brandt",
]
CONTACT_DOMAINS = [
    "acme.example",
    "contoso.example",
    "globex.example",
    "initech.example",
    "umbrella.example",
    "fastmail.example",
    "proton.example",
    "mail.example",
]
ZONES = ["Europe/Madrid"] * 6 + ["Europe/London", "America/New_York", "Asia/Tokyo"]
# Archetype counts for 60 relationships; weak_occasional takes what is left.
# How the other side (or the user) answers a one-sided invitation. Only a declined one
# is off the calendar: an accepted, tentative or unanswered 1:1 is a meeting both people
# hold, and Kith's pipeline (ingest/noise.py, service/people/) counts it as one.
INVITE_ANSWERS = ("declined", "declined", "needsAction", "needsAction", "tentative")
INVITES_HELD = sum(a != "declined" for a in INVITE_ANSWERS) / len(INVITE_ANSWERS)
BASE_COUNTS = [
    ("strong_steady", 6),
    ("cooling", 5),
    ("dormant", 4),
    ("one_sided_you", 4),
    ("one_sided_them", 4),
    ("new_rising", 2),
    ("medium_steady", 12),
]


@dataclass
class Tie:
    person: WorldPerson
    archetype: str
    account: str  # the mailbox most of the traffic goes to
    threads: np.ndarray  # expected threads per day
    meets: np.ndarray  # expected accepted one-to-one meetings per day
    invites: np.ndarray  # expected one-sided invitations per day (declined, tentative or unanswered)
    user_init: float  # share of threads the user starts
    user_reply: float  # probability the user answers their message
    them_reply: float
    cont: float  # probability a conversation goes on after each answer
    latency_h: float  # median reply latency, hours
    series: list[WorldEvent] = field(default_factory=list)  # recurring 1:1 masters
    dual: bool = False  # sometimes writes to both of the user's mailboxes
    personal: str | None = None  # a colleague's private address, used on Google
    labels: tuple[str, ...] = ()  # Gmail user labels the user's filters put on their mail
    change: int | None = None  # day a cooling tie drops; answers get slower from then on

    @property
    def nudge(self) -> float:
        """Probability the opener writes again ("just bumping this up") when unanswered."""
        return 0.3 if self.archetype.startswith("one_sided") else 0.04

    @property
    def answered(self) -> float:
        """Probability a thread becomes two-way: the first message is answered, or it is
        not, the opener nudges, and the nudge is answered (at the follow-up rate, as
        `mail.relationship_thread` samples it)."""

        def side(p: float) -> float:
            return p + (1 - p) * self.nudge * p * self.cont

        return self.user_init * side(self.them_reply) + (1 - self.user_init) * side(self.user_reply)


def _ascii(text: str) -> str:
    table = str.maketrans("áéíóúñëöüščžåø", "aeiouneousczao")
    return text.lower().translate(table)


class NameBook:
    """Unique display names and addresses, drawn deterministically."""

    def __init__(self, rng: random.Random):
        self._pairs = [(f, l) for f in FIRST for l in LAST]
        rng.shuffle(self._pairs)
        self._next = 0
        self._taken: set[str] = set()

    def take(self) -> tuple[str, str, str]:
        """(display name, ascii first, ascii last); after every pair has been used once,
        namesakes follow with a number in their address (big benchmark worlds)."""
        while True:
            first, last = self._pairs[self._next % len(self._pairs)]
            rounds = self._next // len(self._pairs)
            self._next += 1
            local_last = _ascii(last) + (str(rounds + 1) if rounds else "")
            key = _ascii(first) + "." + local_last
            if key not in self._taken:
                self._taken.add(key)
                return f"{first} {last}", _ascii(first), local_last


def archetype_counts(contacts: int, days: int) -> list[tuple[str, int]]:
    factor = contacts / 60.0
    left, out = contacts, []
    for archetype, base in BASE_COUNTS:
        if archetype == "dormant" and days < 480:
            continue  # a 400-day silence after a peak does not fit in the span
        n = min(left, max(1, round(base * factor)))
        out.append((archetype, n))
        left -= n
    out.append(("weak_occasional", left))
    return out


def _flat(days: int, per_month: float) -> np.ndarray:
    return np.full(days, per_month / MONTH)


def plan_ties(
    rng: random.Random, names: NameBook, days: int, contacts: int, scale: float, taken_dns: set[str]
) -> list[Tie]:
    """The relationship cast, with ~1/3 of each archetype at work, and split identities."""
    ties: list[Tie] = []
    u = rng.uniform
    for archetype, count in archetype_counts(contacts, days):
        for i in range(count):
            colleague = i % 3 == 1
            name, first, last = names.take()
            if colleague:
                alias = f"{first[0]}{last}"[:12]
                n = 1
                while exchange_dn(alias) in taken_dns:  # Exchange aliases are unique
                    n += 1
                    alias = f"{first[0]}{last}"[:11] + str(n)
                taken_dns.add(exchange_dn(alias))
                person = WorldPerson(
                    name,
                    (f"{first}.{last}@{WORK_DOMAIN}", exchange_dn(alias)),
                    "colleague",
                    rng.choice(["Europe/Madrid"] * 4 + ["America/New_York"]),
                )
            else:
                domain = rng.choice(CONTACT_DOMAINS + ["gmail.com"])
                person = WorldPerson(name, (f"{first}.{last}@{domain}",), "contact", rng.choice(ZONES))
            change = days
            threads = np.zeros(days)
            meets = np.zeros(days)
            invites = np.zeros(days)
            ui, ur, tr, cont, lat = 0.5, 0.9, 0.9, 0.45, 3.0
            if archetype == "strong_steady":
                threads = _flat(days, u(3, 4))
                meets = _flat(days, u(0.5, 1.2))
            elif archetype == "medium_steady":
                threads, meets = _flat(days, u(0.8, 1.3)), _flat(days, 0.3)
                ur, tr, cont, lat = 0.8, 0.8, 0.35, 10.0
            elif archetype == "weak_occasional":
                threads, meets = _flat(days, u(0.25, 0.6)), _flat(days, 0.06)
                ur, tr, cont, lat = 0.65, 0.65, 0.25, 30.0
            elif archetype == "cooling":
                change = int(days * 2 / 3) + rng.randint(-20, 20)
                drop = u(0.10, 0.25)
                threads = _flat(days, u(3, 4.2))
                meets = _flat(days, 1.0)
                threads[change:] *= drop
                meets[change:] *= drop
                ur, tr, cont, lat = 0.85, 0.85, 0.4, 5.0
            elif archetype == "dormant":
                end = min(int(days * u(0.22, 0.32)), days - 400 - rng.randint(0, 30))
                threads[:end] = u(4.5, 6) / MONTH
                meets[:end] = 1.2 / MONTH
            elif archetype == "one_sided_you":
                threads = _flat(days, u(1.5, 2.5))
                invites = _flat(days, 0.15)
                ui, ur, tr, cont, lat = 0.95, 0.9, 0.08, 0.2, 60.0
            elif archetype == "one_sided_them":
                threads = _flat(days, u(2.0, 3.0))
                invites = _flat(days, 0.3)
                ui, ur, tr, cont, lat = 0.05, 0.06, 0.9, 0.2, 60.0
            elif archetype == "new_rising":
                begin = max(0, days - rng.randint(100, 150))
                ramp = np.linspace(0.1, 1.0, days - begin)
                threads[begin:] = ramp * u(5, 7) / MONTH
                meets[begin:] = ramp * 1.5 / MONTH
            ties.append(
                Tie(
                    person,
                    archetype,
                    "microsoft" if colleague else "google",
                    threads * scale,
                    meets,
                    invites,
                    ui,
                    ur,
                    tr,
                    cont,
                    lat,
                    change=change if archetype == "cooling" else None,
                )
            )
    _split_identities(rng, ties)
    return ties


def _split_identities(rng: random.Random, ties: list[Tie]) -> None:
    """One person behind several addresses: gmail dots, googlemail, personal + work."""

    def pick(archetype: str, kind: str, nth: int) -> Tie | None:
        found = [t for t in ties if t.archetype == archetype and t.person.kind == kind]
        return found[nth] if len(found) > nth else None

    def local(t: Tie) -> tuple[str, str]:
        first, last = t.person.address.split("@")[0].split(".", 1)
        return first, last

    def renamed(t: Tie, addresses: tuple[str, ...]) -> None:
        t.person = WorldPerson(t.person.name, addresses, t.person.kind, t.person.timezone)

    if t := pick("strong_steady", "contact", 0):
        f, l = local(t)
        renamed(t, (f"{f}.{l}@gmail.com", f"{f}{l}@gmail.com"))
    if t := pick("strong_steady", "contact", 1):
        f, l = local(t)
        renamed(t, (f"{f}.{l}@gmail.com", f"{f}.{l}@googlemail.com"))
    if t := pick("medium_steady", "contact", 0):
        f, l = local(t)
        renamed(t, (f"{f}{l[0]}@fastmail.example", f"{f}.{l}@acme.example"))
    if t := pick("cooling", "contact", 0):
        f, l = local(t)
        renamed(t, (f"{f}.{l}@gmail.com", f"{f[0]}.{l}@globex.example", f"{f}{l}@googlemail.com"))
    if t := pick("strong_steady", "colleague", 0):
        f, l = local(t)
        t.personal = f"{f}.{l}.{rng.randint(10, 99)}@gmail.com"
        renamed(t, t.person.addresses + (t.personal,))
    if t := pick("strong_steady", "contact", 2):
        t.dual = True
    for t in [t for t in ties if t.person.kind == "contact" and t.archetype == "strong_steady"][:2]:
        t.labels = ("Label_3",)  # family


def spread(rate: np.ndarray, nrng: np.random.Generator) -> np.ndarray:
    """Days on which events happen, for a daily intensity. The k-th event falls where the
    cumulative intensity reaches k + U_k (U_k uniform), so every window holds its expected
    count give or take two: random-looking timing, but no Poisson-sized surprise that
    would make a tie contradict its own truth."""
    cum = np.cumsum(rate)
    total = float(cum[-1]) if len(cum) else 0.0
    n = int(np.ceil(total))
    targets = np.arange(n) + nrng.random(n)
    targets = targets[targets < total]
    return np.minimum(np.searchsorted(cum, targets, side="right"), len(cum) - 1)


def expected_daily(tie: Tie, start, days: int) -> np.ndarray:
    """Expected two-way interactions per day: answered threads, 1:1 meetings, the
    one-sided invitations nobody declined (a meeting on both calendars), series."""
    daily = tie.threads * tie.answered + tie.meets + tie.invites * INVITES_HELD
    for event in tie.series:
        if event.status == "cancelled":
            continue
        for occurrence in event.instances():
            day = (occurrence.start - start).days
            if 0 <= day < days:
                daily[day] += 1.0
    return daily


def true_tie(tie: Tie, start, as_of, days: int) -> TrueTie:
    """Truth from the plan. Flags: dormant = nothing expected in the last 365 days after a
    peak strength >= 50; cooling = last-90-day rate < 40% of the rate over the 365 days
    before them, that baseline being >= 1.5/month; one-sided flags follow the archetype
    (the user, or the other side, writes >= 80% of the messages)."""
    daily = expected_daily(tie, start, days)
    cum = np.concatenate([[0.0], np.cumsum(daily)])

    def rate(end: int, span: int = WINDOW_DAYS) -> float:
        end = min(max(end, 0), days)
        return float(cum[end] - cum[max(0, end - span)]) * MONTH / span

    monthly = tuple((m, strength_from_rate(rate((m - start).days))) for m in month_starts(start, as_of))
    recent = rate(days)
    flags = set()
    peak = max((s for _, s in monthly), default=0)
    if days >= 365 and cum[days] - cum[days - 365] == 0 and peak >= 50:
        flags.add("dormant")
    else:
        baseline_end = days - WINDOW_DAYS
        baseline = rate(baseline_end, 365) if baseline_end >= 180 else 0.0
        if baseline >= 1.5 and recent < 0.4 * baseline:
            flags.add("cooling")
    if tie.archetype in ("one_sided_you", "one_sided_them"):
        flags.add(tie.archetype)
    p = tie.person
    return TrueTie(
        p.address,
        p.name,
        tie.archetype,
        True,
        strength_from_rate(recent),
        monthly,
        frozenset(flags),
        p.addresses,
        recent,
        p.kind,
        tie.user_init,
    )


def noise_truth(person: WorldPerson, start, as_of) -> TrueTie:
    monthly = tuple((m, 0) for m in month_starts(start, as_of))
    return TrueTie(
        person.address, person.name, "noise", False, 0, monthly, frozenset(), person.addresses, 0.0, person.kind
    )
