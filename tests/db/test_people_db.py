"""People in PostgreSQL: own addresses, persons, hand merges and splits, rules, colleagues,
and the exchanges handed to the model."""

from __future__ import annotations

import random
from datetime import timedelta

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from analytics.records import USER
from service import people, store

from tests.support.interactions import T0, mail, meeting


@pytest.fixture
def conn(database_url):
    with psycopg.connect(database_url) as c:
        yield c


def user_with(conn, interactions, provider="google", address="me@gmail.com", extra=()):
    uid = store.create_user(conn, "me@gmail.com", "Me")
    acct = store.ensure_account(conn, uid, provider, address)
    store.write_interactions(conn, uid, acct, "mail", list(interactions))
    for prov, addr, items in extra:
        other = store.ensure_account(conn, uid, prov, addr)
        store.write_interactions(conn, uid, other, "mail", list(items))
    return uid


def person_sets(conn, uid) -> set[frozenset]:
    return {frozenset(p["addresses"]) for p in people.list_people(conn, uid)}


def conversation(n=3, who="ana@example.org", start=0):
    """`who` writes, the user answers: a real two-way tie."""
    out = []
    for k in range(n):
        out.append(mail(f"in{who}{start + k}", who, ["me@gmail.com"], at=start + 2 * k, names={who: "Ana Ruiz"}))
        out.append(
            mail(
                f"out{who}{start + k}",
                "me@gmail.com",
                [who],
                at=start + 2 * k + 1,
                sent=True,
                irt=f"in{who}{start + k}@mail",
            )
        )
    return out


def test_exact_matches_merge_across_providers_and_own_addresses_are_the_user(conn):
    """Given Ana as Ana.Ruiz@GMAIL.com on Google and anaruiz+work@googlemail.com on Microsoft,
    and the user's work account address,
    When people are refreshed,
    Then Ana is one person with both spellings, and no own address is a person."""
    uid = user_with(
        conn,
        conversation(2, "ana.ruiz@gmail.com"),
        extra=[
            (
                "microsoft",
                "me@northwind.example",
                [
                    mail("m1", "anaruiz+work@googlemail.com", ["me@northwind.example"], at=50),
                    mail("m2", "me@northwind.example", ["anaruiz+work@googlemail.com"], at=51, sent=True),
                ],
            )
        ],
    )
    counts = people.refresh_people(conn, uid)
    sets = person_sets(conn, uid)
    assert frozenset({"ana.ruiz@gmail.com", "anaruiz+work@googlemail.com"}) in sets
    assert not any(a in s for s in sets for a in ("me@gmail.com", "me@northwind.example"))
    assert counts["people"] == 1
    exchanges, info = people.load_exchanges(conn, uid)
    (pid,) = info
    assert {x.sender for x in exchanges} == {USER, pid}
    assert info[pid]["name"] == "Ana Ruiz"


def test_sent_from_address_becomes_the_user(conn):
    """Given mail the provider marks as sent from an alias nobody told us about,
    When people are refreshed,
    Then the alias is the user's, and a mail to it is one-to-one with the user."""
    items = [
        mail("s1", "me.alias@work.example", ["bo@example.org"], sent=True, at=1),
        mail("r1", "bo@example.org", ["me.alias@work.example"], at=2),
    ]
    uid = user_with(conn, items)
    people.refresh_people(conn, uid)
    assert "me.alias@work.example" in people.own_addresses(conn, uid)
    exchanges, _info = people.load_exchanges(conn, uid)
    assert [(x.sender == USER, x.recipients == (USER,) or x.sender == USER) for x in exchanges] == [
        (True, True),
        (False, True),
    ]
    assert all(x.size() == 1 for x in exchanges)


