"""People in PostgreSQL: the user's own addresses, persons behind addresses, rules, and the
bridge from stored interactions to the model's input (`load_exchanges`).

Every function takes a psycopg 3 connection and runs inside the caller's transaction.
Decisions are made by the pure modules `ingest.identity` (who is who) and `ingest.noise`
(what is not a relationship); this module reads facts, feeds them in and stores results.

Hand edits win over automatic ones: addresses the user merged or split are stored with
source 'manual' and keep their person on every `refresh_people`; a split is also stored
as a rejected merge suggestion, so the same pair is not suggested again.
"""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import datetime
from typing import Iterable

from psycopg.rows import tuple_row

from analytics.records import USER, Exchange
from ingest import identity, noise
from ingest.audience import AUDIENCE_CAP

SUGGEST_MAX_PARTICIPANTS = 6  # co-occurrence on bigger mails says nothing about identity
SMALL_MEETING = 3  # others in a meeting small enough to count as meeting someone
_OWN = "\x00own@own"  # stands for every own address when legacy DNs are resolved


def _is_own(canon: str, own: set[str]) -> bool:
    # The user's own sub-addresses (you+news@...) are the user on any domain.
    return canon in own or identity.untagged(canon) in own


def _rows(conn, query: str, params=()) -> list[tuple]:
    with conn.cursor(row_factory=tuple_row) as cur:
        cur.execute(query, params)
        return cur.fetchall()


# ---------------------------------------------------------------- the user's own addresses

def add_own_addresses(conn, user_id: int, addresses: Iterable[str], source: str) -> None:
    """Record addresses as the user's (given, sendAs, account, sent, legacy_dn)."""
    rows = sorted({(user_id, identity.canonical(a), source) for a in addresses if a and a.strip()}
                  | {(user_id, a.strip().lower(), source) for a in addresses if a and a.strip()})
    if rows:
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO user_addresses (user_id, address, source) VALUES (%s, %s, %s) "
                            "ON CONFLICT DO NOTHING", rows)
        # Someone the user turned out to be is no longer a contact.
        own = [r[1] for r in rows]
        conn.execute("DELETE FROM person_addresses WHERE user_id = %s AND address = ANY(%s)", (user_id, own))


def own_addresses(conn, user_id: int) -> set[str]:
    """Canonical forms of every address that is the user: given, provider, account addresses."""
    rows = _rows(conn, "SELECT address FROM user_addresses WHERE user_id = %s "
                       "UNION SELECT address FROM accounts WHERE user_id = %s", (user_id, user_id))
    return {identity.canonical(r[0]) for r in rows}


def _sent_from(conn, user_id: int) -> set[str]:
    rows = _rows(conn, "SELECT DISTINCT p.address FROM participants p "
                       "JOIN interactions i ON i.id = p.interaction_id "
                       "WHERE i.user_id = %s AND i.is_sent AND NOT i.is_draft AND p.role = 'from'",
                 (user_id,))
    return {r[0] for r in rows}


# ---------------------------------------------------------------- people

def _participant_facts(conn, user_id: int):
    """(address, name, account, count) for every participant row of the user."""
    return _rows(conn, """
        SELECT p.address, p.name, i.account_id, count(*)
        FROM participants p JOIN interactions i ON i.id = p.interaction_id
        WHERE p.user_id = %s GROUP BY 1, 2, 3""", (user_id,))


def _mail_threads(conn, user_id: int):
    """Small emails only: (message_id, in_reply_to, is_sent, addresses, roles)."""
    return _rows(conn, """
        SELECT i.message_id, i.in_reply_to, coalesce(i.is_sent, false),
               array_agg(p.address), array_agg(p.role)
        FROM interactions i JOIN participants p ON p.interaction_id = i.id
        WHERE i.user_id = %s AND i.kind = 'email' AND i.n_participants <= %s
        GROUP BY i.id""", (user_id, SUGGEST_MAX_PARTICIPANTS + 1))


