"""Refreshing people: give every participant address of the user a person, and recompute
merge suggestions. The one writer of automatic identity decisions.

Refreshing is an explicit step, run by whoever writes interactions or scores: the end of
an account sync (`service.sync`) or a file import (`service.imports`), and `score_user`
before it scores. Reading the analytics input (`exchanges.py`) never refreshes, so a read
never writes. Decisions are made by the pure `ingest.identity`; this module reads facts,
feeds them in and stores the results. Hand edits (`persons.py`) win over automatic ones.
"""

from __future__ import annotations

import logging
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence


from ingest import identity
from ingest.records import SyncReport

from ..db import analyze, analyze_if_stale, rows as _rows
from .book import is_own
from .own import add_own_addresses, own_addresses, sent_from
from .persons import drop_orphans
from .suggestions import recompute_suggestions

log = logging.getLogger(__name__)

_OWN = "\x00own@own"  # stands for every own address when legacy DNs are resolved
ANALYZE_AFTER = 1000  # person_addresses is analysed after a refresh that wrote this many


def _participant_facts(conn, user_id: int):
    """(address, name, account, count) for every participant row of the user."""
    return _rows(
        conn,
        """
        SELECT p.address, p.name, i.account_id, count(*)
        FROM participants p JOIN interactions i ON i.id = p.interaction_id
        WHERE p.user_id = %s GROUP BY 1, 2, 3""",
        (user_id,),
    )