def test_hand_merge_and_split_survive_refresh(conn):
    """Given two people the user knows are one, and an exact match the user splits apart,
    When people are refreshed again (twice),
    Then both hand edits hold and the split pair is not suggested back."""
    items = conversation(2, "ana@example.org") + conversation(2, "ana.r@home.example", start=10)
    items += conversation(2, "bob@gmail.com", start=20) + conversation(2, "b.o.b@gmail.com", start=30)
    uid = user_with(conn, items)
    people.refresh_people(conn, uid)
    by_addr = {a: p["id"] for p in people.list_people(conn, uid) for a in p["addresses"]}
    merged = people.merge_people(conn, uid, [by_addr["ana@example.org"], by_addr["ana.r@home.example"]])
    new = people.split_person(conn, uid, by_addr["bob@gmail.com"], ["b.o.b@gmail.com"])
    before = person_sets(conn, uid)
    people.refresh_people(conn, uid)
    people.refresh_people(conn, uid)
    assert person_sets(conn, uid) == before
    assert frozenset({"ana@example.org", "ana.r@home.example"}) in before
    assert frozenset({"b.o.b@gmail.com"}) in before and new != by_addr["bob@gmail.com"]
    assert merged == by_addr["ana@example.org"]
    assert all({"bob@gmail.com", "b.o.b@gmail.com"} != set(s["addresses"]) for s in people.merge_suggestions(conn, uid))


def test_merge_suggestion_with_evidence_is_never_a_silent_merge(conn):
    """Given "Ana Ruiz" at work and ana.ruiz@ at home,
    When refreshed,
    Then they stay two people and one suggestion explains why; accepting merges them."""
    items = conversation(2, "ana.ruiz@northwind.example") + conversation(2, "ana.ruiz@home.example", start=10)
    uid = user_with(conn, items)
    people.refresh_people(conn, uid)
    assert len(people.list_people(conn, uid)) == 2
    (s,) = people.merge_suggestions(conn, uid)
    kinds = {e["kind"] for e in s["evidence"]}
    assert {"same_name", "same_local_part"} <= kinds and s["score"] > 0.5
    pid = people.resolve_suggestion(conn, uid, s["id"], accept=True)
    people.refresh_people(conn, uid)
    assert len(people.list_people(conn, uid)) == 1 and people.list_people(conn, uid)[0]["id"] == pid
    assert people.merge_suggestions(conn, uid) == []


def test_an_address_with_the_users_name_may_be_the_user(conn):
    """Given mail from an unknown address carrying the user's own name,
    When refreshed,
    Then it is suggested as the user (never assumed); accepting makes it an own address."""
    items = conversation(2, "ana@example.org") + [
        mail("x1", "me.old@work.example", ["ana@example.org"], names={"me.old@work.example": "Me Myself"}, at=30),
        mail("x2", "me@gmail.com", ["bo@example.org"], sent=True, names={"me@gmail.com": "Me Myself"}, at=31),
    ]
    uid = user_with(conn, items)
    people.refresh_people(conn, uid)
    (s,) = [s for s in people.merge_suggestions(conn, uid) if s["is_you"]]
    assert "me.old@work.example" in s["addresses"] and "me.old@work.example" not in people.own_addresses(conn, uid)
    assert people.resolve_suggestion(conn, uid, s["id"], accept=True) == USER
    people.refresh_people(conn, uid)
    assert "me.old@work.example" in people.own_addresses(conn, uid)
    assert all("me.old@work.example" not in p["addresses"] for p in people.list_people(conn, uid))