def refresh_people(conn, user_id: int) -> dict:
    """Give every participant address of the user a person; recompute merge suggestions.

    Exact matches (canonical spelling, resolved legacy DNs) share a person, across accounts
    and providers. Hand-placed addresses stay where the user put them. Person ids are kept
    when a group is unchanged, so scores and feedback keep pointing at the same person.
    """
    conn.execute("SELECT pg_advisory_xact_lock(%s, 5)", (user_id,))
    sent = _sent_from(conn, user_id)
    if sent:
        add_own_addresses(conn, user_id, sent, "sent")
    own = own_addresses(conn, user_id)
    facts = _participant_facts(conn, user_id)
    tagged = {a for a, *_ in facts if identity.canonical(a) not in own and _is_own(identity.canonical(a), own)}
    if tagged:  # you+news@...: recorded, so that every own address is listed as the user's
        add_own_addresses(conn, user_id, tagged, "subaddress")
        own |= {identity.canonical(a) for a in tagged}

    # Legacy DNs that resolve to one of the user's own addresses are the user too; all own
    # addresses count as one candidate, so the user's name on five aliases is no ambiguity.
    sightings = []
    for a, n, acct, _ in facts:
        canon = identity.canonical(a)
        sightings.append((_OWN if _is_own(canon, own) else canon, n, acct))
    resolved = identity.resolve_legacy(sightings)
    own_dns = {dn for dn, smtp in resolved.items() if smtp == _OWN}
    dn_raw = defaultdict(set)
    for a, *_ in facts:
        if identity.is_legacy_dn(identity.canonical(a)):
            dn_raw[identity.canonical(a)].add(a)
    if own_dns:
        add_own_addresses(conn, user_id, {raw for dn in own_dns for raw in dn_raw[dn]}, "legacy_dn")
        own |= own_dns

    names: dict[str, Counter] = defaultdict(Counter)
    for address, name, _acct, n in facts:
        if not _is_own(identity.canonical(address), own):
            names[address][identity.clean_name(name)] += n
    addresses = sorted(names)
    links = [(raw, smtp) for dn, smtp in resolved.items() if dn not in own for raw in dn_raw[dn]]
    root_of = identity.group_addresses(addresses, links)

    existing = {a: (pid, src) for a, pid, src in _rows(
        conn, "SELECT address, person_id, source FROM person_addresses WHERE user_id = %s", (user_id,))}
    manual = {a: pid for a, (pid, src) in existing.items()
              if src == "manual" and not _is_own(identity.canonical(a), own)}

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
        ids = [r[0] for r in _rows(conn, "SELECT nextval(pg_get_serial_sequence('people', 'id')) "
                                         "FROM generate_series(1, %s)", (len(pending),))]
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO people (id, user_id) VALUES (%s, %s)", [(i, user_id) for i in ids])
        for pid, members in zip(ids, pending):
            for a in members:
                assign[a] = pid

    changed = [(user_id, a, pid, "manual" if a in manual else "auto") for a, pid in assign.items()
               if existing.get(a, (None, None))[0] != pid]
    gone = [a for a, (_pid, src) in existing.items()
            if a not in assign and (src == "auto" or _is_own(identity.canonical(a), own))]
    with conn.cursor() as cur:
        if gone:
            cur.execute("DELETE FROM person_addresses WHERE user_id = %s AND address = ANY(%s)", (user_id, gone))
        if changed:
            cur.executemany(
                "INSERT INTO person_addresses (user_id, address, person_id, source) VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (user_id, address) DO UPDATE SET person_id = EXCLUDED.person_id", changed)
    orphans = _drop_orphans(conn, user_id)
    _update_names(conn, user_id, names)
    suggestions = _recompute_suggestions(conn, user_id, own, facts)
    return {"addresses": len(assign), "people": len(set(assign.values())), "new_people": len(pending),
            "reassigned": len(changed), "removed_people": orphans, "own_addresses": len(own),
            "legacy_resolved": len(links), "suggestions": suggestions}


def _drop_orphans(conn, user_id: int) -> int:
    cur = conn.execute("DELETE FROM people p WHERE p.user_id = %s AND NOT EXISTS "
                       "(SELECT 1 FROM person_addresses pa WHERE pa.person_id = p.id)", (user_id,))
    return cur.rowcount


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
    rows = [(_best_name(c), pid, user_id) for pid, c in by_person.items()]
    rows.sort(key=lambda r: r[1])
    with conn.cursor() as cur:
        cur.executemany("UPDATE people SET display_name = %s WHERE id = %s AND user_id = %s "
                        "AND display_name IS DISTINCT FROM %s",
                        [(n, pid, uid, n) for n, pid, uid in rows])


def _people_addresses(conn, user_id: int) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    for a, pid in _rows(conn, "SELECT address, person_id FROM person_addresses WHERE user_id = %s "
                              "ORDER BY address", (user_id,)):
        out[pid].append(a)
    return dict(out)


