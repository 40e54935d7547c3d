"""Merge suggestions: pairs of persons that may be one (shared name, replies that answer
a mail sent to the other, co-occurrence on small mails), worked out by
`ingest.identity.suggest_merges` from stored facts and kept in merge_suggestions.

`recompute_suggestions` is part of every `refresh_people`; the user accepts (a hand merge,
or "this is you": the addresses become the user's own) or rejects, and decided pairs are
never suggested again.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Hashable, Iterator

from psycopg.rows import tuple_row

from analytics.records import USER
from ingest import identity, noise

from ..db import rows as _rows
from .book import is_own
from .own import add_own_addresses, own_addresses
from .persons import drop_orphans, merge_people

SUGGEST_MAX_PARTICIPANTS = 6  # co-occurrence on bigger mails says nothing about identity


_SMALL_MAILS = """{prefix}
    SELECT i.message_id, i.in_reply_to, coalesce(i.is_sent, false),
           array_agg(p.address), array_agg(p.role)
    FROM interactions i JOIN participants p ON p.interaction_id = i.id
    WHERE i.user_id = %s AND i.kind = 'email' AND i.n_participants <= %s AND {which}
    GROUP BY i.id"""
_SENT = "coalesce(i.is_sent, false) AND i.message_id <> ''"
_REPLIES = "NOT coalesce(i.is_sent, false) AND i.in_reply_to IS NOT NULL"
# Mails with an address of one of the given persons (the only ones co-occurrence is counted
# on): their ids first, materialised, so the planner never runs the lookup once per mail.
_PERSONS_MAILS = """
    WITH chosen AS MATERIALIZED (
        SELECT DISTINCT p2.interaction_id AS id FROM participants p2
        JOIN person_addresses pa ON pa.user_id = p2.user_id AND pa.address = p2.address
        WHERE p2.user_id = %s AND pa.person_id = ANY(%s))"""
_WITH_PERSONS = "i.id IN (SELECT id FROM chosen)"


def _mail_threads(conn, user_id: int, which: str, persons: list | None = None) -> Iterator[tuple]:
    """Small emails only: (message_id, in_reply_to, is_sent, addresses, roles), `which` of
    them. Streamed through a server-side cursor: a mailbox of a million mails passes in
    batches, never held whole."""
    with conn.cursor(name="kith_small_mails", row_factory=tuple_row) as cur:
        cur.itersize = 5000
        if persons is None:
            cur.execute(_SMALL_MAILS.format(prefix="", which=which), (user_id, SUGGEST_MAX_PARTICIPANTS + 1))
        else:
            query = _SMALL_MAILS.format(prefix=_PERSONS_MAILS, which=which)
            cur.execute(query, (user_id, persons, user_id, SUGGEST_MAX_PARTICIPANTS + 1))
        yield from cur


def recompute_suggestions(conn, user_id: int, own: set[str], facts: list[tuple]) -> int:
    person_of = {
        a: pid
        for a, pid in _rows(conn, "SELECT address, person_id FROM person_addresses WHERE user_id = %s", (user_id,))
    }
    # Keyed like ingest.identity.suggest_merges asks: person ids, and USER for the user.
    people: dict[Hashable, identity.PersonFacts] = {}
    # The user takes part as person 0: an address with the user's name may be theirs.
    user_name = _rows(conn, "SELECT name FROM users WHERE id = %s", (user_id,))
    if user_name and user_name[0][0]:
        people[USER] = identity.PersonFacts(names=Counter({user_name[0][0]: 1}))
    for address, name, _acct, n in facts:
        pid = person_of.get(address)
        if pid is None and is_own(identity.canonical(address), own):
            pid = USER
        if pid is None or noise.address_reason(address):
            continue
        person = people.setdefault(pid, identity.PersonFacts())
        person.addresses.add(address)
        if name:
            person.names[name] += n
    together: Counter = Counter()
    replies: Counter = Counter()
    sole_recipient: dict[str, int] = {}
    for message_id, _irt, _sent, addrs, _roles in _mail_threads(conn, user_id, _SENT):
        others = {person_of[a] for a in addrs if a in person_of}
        if len(others) == 1:
            sole_recipient[message_id] = next(iter(others))
    for _mid, in_reply_to, _sent, addrs, roles in _mail_threads(conn, user_id, _REPLIES):
        if in_reply_to not in sole_recipient:
            continue
        asked = sole_recipient[in_reply_to]
        senders = {person_of[a] for a, r in zip(addrs, roles) if r == "from" and a in person_of}
        present = {person_of[a] for a in addrs if a in person_of}
        for s in senders:
            if s != asked and asked not in present:
                replies[tuple(sorted((s, asked)))] += 1

    del sole_recipient
    # Being seen together only supports other evidence, so only pairs that have some are
    # counted: a mailbox's every pair of correspondents would not fit in memory.
    candidates = identity.candidate_pairs(people, replies)
    involved = sorted({p for pair in candidates for p in pair if p != USER})
    for _mid, _irt, _sent, addrs, _roles in _mail_threads(conn, user_id, _WITH_PERSONS, involved):
        others = {person_of[a] for a in addrs if a in person_of}
        if 2 <= len(others) <= SUGGEST_MAX_PARTICIPANTS:
            ordered = sorted(others)
            for i, a in enumerate(ordered):
                for b in ordered[i + 1 :]:
                    if (a, b) in candidates:
                        together[(a, b)] += 1

    existing = _rows(conn, "SELECT addresses, status FROM merge_suggestions WHERE user_id = %s", (user_id,))
    decided = set()
    for addrs, status in existing:
        if status != "open" and len(addrs) == 2:
            pa, pb = (person_of.get(a, USER if is_own(identity.canonical(a), own) else None) for a in addrs)
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
    conn.execute(
        "DELETE FROM merge_suggestions WHERE user_id = %s AND status = 'open' "
        "AND array_to_string(addresses, E'\\x1f') <> ALL(%s::text[])",
        (user_id, ["\x1f".join(r[1]) for r in rows]),
    )
    if rows:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO merge_suggestions (user_id, addresses, evidence) VALUES (%s, %s, %s) "
                "ON CONFLICT (user_id, addresses) DO UPDATE SET evidence = EXCLUDED.evidence "
                "WHERE merge_suggestions.status = 'open'",
                rows,
            )
    return len(rows)


def merge_suggestions(conn, user_id: int, status: str | None = "open") -> list[dict]:
    """Suggestions (open ones by default): [{"id", "addresses", "person_ids", "names",
    "score", "evidence", "status", "is_you"}]. `is_you`: one side is the user (person id
    None): accepting makes the other address one of the user's own."""
    own = own_addresses(conn, user_id)
    person_of = {
        a: (pid, name)
        for a, pid, name in _rows(
            conn,
            "SELECT pa.address, pa.person_id, p.display_name FROM person_addresses pa "
            "JOIN people p ON p.id = pa.person_id WHERE pa.user_id = %s",
            (user_id,),
        )
    }
    out = []
    for sid, addrs, evidence, st in _rows(
        conn,
        "SELECT id, addresses, evidence, status FROM merge_suggestions "
        "WHERE user_id = %s AND (%s::text IS NULL OR status = %s) ORDER BY id",
        (user_id, status, status),
    ):
        body = evidence if isinstance(evidence, dict) else {"score": None, "evidence": evidence}
        people = [person_of.get(a, (None, None)) for a in addrs]
        out.append(
            {
                "id": sid,
                "addresses": list(addrs),
                "person_ids": [p[0] for p in people],
                "names": [p[1] for p in people],
                "score": body.get("score"),
                "evidence": body.get("evidence", []),
                "status": st,
                "is_you": any(is_own(identity.canonical(a), own) for a in addrs),
            }
        )
    out.sort(key=lambda s: (-(s["score"] or 0), s["id"]))
    return out


