"""Who is who on real mail metadata: the Enron network (../shared/data/enron-igraph/).

What this data can show, honestly: 184 employees, all @enron.com, local parts and names
only -- no display-name noise, no second domains, no Exchange DNs, no list headers or
labels. So it exercises (a) canonicalisation on real, odd local parts (`a..martin`),
(b) same-name merge *suggestions* (the igraph edition lists several employees twice, under
two local parts), and (c) the structural noise rules (recipient cap, one-way senders,
bystanders) on real behaviour. Run with `-s` for the figures and a sample.
"""

from __future__ import annotations

import csv
import os
from collections import Counter, defaultdict
from datetime import datetime, timezone

import psycopg
import pytest

from analytics.records import USER
from ingest import identity, noise
from ingest.records import Interaction, Participant
from service import people, store

from tests.conftest import ENRON

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not (ENRON / "edges.csv").exists(), reason="Enron data not present")]
# The busiest mailboxes by default; KITH_ENRON_MAILBOXES=184 runs all of them (~1-2 min).
BUSIEST = int(os.environ.get("KITH_ENRON_MAILBOXES", "4"))


def _people() -> dict[str, tuple[str, str | None]]:
    with open(ENRON / "people.csv", newline="") as fh:
        return {
            r["id"]: (f"{r['email']}@enron.com", None if r["name"] == "NA" else r["name"]) for r in csv.DictReader(fh)
        }


def _messages() -> dict[tuple[str, str], list[tuple[str, str]]]:
    """Rows sharing sender and time are one message sent to several people."""
    out: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    with open(ENRON / "edges.csv", newline="") as fh:
        for r in csv.DictReader(fh):
            out[(r["sender_id"], r["time"])].append((r["recipient_id"], r["recipient_type"]))
    return out


def _mailbox(owner: str, who, messages) -> list[Interaction]:
    items = []
    for n, ((sender, at), rcpts) in enumerate(sorted(messages.items())):
        if sender != owner and all(r != owner for r, _ in rcpts):
            continue
        when = datetime.strptime(at, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
        seen, parts = set(), [Participant(who[sender][0], "from", who[sender][1])]
        for r, role in rcpts:
            if (r, role) not in seen:
                seen.add((r, role))
                parts.append(Participant(who[r][0], role, who[r][1]))
        items.append(
            Interaction(
                provider_id=f"e{n}",
                kind="email",
                occurred_at=when,
                participants=tuple(parts),
                message_id=f"e{n}@enron",
                is_sent=sender == owner,
            )
        )
    return items


def test_enron_addresses_are_distinct_and_same_names_only_suggested():
    """Given the 184 employee addresses with their names,
    When canonicalised and grouped, and merge suggestions computed,
    Then nothing merges automatically (distinct mailboxes), and employees listed twice under
    one name are suggested -- each with its evidence -- never merged."""
    who = _people()
    addresses = [a for a, _ in who.values()]
    roots = identity.group_addresses(addresses)
    assert len({roots[a] for a in addresses}) == len(set(addresses)) == 184
    facts = {}
    for pid, (address, name) in who.items():
        f = identity.PersonFacts({address})
        if name:
            f.names[name] += 1
        facts[int(pid)] = f
    found = identity.suggest_merges(facts)
    by_name = defaultdict(list)
    for pid, (_address, name) in who.items():
        if name:
            by_name[identity.name_key(name)].append(int(pid))
    twice = {tuple(sorted(p)) for p in by_name.values() if len(p) == 2}
    pairs = {(s.left, s.right) for s in found}
    print(
        f"\nEnron: 184 addresses, 0 automatic merges, {len(found)} merge suggestions "
        f"({len(twice)} names listed exactly twice)"
    )
    for s in found[:8]:
        print("  suggest", who[str(s.left)][0], "+", who[str(s.right)][0], s.score, [e.detail for e in s.evidence])
    assert twice <= pairs
    assert all(any(e.kind == "same_name" for e in s.evidence) for s in found)


@pytest.fixture(scope="module")
def enron():
    return _people(), _messages()


def test_enron_mailboxes_noise_and_people(database_url, enron):
    """Given the mailboxes of the busiest employees (everything they sent or received),
    When stored, people refreshed and exchanges loaded,
    Then no own address is a person, every exclusion has a reason, and the recipient-cap
    exclusions are exactly the mailbox's messages to more than 50 people."""
    who, messages = enron
    volume = Counter()
    for (sender, _at), rcpts in messages.items():
        volume[sender] += 1
        for r in {r for r, _ in rcpts}:
            volume[r] += 1
    totals, all_reasons = Counter(), Counter()
    with psycopg.connect(database_url) as conn:
        for owner, _n in volume.most_common(BUSIEST):
            address = who[owner][0]
            uid = store.create_user(conn, address, who[owner][1])
            acct = store.ensure_account(conn, uid, "mbox", address)
            items = _mailbox(owner, who, messages)
            if not items:
                continue
            store.write_interactions(conn, uid, acct, "mbox", items)
            conn.commit()
            counts = people.refresh_people(conn, uid)
            exchanges, info = people.load_exchanges(conn, uid)
            excluded = people.exclusions(conn, uid)
            conn.commit()
            kept = {v["primary"] for v in info.values()}
            by_reason = Counter()
            for r in excluded:
                by_reason[r["reason"]] += r["count"]
            left_out = {r["address"] for r in excluded if not r["tie_kept"] and r["person_id"] != USER} - kept
            big = sum(1 for it in items if len({p.address for p in it.participants if p.role != "from"}) > 50)
            print(
                f"\n{address}: {len(items)} messages, {counts['people']} people, "
                f"{len(info)} kept as ties, {len(left_out)} addresses wholly left out, "
                f"{counts['suggestions']} merge suggestions"
            )
            all_reasons.update(by_reason)
            for reason, n in by_reason.most_common():
                print(f"  {n:6d} x {reason}")
            print("  sample left out:", sorted(left_out)[:5])
            suggestions = people.merge_suggestions(conn, uid)
            print(
                "  sample suggestions:",
                [
                    s["addresses"] + (["(is you)"] if s["is_you"] else [])
                    for s in sorted(suggestions, key=lambda s: not s["is_you"])[:3]
                ],
            )
            assert address not in {a for v in info.values() for a in v["addresses"]}
            assert all(r["reason"] for r in excluded)
            # Everyone is either a tie or has a reason for not being one.
            everyone = {p["id"] for p in people.list_people(conn, uid)}
            assert everyone <= set(info) | {r["person_id"] for r in excluded}
            assert by_reason.get(noise.RECIPIENT_CAP_REASON.format(cap=noise.RECIPIENT_CAP), 0) == big
            assert all(USER in (x.sender, *x.recipients) for x in exchanges)
            totals["mailboxes_without_a_tie"] += not exchanges
            assert all(v["colleague"] for v in info.values())  # everyone is at enron.com
            totals["people"] += counts["people"]
            totals["kept"] += len(info)
            totals["left_out"] += len(left_out)
            totals["suggestions"] += counts["suggestions"]
            totals["automatic_merges"] += counts["addresses"] - counts["people"]
    print(f"\nEnron, {BUSIEST} busiest mailboxes: {dict(totals)}")
    for reason, n in all_reasons.most_common():
        print(f"  {n:6d} x {reason}")