def _recompute_suggestions(conn, user_id: int, own: set[str], facts: list[tuple]) -> int:
    person_of = {a: pid for a, pid in _rows(
        conn, "SELECT address, person_id FROM person_addresses WHERE user_id = %s", (user_id,))}
    people: dict[int, identity.PersonFacts] = {}
    # The user takes part as person 0: an address with the user's name may be theirs.
    user_name = _rows(conn, "SELECT name FROM users WHERE id = %s", (user_id,))
    if user_name and user_name[0][0]:
        people[USER] = identity.PersonFacts(names=Counter({user_name[0][0]: 1}))
    for address, name, _acct, n in facts:
        pid = person_of.get(address)
        if pid is None and _is_own(identity.canonical(address), own):
            pid = USER
        if pid is None or noise.address_reason(address):
            continue
        facts = people.setdefault(pid, identity.PersonFacts())
        facts.addresses.add(address)
        if name:
            facts.names[name] += n
    together: Counter = Counter()
    replies: Counter = Counter()
    sole_recipient: dict[str, int] = {}
    threads = _mail_threads(conn, user_id)
    for message_id, _irt, is_sent, addrs, roles in threads:
        others = {person_of[a] for a in addrs if a in person_of}
        if is_sent and message_id and len(others) == 1:
            sole_recipient[message_id] = next(iter(others))
        if 2 <= len(others) <= SUGGEST_MAX_PARTICIPANTS:
            ordered = sorted(others)
            for i, a in enumerate(ordered):
                for b in ordered[i + 1:]:
                    together[(a, b)] += 1
    for _mid, in_reply_to, is_sent, addrs, roles in threads:
        if is_sent or not in_reply_to or in_reply_to not in sole_recipient:
            continue
        asked = sole_recipient[in_reply_to]
        senders = {person_of.get(a) for a, r in zip(addrs, roles) if r == "from"} - {None}
        present = {person_of.get(a) for a in addrs} - {None}
        for s in senders:
            if s != asked and asked not in present:
                replies[tuple(sorted((s, asked)))] += 1

    existing = _rows(conn, "SELECT addresses, status FROM merge_suggestions WHERE user_id = %s", (user_id,))
    decided = set()
    for addrs, status in existing:
        if status != "open" and len(addrs) == 2:
            pa, pb = (person_of.get(a, USER if _is_own(identity.canonical(a), own) else None) for a in addrs)
            if pa is not None and pb is not None:
                decided.add(tuple(sorted((pa, pb))))
    if USER in people and not people[USER].addresses:
        del people[USER]
    found = identity.suggest_merges(people, together, replies, exclude=decided)
    anchors = {pid: min(f.addresses) for pid, f in people.items()}
    rows = []
    for s in found:
        pair = sorted((anchors[s.left], anchors[s.right]))
        evidence = [{"kind": e.kind, "detail": e.detail, "weight": round(e.weight, 3)} for e in s.evidence]
        rows.append((user_id, pair, json.dumps({"score": s.score, "evidence": evidence})))
    # Keep the ids of suggestions that still hold (the API may hold them); drop the rest.
    conn.execute("DELETE FROM merge_suggestions WHERE user_id = %s AND status = 'open' "
                 "AND array_to_string(addresses, E'\\x1f') <> ALL(%s::text[])",
                 (user_id, ["\x1f".join(r[1]) for r in rows]))
    if rows:
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO merge_suggestions (user_id, addresses, evidence) VALUES (%s, %s, %s) "
                            "ON CONFLICT (user_id, addresses) DO UPDATE SET evidence = EXCLUDED.evidence "
                            "WHERE merge_suggestions.status = 'open'", rows)
    return len(rows)


def merge_suggestions(conn, user_id: int, status: str | None = "open") -> list[dict]:
    """Suggestions (open ones by default): [{"id", "addresses", "person_ids", "names",
    "score", "evidence", "status", "is_you"}]. `is_you`: one side is the user (person id
    None): accepting makes the other address one of the user's own."""
    own = own_addresses(conn, user_id)
    person_of = {a: (pid, name) for a, pid, name in _rows(
        conn, "SELECT pa.address, pa.person_id, p.display_name FROM person_addresses pa "
              "JOIN people p ON p.id = pa.person_id WHERE pa.user_id = %s", (user_id,))}
    out = []
    for sid, addrs, evidence, st in _rows(
            conn, "SELECT id, addresses, evidence, status FROM merge_suggestions "
                  "WHERE user_id = %s AND (%s::text IS NULL OR status = %s) ORDER BY id",
            (user_id, status, status)):
        body = evidence if isinstance(evidence, dict) else {"score": None, "evidence": evidence}
        people = [person_of.get(a, (None, None)) for a in addrs]
        out.append({"id": sid, "addresses": list(addrs), "person_ids": [p[0] for p in people],
                    "names": [p[1] for p in people], "score": body.get("score"),
                    "evidence": body.get("evidence", []), "status": st,
                    "is_you": any(_is_own(identity.canonical(a), own) for a in addrs)})
    out.sort(key=lambda s: (-(s["score"] or 0), s["id"]))
    return out


