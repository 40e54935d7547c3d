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
from contextlib import contextmanager

from analytics.records import USER
from ingest import identity, noise

from ..db import rows as _rows
from .book import is_own
from .own import add_own_addresses, own_addresses
from .persons import drop_orphans, merge_people

SUGGEST_MAX_PARTICIPANTS = 6  # co-occurrence on bigger mails says nothing about identity


# The persons on each small email (an address without a person, the user's own, counts
# for nothing), one row per mail and person. Every count of mail evidence below is one
# set-based query over it: a mailbox of a million mails never passes through Python.
_SMALL_MAIL_PERSONS = """
    SELECT DISTINCT i.id, pa.person_id{cols}
    FROM interactions i
    JOIN participants p ON p.interaction_id = i.id
    JOIN person_addresses pa ON pa.address = p.address
    WHERE i.user_id = %(u)s AND p.user_id = %(u)s AND pa.user_id = %(u)s
        AND i.kind = 'email' AND i.n_participants <= %(n)s AND {which}"""

# Replies from another: the user wrote to one person alone (a sent mail whose persons are
# that one), and a reply to it came from someone else while that person was not on it.
_REPLIES_FROM_OTHER = f"""
WITH asked AS MATERIALIZED (
    SELECT DISTINCT ON (m.message_id) m.message_id, min(m.person_id) AS person
    FROM ({
    _SMALL_MAIL_PERSONS.format(cols=", i.message_id", which="coalesce(i.is_sent, false) AND i.message_id <> ''")
}) m
    GROUP BY m.id, m.message_id HAVING count(*) = 1
    ORDER BY m.message_id, m.id DESC),
answers AS (
    SELECT m.in_reply_to, array_agg(DISTINCT m.person_id) FILTER (WHERE m.sender) AS senders,
           array_agg(m.person_id) AS present
    FROM ({
    _SMALL_MAIL_PERSONS.format(
        cols=", i.in_reply_to, p.role = 'from' AS sender",
        which="NOT coalesce(i.is_sent, false) AND i.in_reply_to IS NOT NULL",
    )
}) m
    GROUP BY m.id, m.in_reply_to)
SELECT least(s.person, a.person), greatest(s.person, a.person), count(*)
FROM answers r
JOIN asked a ON a.message_id = r.in_reply_to
CROSS JOIN LATERAL unnest(r.senders) AS s(person)
WHERE s.person <> a.person AND NOT a.person = ANY(r.present)
GROUP BY 1, 2"""

# Seen together: mails with two to SUGGEST_MAX_PARTICIPANTS persons, each pair of persons on
# one counted when it is one of %(pairs)s ("a:b"); the lists of first and second persons
# (%(a)s, %(b)s) pass over most pairs before a key is built. Only the asked pairs come back:
# a million mails have millions of other pairs.
_TOGETHER = f"""
WITH mails AS (
    SELECT array_agg(m.person_id ORDER BY m.person_id) AS persons
    FROM ({_SMALL_MAIL_PERSONS.format(cols="", which="true")}) m
    GROUP BY m.id HAVING count(*) BETWEEN 2 AND %(most)s),
pairs AS (
    SELECT m.persons[x] AS a, m.persons[y] AS b
    FROM mails m
    CROSS JOIN LATERAL generate_subscripts(m.persons, 1) AS x
    CROSS JOIN LATERAL generate_series(x + 1, cardinality(m.persons)) AS y)
SELECT a, b, count(*) FROM pairs
WHERE a = ANY(%(a)s::bigint[]) AND b = ANY(%(b)s::bigint[]) AND a || ':' || b = ANY(%(pairs)s::text[])
GROUP BY 1, 2"""


@contextmanager
def _no_jit(conn) -> Iterator[None]:
    """JIT off for the mail-evidence queries: their row estimates (arrays unnested per mail)
    are high enough to make PostgreSQL compile them, which costs more than it saves here."""
    previous = _rows(conn, "SELECT current_setting('jit')")[0][0]
    conn.execute("SELECT set_config('jit', 'off', true)")
    yield  # on an error the transaction (or savepoint) rolls back, and the setting with it
    conn.execute("SELECT set_config('jit', %s, true)", (previous,))


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
    if USER in people and not people[USER].addresses:
        del people[USER]
    params: dict[str, object] = {"u": user_id, "n": SUGGEST_MAX_PARTICIPANTS + 1, "most": SUGGEST_MAX_PARTICIPANTS}
    with _no_jit(conn):
        replies: Counter = Counter({(a, b): n for a, b, n in _rows(conn, _REPLIES_FROM_OTHER, params)})
        # Being seen together only supports other evidence, so only pairs that have some are
        # counted: a mailbox's every pair of correspondents would not fit in memory.
        evidence = identity.pair_evidence(people, replies)
        pairs = [p for p in evidence if USER not in p]
        together: Counter = Counter()
        if pairs:
            params |= {
                "a": sorted({a for a, _ in pairs}),
                "b": sorted({b for _, b in pairs}),
                "pairs": [f"{a}:{b}" for a, b in pairs],
            }
            together.update({(a, b): n for a, b, n in _rows(conn, _TOGETHER, params)})

    existing = _rows(conn, "SELECT addresses, status FROM merge_suggestions WHERE user_id = %s", (user_id,))
    decided = set()
    for addrs, status in existing:
        if status != "open" and len(addrs) == 2:
            pa, pb = (person_of.get(a, USER if is_own(identity.canonical(a), own) else None) for a in addrs)
            if pa is not None and pb is not None:
                decided.add(tuple(sorted((pa, pb))))
    found = identity.suggest_merges(people, together, replies, exclude=decided, evidence=evidence)
    anchors = {pid: min(f.addresses) for pid, f in people.items()}
    rows = []
    for s in found:
        pair = sorted((anchors[s.left], anchors[s.right]))
        shown = [{"kind": e.kind, "detail": e.detail, "weight": round(e.weight, 3)} for e in s.evidence]
        rows.append((user_id, pair, json.dumps({"score": s.score, "evidence": shown})))
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
