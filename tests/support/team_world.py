"""Five teammates' synthetic worlds over one shared set of contacts, each tie with a known
true strength (ingest/sandbox/world).

Each teammate gets a world of their own seed (their own mailboxes, their own cast of
archetypes); then the k-th outside contact of every world, by address order, is renamed
to the same shared person `c<k>@<client domain>`, and the k-th colleague to the same
`colleague<k>@northwind.example` (the five work at one company, Northwind). So every shared person is known by all five
teammates, each with the truth of their own world: strong to one, cooling to another,
dormant to a third. Renaming touches addresses only (mail, meetings, truth); nothing else
of a world changes, so each world's truth stays exact.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ingest.sandbox.world import WORK_DOMAIN, World, generate_world, write_ics, write_mbox
from service import store
from service.imports import import_file

DOMAINS = ("acme.example", "globex.example", "initech.example", "umbrella.example", "hooli.example")


@dataclass
class Teammate:
    index: int
    world: World
    truth: dict[str, int]  # shared address -> true strength at the world's as_of


def _renamer(world: World, shared: int) -> dict[str, str]:
    """Old address -> shared address: the k-th colleague (by address) becomes the shared
    colleague `k` at the team's own company, the k-th outside contact the shared client
    contact `k` (the team works at one company, so its colleagues overlap too)."""
    mapping: dict[str, str] = {}
    for kind in ("contact", "colleague"):
        people = sorted(
            (t for t in world.truth.values() if t.is_relationship and t.kind == kind), key=lambda t: t.address
        )
        for k, tie in enumerate(people[: shared // 2]):
            domain = WORK_DOMAIN if kind == "colleague" else DOMAINS[k % len(DOMAINS)]
            local = f"colleague{k}" if kind == "colleague" else f"c{k}"
            emails = [a for a in tie.addresses if "@" in a]
            for i, address in enumerate(emails):
                mapping[address.lower()] = f"{local}@{domain}" if i == 0 else f"{local}.alt{i}@{domain}"
    return mapping


def _renamed(world: World, mapping: dict[str, str]) -> World:
    def addr(pair):
        return (pair[0], mapping.get(pair[1].lower(), pair[1]))

    messages = tuple(
        replace(
            m, sender=addr(m.sender), to=tuple(map(addr, m.to)), cc=tuple(map(addr, m.cc)), bcc=tuple(map(addr, m.bcc))
        )
        for m in world.messages
    )
    events = tuple(
        replace(
            e,
            organizer=addr(e.organizer),
            attendees=tuple((n, mapping.get(a.lower(), a), r) for n, a, r in e.attendees),
        )
        for e in world.events
    )
    people = tuple(replace(p, addresses=tuple(mapping.get(a.lower(), a) for a in p.addresses)) for p in world.people)
    truth = {
        mapping.get(key.lower(), key): replace(
            t,
            address=mapping.get(t.address.lower(), t.address),
            addresses=tuple(mapping.get(a.lower(), a) for a in t.addresses),
        )
        for key, t in world.truth.items()
    }
    return replace(world, messages=messages, events=events, people=people, truth=truth)


def teammates(n: int = 5, shared: int = 24, *, days: int = 400, contacts: int = 36, base: int = 1000) -> list[Teammate]:
    """The team of tests/db/test_team_world.py (seeds 1000-1004); another `base` gives
    another team (seeds base .. base + n - 1), the kind its parameters are chosen on."""
    out = []
    for i in range(n):
        world = generate_world(
            base + i,
            user_email=f"mate{i}@team.example",
            user_name=f"Mate{i} Lastname{i}",
            work_email=f"mate{i}@northwind.example",
            days=days,
            contacts=contacts,
        )
        mapping = _renamer(world, shared)
        world = _renamed(world, mapping)
        truth = {new: world.truth[new].true_strength for old, new in mapping.items() if new in world.truth}
        out.append(Teammate(i, world, truth))
    return out


def import_world(database, world: World, tmp_path) -> int:
    """The world's two mailboxes and calendars imported for a new user; their id."""
    with database.tx() as conn:
        user_id = store.create_user(conn, world.user_email, world.user_name)
    for account in ("google", "microsoft"):
        mbox, ics = tmp_path / f"{world.seed}-{account}.mbox", tmp_path / f"{world.seed}-{account}.ics"
        write_mbox(world, mbox, account)
        write_ics(world, ics, account)
        import_file(database, user_id, "mbox", mbox, addresses=list(world.own_addresses))
        import_file(database, user_id, "ics", ics)
    return user_id