def resolve_suggestion(conn, user_id: int, suggestion_id: int, accept: bool) -> int | None:
    """Accept (merge, by hand) or reject a suggestion. Returns the merged person id, 0 when
    the suggestion was "this is you" (the addresses become the user's), None on reject."""
    row = _rows(conn, "SELECT addresses FROM merge_suggestions WHERE id = %s AND user_id = %s",
                (suggestion_id, user_id))
    if not row:
        raise LookupError(f"no suggestion {suggestion_id}")
    conn.execute("UPDATE merge_suggestions SET status = %s WHERE id = %s",
                 ("accepted" if accept else "rejected", suggestion_id))
    if not accept:
        return None
    pids = [r[0] for r in _rows(conn, "SELECT DISTINCT person_id FROM person_addresses "
                                      "WHERE user_id = %s AND address = ANY(%s)", (user_id, row[0][0]))]
    own = own_addresses(conn, user_id)
    if any(_is_own(identity.canonical(a), own) for a in row[0][0]):
        # "This is you": the other person's addresses become the user's own.
        mine = [r[0] for r in _rows(conn, "SELECT address FROM person_addresses WHERE user_id = %s "
                                          "AND person_id = ANY(%s)", (user_id, pids))]
        add_own_addresses(conn, user_id, mine, "confirmed")
        _drop_orphans(conn, user_id)
        return USER
    return merge_people(conn, user_id, sorted(pids)) if pids else None


def merge_people(conn, user_id: int, person_ids: list[int]) -> int:
    """Make one person of several, by hand: the first id stays; survives every refresh."""
    ids = list(dict.fromkeys(int(p) for p in person_ids))
    found = {r[0] for r in _rows(conn, "SELECT id FROM people WHERE user_id = %s AND id = ANY(%s)", (user_id, ids))}
    missing = [p for p in ids if p not in found]
    if missing or not ids:
        raise LookupError(f"no such people: {missing}")
    target, others = ids[0], ids[1:]
    conn.execute("UPDATE person_addresses SET person_id = %s, source = 'manual' "
                 "WHERE user_id = %s AND person_id = ANY(%s)", (target, user_id, ids))
    if others:
        conn.execute("UPDATE feedback SET person_id = %s WHERE user_id = %s AND person_id = ANY(%s)",
                     (target, user_id, others))
        conn.execute("DELETE FROM people WHERE user_id = %s AND id = ANY(%s)", (user_id, others))
    return target


def split_person(conn, user_id: int, person_id: int, addresses: list[str]) -> int:
    """Take `addresses` out of a person into a new one, by hand; returns the new person id."""
    held = {r[0] for r in _rows(conn, "SELECT address FROM person_addresses WHERE user_id = %s AND person_id = %s",
                                (user_id, person_id))}
    wanted = {a.strip().lower() for a in addresses}
    wanted = {a if a in held else identity.canonical(a) for a in wanted}
    if not wanted or not wanted <= held:
        raise LookupError(f"person {person_id} does not have {sorted(wanted - held)}")
    if wanted == held:
        raise ValueError("a split must leave at least one address with the person")
    new_id = _rows(conn, "INSERT INTO people (user_id) VALUES (%s) RETURNING id", (user_id,))[0][0]
    conn.execute("UPDATE person_addresses SET person_id = %s, source = 'manual' "
                 "WHERE user_id = %s AND address = ANY(%s)", (new_id, user_id, sorted(wanted)))
    conn.execute("UPDATE person_addresses SET source = 'manual' WHERE user_id = %s AND person_id = %s",
                 (user_id, person_id))
    # Remember the split as a rejected pair, so it is not suggested back.
    pair = sorted((min(held - wanted), min(wanted)))
    conn.execute("INSERT INTO merge_suggestions (user_id, addresses, evidence, status) "
                 "VALUES (%s, %s, %s, 'rejected') ON CONFLICT (user_id, addresses) DO UPDATE "
                 "SET status = 'rejected'", (user_id, pair, json.dumps({"score": None, "evidence": [
                     {"kind": "split_by_hand", "detail": "you split these apart", "weight": 0}]})))
    for pid in (person_id, new_id):
        conn.execute("UPDATE people SET display_name = coalesce((SELECT p.name FROM participants p "
                     "JOIN person_addresses pa ON pa.address = p.address AND pa.user_id = p.user_id "
                     "WHERE pa.person_id = %s AND p.name IS NOT NULL GROUP BY p.name "
                     "ORDER BY count(*) DESC, p.name LIMIT 1), display_name) WHERE id = %s", (pid, pid))
    return new_id