def test_noise_is_left_out_with_reasons(conn):
    """Given a newsletter, a no-reply robot, a cold sender, a cancelled and a declined
    meeting, a broadcast beyond the cap and a single-attendee event,
    When exchanges are loaded,
    Then only the real conversation and meeting remain, and every exclusion has a reason."""
    items = conversation(2, "ana@example.org")
    items += [
        mail("n1", "news@letters.example", ["me@gmail.com"], headers=[("list-unsubscribe", "<mailto:x>")]),
        mail("r1", "no-reply@shop.example", ["me@gmail.com"]),
        mail("c1", "cold@pitch.example", ["me@gmail.com"]),
        mail("c2", "cold@pitch.example", ["me@gmail.com"]),
        mail("b1", "boss@corp.example", ["me@gmail.com"] + [f"p{i}@corp.example" for i in range(60)]),
        mail("p1", "deals@shop2.example", ["me@gmail.com"], labels=["Category Promotions"]),
        mail(
            "i1",
            "ana@example.org",
            ["me@gmail.com"],
            at=4,
            headers=[("content-class", "urn:content-classes:calendarmessage")],
        ),
        meeting("e1", "me@gmail.com", [("ana@example.org", "accepted")], at=5),
        meeting("e2", "me@gmail.com", [("ana@example.org", "accepted")], at=6, status="cancelled"),
        meeting("e3", "ana@example.org", [("me@gmail.com", "declined")], at=7),
        meeting("e4", "me@gmail.com", [], at=8),
    ]
    uid = user_with(conn, items)
    people.refresh_people(conn, uid)
    exchanges, info = people.load_exchanges(conn, uid)
    assert {v["primary"] for v in info.values()} == {"ana@example.org"}
    assert sum(x.kind == "meeting" for x in exchanges) == 1
    reasons = {(r["address"], r["reason"]): r["count"] for r in people.exclusions(conn, uid)}
    assert reasons[("cold@pitch.example", "only ever writes to you and never got an answer")] == 2
    assert ("news@letters.example", "mailing list or newsletter (List-Unsubscribe header)") in reasons
    assert ("no-reply@shop.example", "no-reply or robot address") in reasons
    assert ("boss@corp.example", "message to more than 50 recipients") in reasons
    assert ("deals@shop2.example", "Gmail category Promotions") in reasons
    assert {"meeting cancelled", "you declined the meeting", "event with no one but you"} <= {r for _, r in reasons}
    kept_anyway = {(r["address"], r["tie_kept"]) for r in people.exclusions(conn, uid)}
    assert ("ana@example.org", True) in kept_anyway and ("cold@pitch.example", False) in kept_anyway


def test_rules_win_over_filters(conn):
    """Given a no-reply address the user allows, and a real contact whose domain is blocked,
    When exchanges are loaded,
    Then the allowed one is kept and the blocked one is gone, with the rule as the reason."""
    items = conversation(2, "ana@blocked.example") + [mail("r1", "noreply@bank.example", ["me@gmail.com"], at=40)]
    uid = user_with(conn, items)
    people.set_rule(conn, uid, "address", "NoReply@Bank.example", "allow")
    people.set_rule(conn, uid, "domain", "@Blocked.example", "block")
    people.refresh_people(conn, uid)
    _, info = people.load_exchanges(conn, uid)
    assert {v["primary"] for v in info.values()} == {"noreply@bank.example"}
    assert any(r["reason"] == "blocked by your rule on domain blocked.example" for r in people.exclusions(conn, uid))
    assert {(r["kind"], r["value"]) for r in people.list_rules(conn, uid)} == {
        ("address", "noreply@bank.example"),
        ("domain", "blocked.example"),
    }
    assert people.delete_rule(conn, uid, "domain", "blocked.example")
    _, info = people.load_exchanges(conn, uid)
    assert "ana@blocked.example" in {v["primary"] for v in info.values()}


def test_colleagues_named_or_derived_and_shared_domains_refused(conn):
    """Given a work account at northwind.example and contacts at work and at gmail.com,
    When loading with and without colleagues,
    Then the work contact is a colleague and can be left out; gmail.com is never an organisation."""
    items = conversation(2, "ana@gmail.com") + conversation(2, "carl@northwind.example", start=10)
    uid = user_with(conn, items, extra=[("microsoft", "me@northwind.example", [])])
    people.refresh_people(conn, uid)  # as the import or sync that wrote the mail does
    _, info = people.load_exchanges(conn, uid)
    assert {v["primary"]: v["colleague"] for v in info.values()} == {
        "ana@gmail.com": False,
        "carl@northwind.example": True,
    }
    _, info = people.load_exchanges(conn, uid, include_colleagues=False)
    assert {v["primary"] for v in info.values()} == {"ana@gmail.com"}
    with pytest.raises(ValueError):
        people.set_org_domains(conn, uid, ["gmail.com"])
    with pytest.raises(ValueError):
        people.set_org_domains(conn, uid, ["cs.stanford.edu"])
    assert people.set_org_domains(conn, uid, ["Other.example"]) == ["other.example"]
    assert not people.is_colleague(conn, uid, "carl@northwind.example")
    assert people.is_colleague(conn, uid, "x@eu.other.example")