def refresh_people(conn, user_id: int) -> dict:
    """Give every participant address of the user a person; recompute merge suggestions.

    Exact matches (canonical spelling, resolved legacy DNs) share a person, across accounts
    and providers. Hand-placed addresses stay where the user put them. Person ids are kept
    when a group is unchanged, so scores and feedback keep pointing at the same person.
    """
    conn.execute("SELECT pg_advisory_xact_lock(%s, 5)", (user_id,))
    analyze_if_stale(conn)  # the queries below join every mail of the user to its participants
    sent = sent_from(conn, user_id)
    if sent:
        add_own_addresses(conn, user_id, sent, "sent")
    own = own_addresses(conn, user_id)
    facts = _participant_facts(conn, user_id)
    # Each address once (a mailbox's facts name it once per spelling of its name and account).
    canon_of = {a: identity.canonical(a) for a in {f[0] for f in facts}}
    tagged = {a for a, c in canon_of.items() if c not in own and is_own(c, own)}
    if tagged:  # you+news@...: recorded, so that every own address is listed as the user's
        add_own_addresses(conn, user_id, tagged, "subaddress")
        own |= {identity.canonical(a) for a in tagged}

    # Legacy DNs that resolve to one of the user's own addresses are the user too; all own
    # addresses count as one candidate, so the user's name on five aliases is no ambiguity.
    sightings = []
    for a, n, acct, _ in facts:
        canon = canon_of[a]
        sightings.append((_OWN if is_own(canon, own) else canon, n, acct))
    resolved = identity.resolve_legacy(sightings)
    own_dns = {dn for dn, smtp in resolved.items() if smtp == _OWN}
    dn_raw = defaultdict(set)
    for a, canon in canon_of.items():
        if identity.is_legacy_dn(canon):
            dn_raw[canon].add(a)
    if own_dns:
        add_own_addresses(conn, user_id, {raw for dn in own_dns for raw in dn_raw[dn]}, "legacy_dn")
        own |= own_dns

    names: dict[str, Counter] = defaultdict(Counter)
    for address, name, _acct, n in facts:
        if not is_own(canon_of[address], own):
            names[address][identity.clean_name(name)] += n
    addresses = sorted(names)
    links = [(raw, smtp) for dn, smtp in resolved.items() if dn not in own for raw in dn_raw[dn]]
    root_of = identity.group_addresses(addresses, links)

    existing = {
        a: (pid, src)
        for a, pid, src in _rows(
            conn, "SELECT address, person_id, source FROM person_addresses WHERE user_id = %s", (user_id,)
        )
    }
    manual = {
        a: pid for a, (pid, src) in existing.items() if src == "manual" and not is_own(identity.canonical(a), own)
    }

    groups: dict[str, list[str]] = defaultdict(list)
    for a in addresses:
        groups[root_of[a]].append(a)
    assign: dict[str, int | None] = dict(manual)
    pending: list[list[str]] = []
    for members in groups.values():
        autos = [a for a in members if a not in manual]
        if not autos:
            continue
        pinned = sorted({manual[a] for a in members if a in manual})
        if pinned:
            # Join the hand-made person of the same canonical address, else of the group.
            by_canon = {identity.canonical(a): manual[a] for a in members if a in manual}
            for a in autos:
                assign[a] = by_canon.get(identity.canonical(a), pinned[0])
            continue
        held = Counter(existing[a][0] for a in autos if a in existing)
        if held:
            pid = sorted(held.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
            for a in autos:
                assign[a] = pid
        else:
            pending.append(autos)

    if pending:
        ids = [
            r[0]
            for r in _rows(
                conn,
                "SELECT nextval(pg_get_serial_sequence('people', 'id')) FROM generate_series(1, %s)",
                (len(pending),),
            )
        ]
        conn.execute("INSERT INTO people (id, user_id) SELECT unnest(%s::bigint[]), %s", (ids, user_id))
        for pid, members in zip(ids, pending):
            for a in members:
                assign[a] = pid

    changed = [
        (user_id, a, pid, "manual" if a in manual else "auto")
        for a, pid in assign.items()
        if existing.get(a, (None, None))[0] != pid
    ]
    gone = [
        a
        for a, (_pid, src) in existing.items()
        if a not in assign and (src == "auto" or is_own(identity.canonical(a), own))
    ]
    with conn.cursor() as cur:
        if gone:
            cur.execute("DELETE FROM person_addresses WHERE user_id = %s AND address = ANY(%s)", (user_id, gone))
        if changed:  # one statement, however many (an address appears once in `changed`)
            cur.execute(
                "INSERT INTO person_addresses (user_id, address, person_id, source) "
                "SELECT %s, * FROM unnest(%s::text[], %s::bigint[], %s::text[]) "
                "ON CONFLICT (user_id, address) DO UPDATE SET person_id = EXCLUDED.person_id",
                (user_id, [c[1] for c in changed], [c[2] for c in changed], [c[3] for c in changed]),
            )
    if len(changed) >= ANALYZE_AFTER:
        # The suggestions' queries join person_addresses: on many new rows the planner's
        # old statistics would have it join a mailbox in nested loops.
        analyze(conn, "person_addresses")
    orphans = drop_orphans(conn, user_id)
    _update_names(conn, user_id, names)
    suggestions = recompute_suggestions(conn, user_id, own, facts)
    return {
        "addresses": len(assign),
        "people": len(set(assign.values())),
        "new_people": len(pending),
        "reassigned": len(changed),
        "removed_people": orphans,
        "own_addresses": len(own),
        "legacy_resolved": len(links),
        "suggestions": suggestions,
    }


def _best_name(names: Counter) -> str | None:
    """A full name beats a first name however often the first name is seen ("Ana" in the
    user's own To lines, "Ana Ruíz" in her From); then the commonest; then a stable order."""
    if not names:
        return None
    return max(names.items(), key=lambda kv: (len(kv[0].split()) >= 2, kv[1], kv[0]))[0]


def _update_names(conn, user_id: int, names: dict[str, Counter]) -> None:
    by_person: dict[int, Counter] = defaultdict(Counter)
    for a, pid in _rows(conn, "SELECT address, person_id FROM person_addresses WHERE user_id = %s", (user_id,)):
        by_person[pid].update({n: c for n, c in names.get(a, {}).items() if n})
    pids = sorted(by_person)
    # One statement for every person (a mailbox has tens of thousands).
    conn.execute(
        "UPDATE people p SET display_name = n.name FROM unnest(%s::bigint[], %s::text[]) AS n(id, name) "
        "WHERE p.id = n.id AND p.user_id = %s AND p.display_name IS DISTINCT FROM n.name",
        (pids, [_best_name(by_person[pid]) for pid in pids], user_id),
    )


def refresh_after(db, user_id: int, run: Callable[[], Sequence[SyncReport]]) -> Sequence[SyncReport]:
    """Run a sync or an import of the user's interactions, then refresh their people when it
    wrote or removed any, so that readers find a person for every address.

    A run that fails may have committed pages before it: people are refreshed for those
    too, and the run's own error is the one raised (a failed refresh is only logged: the
    next run or scoring refreshes again).
    """
    try:
        reports = run()
    except Exception:
        try:
            with db.tx() as conn:
                refresh_people(conn, user_id)
        except Exception as exc:
            log.warning("people of user %s not refreshed after a failed run: %s", user_id, type(exc).__name__)
        raise
    if any(r.written or r.removed for r in reports):
        with db.tx() as conn:
            refresh_people(conn, user_id)
    return reports