def list_people(conn, user_id: int) -> list[dict]:
    addrs = _people_addresses(conn, user_id)
    return [{"id": pid, "name": name, "addresses": addrs.get(pid, [])}
            for pid, name in _rows(conn, "SELECT id, display_name FROM people WHERE user_id = %s ORDER BY id",
                                   (user_id,))]


# ---------------------------------------------------------------- rules and organisations

def set_rule(conn, user_id: int, kind: str, value: str, action: str) -> dict:
    if kind not in ("address", "domain") or action not in ("allow", "block"):
        raise ValueError("kind must be address|domain and action allow|block")
    value = identity.canonical(value) if kind == "address" else value.strip().lower().lstrip("@").strip(".")
    if not value or (kind == "address" and "@" not in value and not identity.is_legacy_dn(value)):
        raise ValueError(f"not an {kind}: {value!r}")
    conn.execute("INSERT INTO rules (user_id, kind, value, action) VALUES (%s, %s, %s, %s) "
                 "ON CONFLICT (user_id, kind, value) DO UPDATE SET action = EXCLUDED.action, created_at = now()",
                 (user_id, kind, value, action))
    return {"kind": kind, "value": value, "action": action}


def delete_rule(conn, user_id: int, kind: str, value: str) -> bool:
    value = identity.canonical(value) if kind == "address" else value.strip().lower().lstrip("@").strip(".")
    cur = conn.execute("DELETE FROM rules WHERE user_id = %s AND kind = %s AND value = %s", (user_id, kind, value))
    return cur.rowcount > 0


def list_rules(conn, user_id: int) -> list[dict]:
    return [{"kind": k, "value": v, "action": a, "created_at": c} for k, v, a, c in _rows(
        conn, "SELECT kind, value, action, created_at FROM rules WHERE user_id = %s ORDER BY kind, value", (user_id,))]


def set_org_domains(conn, user_id: int, domains: Iterable[str]) -> list[str]:
    """Replace the user's organisation domains. Free-mail and academic domains are refused
    (ValueError): sharing gmail.com or a university makes nobody a colleague."""
    clean = sorted({d.strip().lower().lstrip("@").strip(".") for d in domains if d and d.strip()})
    shared = [d for d in clean if identity.is_shared_domain(d)]
    if shared:
        raise ValueError(f"shared domains cannot be an organisation: {', '.join(shared)}")
    conn.execute("DELETE FROM org_domains WHERE user_id = %s", (user_id,))
    if clean:
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO org_domains (user_id, domain) VALUES (%s, %s)", [(user_id, d) for d in clean])
    return clean


def org_domains(conn, user_id: int) -> list[str]:
    """The organisation's domains: those the user named, else the non-shared domains of the
    user's own addresses (a work account at northwind.example makes northwind colleagues)."""
    named = [r[0] for r in _rows(conn, "SELECT domain FROM org_domains WHERE user_id = %s ORDER BY domain", (user_id,))]
    if named:
        return named
    return sorted({identity.domain_of(a) for a in own_addresses(conn, user_id)
                   if "@" in a and not identity.is_shared_domain(identity.domain_of(a))})


def is_colleague(conn, user_id: int, address: str, domains: Iterable[str] | None = None) -> bool:
    domains = org_domains(conn, user_id) if domains is None else list(domains)
    return identity.in_domains(address, domains)



# ---------------------------------------------------------------- the bridge to analytics

# Participants travel as separator-joined strings (\x1f between people, \x1e before an
# attendee's response): parsing text arrays costs more than the query at 100,000 rows.
_FETCH = """
SELECT i.kind, extract(epoch FROM i.occurred_at)::float8, i.message_id,
       coalesce(i.in_reply_to, i.refs[cardinality(i.refs)]), i.thread_id, i.duration_s, i.status,
       array_to_string(i.labels, E'\\x1f'), i.is_sent, i.is_draft, nullif(i.headers, '{}'::jsonb),
       min(p.address) FILTER (WHERE p.role IN ('from', 'organizer')),
       string_agg(p.address, E'\\x1f') FILTER (WHERE p.role IN ('to', 'cc', 'bcc')),
       string_agg(p.address || E'\\x1e' || coalesce(p.response, ''), E'\\x1f') FILTER (WHERE p.role = 'attendee'),
       i.n_participants
FROM interactions i JOIN participants p ON p.interaction_id = i.id
WHERE i.user_id = %s AND i.occurred_at < coalesce(%s::timestamptz, 'infinity'::timestamptz)
GROUP BY i.id
ORDER BY 2, i.id
"""