def resolve_suggestion(conn, user_id: int, suggestion_id: int, accept: bool) -> int | None:
    """Accept (merge, by hand) or reject a suggestion. Returns the merged person id, 0 when
    the suggestion was "this is you" (the addresses become the user's), None on reject."""
    row = _rows(
        conn, "SELECT addresses FROM merge_suggestions WHERE id = %s AND user_id = %s", (suggestion_id, user_id)
    )
    if not row:
        raise LookupError(f"no suggestion {suggestion_id}")
    conn.execute(
        "UPDATE merge_suggestions SET status = %s WHERE id = %s", ("accepted" if accept else "rejected", suggestion_id)
    )
    if not accept:
        return None
    pids = [
        r[0]
        for r in _rows(
            conn,
            "SELECT DISTINCT person_id FROM person_addresses WHERE user_id = %s AND address = ANY(%s)",
            (user_id, row[0][0]),
        )
    ]
    own = own_addresses(conn, user_id)
    if any(is_own(identity.canonical(a), own) for a in row[0][0]):
        # "This is you": the other person's addresses become the user's own.
        mine = [
            r[0]
            for r in _rows(
                conn, "SELECT address FROM person_addresses WHERE user_id = %s AND person_id = ANY(%s)", (user_id, pids)
            )
        ]
        add_own_addresses(conn, user_id, mine, "confirmed")
        drop_orphans(conn, user_id)
        return USER
    return merge_people(conn, user_id, sorted(pids)) if pids else None