def test_legacy_dn_resolves_to_smtp_of_the_same_person(conn):
    """Given Exchange mail from /O=NORTHWIND/.../CN=CARL named "Carl Berg" and Carl's SMTP address,
    When refreshed,
    Then both are one person (an exact match)."""
    dn = "/O=NORTHWIND/OU=EXCHANGE ADMINISTRATIVE GROUP/CN=RECIPIENTS/CN=CBERG".lower()
    items = [
        mail("d1", dn, ["me@northwind.example"], names={dn: "Berg, Carl"}, at=1),
        mail("d2", "me@northwind.example", [dn], sent=True, at=2),
        mail(
            "s1",
            "carl.berg@northwind.example",
            ["me@northwind.example"],
            names={"carl.berg@northwind.example": "Carl Berg"},
            at=3,
        ),
    ]
    uid = user_with(conn, items, provider="microsoft", address="me@northwind.example")
    people.refresh_people(conn, uid)
    assert frozenset({dn, "carl.berg@northwind.example"}) in person_sets(conn, uid)


def test_as_of_reads_only_the_past(conn):
    """Given a conversation over 6 hours, When loaded as of hour 3, Then only earlier mail counts."""
    uid = user_with(conn, conversation(3))
    people.refresh_people(conn, uid)
    exchanges, _ = people.load_exchanges(conn, uid, T0 + timedelta(hours=3))
    assert len(exchanges) == 3 and max(x.at for x in exchanges) < (T0 + timedelta(hours=3)).timestamp()


@hsettings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seed=st.integers(0, 10_000),
    edits=st.lists(st.tuples(st.booleans(), st.integers(0, 50), st.integers(0, 50)), max_size=3),
)
def test_refresh_is_idempotent_order_free_and_keeps_hand_edits(database_url, seed, edits):
    """Given a random mailbox of aliases written in two different orders,
    When people are refreshed once, twice, and in the other order,
    Then the partition of addresses into people is the same every time;
    and after random hand merges and splits, further refreshes change nothing."""
    rnd = random.Random(seed)
    pool = [
        "ana@example.org",
        "Ana@Example.org",
        "a.n.a@gmail.com",
        "ana+x@googlemail.com",
        "bob@x.example",
        "bob.smith@y.example",
        "bob.smith@z.example",
        "carl@northwind.example",
    ]
    items = []
    for k in range(12):
        who = rnd.choice(pool).lower()
        items.append(
            mail(f"m{k}", who, ["me@gmail.com"], at=k, names={who: rnd.choice(["Ana Ruiz", "Bob Smith", None])})
        )
        items.append(mail(f"s{k}", "me@gmail.com", [who], at=k, sent=True))
    results = []
    for order in (items, list(reversed(items))):
        with psycopg.connect(database_url) as c:
            c.execute("TRUNCATE users CASCADE")
            uid = user_with(c, order)
            people.refresh_people(c, uid)
            once = person_sets(c, uid)
            ids = {s["id"] for s in people.merge_suggestions(c, uid)}
            people.refresh_people(c, uid)
            assert person_sets(c, uid) == once
            assert {s["id"] for s in people.merge_suggestions(c, uid)} == ids  # stable for the API
            results.append(once)
            for merge, i, j in edits:
                persons = people.list_people(c, uid)
                a, b = persons[i % len(persons)], persons[j % len(persons)]
                if merge and a["id"] != b["id"]:
                    people.merge_people(c, uid, [a["id"], b["id"]])
                elif not merge and len(a["addresses"]) > 1:
                    people.split_person(c, uid, a["id"], a["addresses"][:1])
            edited = person_sets(c, uid)
            people.refresh_people(c, uid)
            people.refresh_people(c, uid)
            assert person_sets(c, uid) == edited
            c.rollback()
    assert results[0] == results[1]