class _Book(dict):
    """raw address -> (person id, robot reason, rule verdict), worked out on first use."""

    def __init__(self, person_of: dict[str, int], own: set[str], rules: noise.Rules):
        super().__init__()
        self.person_of, self.own, self.rules = person_of, own, rules
        self.unknown: set[str] = set()
        # (raw address, reason) -> interactions left out that this address was merely on.
        self.collateral: Counter = Counter()

    def __missing__(self, raw: str) -> tuple:
        canon = identity.canonical(raw)
        if _is_own(canon, self.own):
            hit = (USER, None, None)
        else:
            pid = self.person_of.get(raw, self.person_of.get(canon))
            if pid is None:
                self.unknown.add(raw)
            verdict = self.rules.verdict(canon) if self.rules else None
            hit = (pid, noise.address_reason(canon), verdict)
        self[raw] = hit
        return hit


def _build(conn, user_id: int, as_of: datetime | None, include_colleagues: bool):
    own = own_addresses(conn, user_id)
    rules = noise.Rules(_rows(conn, "SELECT kind, value, action FROM rules WHERE user_id = %s", (user_id,)))
    rows = _rows(conn, _FETCH, (user_id, as_of))
    for attempt in range(2):
        person_of = dict(_rows(conn, "SELECT address, person_id FROM person_addresses WHERE user_id = %s",
                               (user_id,)))
        book = _Book(person_of, own, rules)
        excluded: Counter = Counter()
        kept, raw_sender, listy = _assemble(rows, book, excluded)
        if not book.unknown or attempt:
            break
        # New mail since the last refresh: give its addresses people first.
        refresh_people(conn, user_id)
        own = own_addresses(conn, user_id)
    kept = _drop_non_ties(kept, raw_sender, book, excluded, listy)

    pids = {p for x in kept for p in (x.sender, *x.recipients)} - {USER}
    info = _people_info(conn, user_id, pids)
    tied = set(info)
    if not include_colleagues:
        kept = _without(kept, {p for p, v in info.items() if v["colleague"]})
        pids = {p for x in kept for p in (x.sender, *x.recipients)} - {USER}
        info = {p: v for p, v in info.items() if p in pids}
    # Everyone who is no tie and has no reason yet was only on interactions left out.
    explained = {pid for (_a, pid, _r) in excluded}
    for (a, reason), n in book.collateral.items():
        pid = book[a][0]
        if pid is not None and pid != USER and pid not in tied and pid not in explained:
            excluded[(a, pid, noise.ONLY_ON.format(reason=reason))] += n
    # `tie_kept`: the person is still a tie through other interactions (only some of their
    # mail was left out, e.g. calendar notifications), as opposed to left out altogether.
    out = [{"address": a, "person_id": pid, "reason": reason, "count": n, "tie_kept": pid in tied}
           for (a, pid, reason), n in excluded.items()]
    return kept, info, out


def _people_info(conn, user_id: int, pids: set[int]) -> dict[int, dict]:
    used = dict(_rows(conn, "SELECT address, count(*) FROM participants WHERE user_id = %s GROUP BY 1", (user_id,)))
    addrs = _people_addresses(conn, user_id)
    names = dict(_rows(conn, "SELECT id, display_name FROM people WHERE user_id = %s", (user_id,)))
    domains = org_domains(conn, user_id)
    info: dict[int, dict] = {}
    for pid in pids:
        mine = addrs.get(pid, [])
        # The address the person is seen with most, readable SMTP before a legacy DN.
        primary = max(mine, key=lambda a: ("@" in a, used.get(a, 0), -len(a), a)) if mine else None
        colleague = any(identity.in_domains(a, domains) for a in mine) if domains else False
        info[pid] = {"name": names.get(pid), "addresses": mine, "primary": primary, "colleague": colleague}
    return info


def _assemble(rows, book: _Book, excluded: Counter):
    """Interactions -> Exchanges from the user's side, interaction noise left out."""
    kept: list[Exchange] = []
    raw_sender: list[str | None] = []
    seen_mail: set[str] = set()
    seen_meetings: set[tuple] = set()
    listy: set[int] = set()
    who = book
    for (kind, at, message_id, reply_to, thread_id, duration_s, status, labels,
         is_sent, is_draft, headers, first, rcpt, attendees, n_participants) in rows:
        labels = labels.split("\x1f") if labels else ()
        if kind == "email":
            if message_id and message_id in seen_mail:
                continue  # the same mail in two of the user's mailboxes
            rcpt_raw = rcpt.split("\x1f") if rcpt else []
            sender, robot, verdict = who[first] if first else (None, None, None)
            if is_sent:
                sender = USER
            if sender is None:
                continue
            action = verdict[0] if verdict else None
            if action == "block":
                excluded[(first, sender, verdict[1])] += 1
                continue
            allowed = action == "allow"
            reason = None
            big = (n_participants or 0) > AUDIENCE_CAP  # a broadcast counted, not stored whole
            if headers or labels or is_draft or big or len(rcpt_raw) > noise.RECIPIENT_CAP:
                n_rcpt = max(len(set(rcpt_raw)), n_participants - 1) if big else len(set(rcpt_raw))
                reason = noise.email_reason({} if allowed else (headers or {}), () if allowed else labels,
                                            n_rcpt, is_draft=is_draft)
            if reason is None and sender != USER and not allowed:
                reason = robot
            if reason:
                excluded[(first, sender, reason)] += 1
                for a in rcpt_raw:
                    book.collateral[(a, reason)] += 1
                if reason in _LIST_REASONS:
                    listy.add(sender)
                continue
            everyone = {who[a][0] for a in rcpt_raw}
            if first:
                everyone.add(who[first][0])
            everyone.discard(USER)
            everyone.discard(None)
            recipients = _keep(rcpt_raw, book, excluded, sender)
            if sender != USER and USER not in recipients:
                recipients.append(USER)  # delivered to the user (bcc, alias, forward)
            if sender == USER and not recipients:
                continue
            if message_id:
                seen_mail.add(message_id)
            kept.append(Exchange(at=at, kind="email", sender=sender, recipients=tuple(recipients),
                                 thread=thread_id, key=message_id, reply_to=reply_to,
                                 audience=max(1, len(everyone))))
            raw_sender.append(first)
            continue
        # A meeting: organiser -> attendees who did not decline.
        others = [part.split("\x1e") for part in attendees.split("\x1f")] if attendees else []
        org_raw = first
        user_response = "organizer" if org_raw and who[org_raw][0] == USER else None
        going_raw: list[str] = []
        for a, resp in others:
            if who[a][0] == USER:
                user_response = resp or user_response
            elif resp != "declined":
                going_raw.append(a)
        org = who[org_raw][0] if org_raw else USER
        org = USER if org is None else org
        present = _keep([org_raw, *going_raw] if org_raw else going_raw, book, excluded, None, count=False)
        others_set = set(present) - {USER}
        n_others, n_attendees = len(others_set), len(others)
        if (n_participants or 0) > AUDIENCE_CAP:  # counted, not stored whole (ingest.audience)
            n_others = n_attendees = max(n_others, n_participants - 1)
        reason = noise.meeting_reason(status, n_others, user_response, attendees=n_attendees)
        if reason:
            excluded[(org_raw or "", org, reason)] += 1
            for a, _resp in others:
                book.collateral[(a, reason)] += 1
            continue
        if org not in others_set and org != USER:
            org = USER  # the organiser was filtered out (room, robot, blocked)
        recipients = [p for p in present if p != org]
        if org != USER and USER not in recipients:
            recipients.append(USER)
        mkey = (at, duration_s, org, frozenset(recipients))
        if mkey in seen_meetings:
            continue  # one meeting on two of the user's calendars
        seen_meetings.add(mkey)
        kept.append(Exchange(at=at, kind="meeting", sender=org, recipients=tuple(recipients),
                             thread=thread_id, key=message_id, duration_s=float(duration_s or 0),
                             audience=len(others_set)))
        raw_sender.append(org_raw)
    return kept, raw_sender, listy


def _keep(raws, book: _Book, excluded: Counter, sender, count: bool = True) -> list[int]:
    """Person ids of `raws` without blocked or robot addresses (the user's allow wins)."""
    out: list[int] = []
    who = book
    for a in raws:
        pid, robot, verdict = who[a]
        if pid is None:
            continue
        if pid != USER:
            action = verdict[0] if verdict else None
            if action == "block" or (robot and action != "allow"):
                if count:
                    excluded[(a, pid, verdict[1] if action == "block" else robot)] += 1
                continue
        if pid != sender and pid not in out:
            out.append(pid)
    return out


_LIST_REASONS = frozenset({noise.LIST_ID, noise.LIST_UNSUBSCRIBE, noise.PRECEDENCE.format(value="list")})


def _drop_non_ties(kept: list[Exchange], raw_sender: list, book: _Book, excluded: Counter,
                   listy: set[int]) -> list[Exchange]:
    """Leave out people who are in the data but not in a relationship with the user:
    list addresses (their own mail came with list headers, the user's mail to them is a
    post), people who only ever wrote and never got an answer, and bystanders only seen in
    someone else's group mail or in big meetings. The user's allow rule keeps anyone."""
    received: Counter = Counter()
    addressed: set[int] = set()
    met: set[int] = set()
    met_small: set[int] = set()
    spoke: set[int] = set()
    seen: set[int] = set()
    for x in kept:
        seen.add(x.sender)
        seen.update(x.recipients)
        if x.kind == "meeting":
            met.update((x.sender, *x.recipients))
            if x.audience <= SMALL_MEETING:
                met_small.update((x.sender, *x.recipients))
        elif x.sender == USER:
            addressed.update(x.recipients)
        else:
            spoke.add(x.sender)
            if USER in x.recipients:
                received[x.sender] += 1
    allowed = {pid for pid, _r, v in book.values() if v and v[0] == "allow"}
    drop: dict[int, str] = {}
    for pid in noise.one_way(received, addressed | met):
        drop[pid] = noise.ONE_WAY
    for pid in listy - spoke:
        drop[pid] = noise.LIST_ADDRESS
    bystander = noise.BYSTANDER.format(n=SMALL_MEETING + 2)
    for pid in seen - spoke - addressed - met_small - {USER}:
        drop.setdefault(pid, bystander)
    for pid in allowed:
        drop.pop(pid, None)
    if not drop:
        return kept
    address_of: dict[int, str] = {}
    for raw, (pid, _r, _v) in sorted(book.items()):
        address_of.setdefault(pid, raw)
    out = []
    for x, raw in zip(kept, raw_sender):
        if x.sender in drop:
            excluded[(raw or address_of.get(x.sender, ""), x.sender, drop[x.sender])] += 1
            for p in x.recipients:
                if p != USER and p in address_of:
                    book.collateral[(address_of[p], drop[x.sender])] += 1
            continue
        gone = [p for p in x.recipients if p in drop]
        if gone:
            for p in gone:
                excluded[(address_of.get(p, ""), p, drop[p])] += 1
            recipients = tuple(p for p in x.recipients if p not in drop)
            if not ({x.sender, *recipients} - {USER}):
                continue
            x = _replace_recipients(x, recipients)
        out.append(x)
    return out


def _replace_recipients(x: Exchange, recipients: tuple[int, ...]) -> Exchange:
    return Exchange(at=x.at, kind=x.kind, sender=x.sender, recipients=recipients, thread=x.thread,
                    key=x.key, reply_to=x.reply_to, duration_s=x.duration_s, audience=x.audience)


def _without(kept: list[Exchange], leave_out: set[int]) -> list[Exchange]:
    if not leave_out:
        return kept
    out = []
    for x in kept:
        if x.sender in leave_out:
            continue
        recipients = tuple(p for p in x.recipients if p not in leave_out)
        if {x.sender, *recipients} - {USER}:
            out.append(x if len(recipients) == len(x.recipients) else _replace_recipients(x, recipients))
    return out


def load_exchanges(conn, user_id: int, as_of: datetime | None = None, *,
                   include_colleagues: bool = True) -> tuple[list[Exchange], dict[int, dict]]:
    """The model's input: every exchange with the user before `as_of`, noise left out, and
    {person_id: {"name", "addresses", "primary", "colleague"}} for everyone in them."""
    kept, info, _ = _build(conn, user_id, as_of, include_colleagues)
    return kept, info


def exclusions(conn, user_id: int, as_of: datetime | None = None) -> list[dict]:
    """What was left out and why: [{"address", "person_id", "reason", "count", "tie_kept"}],
    biggest first.
    `person_id` is 0 for the user's own mail (e.g. a draft, a cancelled meeting they organised)."""
    out = exclusion_rows(conn, user_id, as_of)
    out.sort(key=lambda r: (-r["count"], r["address"], r["reason"]))
    return out


def exclusion_rows(conn, user_id: int, as_of: datetime | None = None) -> list[dict]:
    """`exclusions` in no order: service.exclusion_pages picks a page out of them."""
    return _build(conn, user_id, as_of, True)[2]
