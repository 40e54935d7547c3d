"""Canonical addresses, legacy DNs, exact groups and merge suggestions (pure)."""

from __future__ import annotations

import random
import string

from hypothesis import given, strategies as st

from ingest import identity
from ingest.identity import PersonFacts, canonical

LOCAL = st.text(string.ascii_letters + string.digits + "._-", min_size=1, max_size=16).filter(lambda s: s.strip("._-"))
DOMAIN = st.sampled_from(
    ["example.org", "Example.COM", "mail.northwind.example", "gmail.com", "googlemail.com", "yahoo.co.uk"]
)
ADDRESS = st.builds(lambda l, d: f"{l}@{d}", LOCAL, DOMAIN)
DECOR = st.sampled_from(["{}", "<{}>", '"Ana Ruiz" <{}>', "mailto:{}", " {} ", "'{}'", "Ruiz, Ana <{}>", "{}."])


@given(ADDRESS, DECOR)
def test_canonical_is_idempotent(address, decor):
    """Given any decorated address, When canonicalised twice, Then nothing changes the second time."""
    once = canonical(decor.format(address))
    assert canonical(once) == once


@given(ADDRESS, DECOR)
def test_canonical_is_case_and_decoration_insensitive(address, decor):
    """Given an address in any case and any client decoration, Then it has one canonical form."""
    assert canonical(decor.format(address.upper())) == canonical(address.lower()) == canonical(decor.format(address))


@given(st.text(min_size=0, max_size=40))
def test_canonical_is_idempotent_on_garbage(text):
    """Given anything at all (archives hold garbage), canonical still reaches a fixed point."""
    once = canonical(text)
    assert canonical(once) == once


@given(
    st.text("abcdefghij", min_size=2, max_size=10),
    st.lists(st.integers(1, 9), max_size=3),
    st.text(string.ascii_lowercase + string.digits, max_size=6),
    st.sampled_from(["gmail.com", "googlemail.com"]),
)
def test_gmail_dots_and_tags_are_one_mailbox(local, dots, tag, domain):
    """Given a Gmail local part with dots inserted and a +tag, on gmail.com or googlemail.com,
    Then it is the same mailbox as the plain local part at gmail.com."""
    dotted = list(local)
    for pos in sorted({min(d, len(local) - 1) for d in dots}, reverse=True):
        dotted.insert(pos, ".")
    variant = "".join(dotted) + (f"+{tag}" if tag else "") + "@" + domain
    assert canonical(variant) == f"{local}@gmail.com"


def test_dots_and_tags_matter_elsewhere():
    """Given the same trick on another domain, Then the addresses stay distinct (not Gmail's rule)."""
    assert canonical("a.na@example.org") != canonical("ana@example.org")
    assert canonical("ana+x@example.org") == "ana+x@example.org"


def test_legacy_dn_forms():
    """Given Exchange X.500 forms (plain, EX:, IMCEAEX-encapsulated), Then they canonicalise alike."""
    dn = "/O=ENRON/OU=NA/CN=RECIPIENTS/CN=JSMITH"
    assert canonical(dn) == "/o=enron/ou=na/cn=recipients/cn=jsmith"
    assert canonical("EX:" + dn) == canonical(dn)
    assert canonical("IMCEAEX-_O=ENRON_OU=NA_CN=RECIPIENTS_CN=JSMITH@enron.com") == canonical(dn)
    assert identity.dn_alias(canonical(dn)) == ("enron", "jsmith")


def test_resolve_legacy_by_name_in_mailbox_or_by_alias():
    """Given DNs seen with a display name, or whose CN is a known local part,
    Then each resolves to the one SMTP address of that person; ambiguity stays unresolved."""
    sightings = [
        ("/o=enron/ou=na/cn=recipients/cn=jsmith", "Smith, John", "box1"),
        ("john.smith@enron.com", "John Smith", "box1"),
        ("/o=enron/ou=na/cn=recipients/cn=kbrown", None, "box1"),
        ("kbrown@enron.com", None, "box2"),
        ("kbrown@other.example", None, "box2"),
        ("/o=enron/ou=na/cn=recipients/cn=lee", "Ann Lee", "box1"),
        ("ann.lee@a.example", "Ann Lee", "box2"),
        ("ann.lee@b.example", "Ann Lee", "box2"),
    ]
    resolved = identity.resolve_legacy(sightings)
    assert resolved == {
        "/o=enron/ou=na/cn=recipients/cn=jsmith": "john.smith@enron.com",
        "/o=enron/ou=na/cn=recipients/cn=kbrown": "kbrown@enron.com",
    }


def test_display_name_noise():
    """Given names as clients decorate them, Then the person's name is what remains."""
    assert identity.clean_name('"Ruiz, Ana"') == "Ana Ruiz"
    assert identity.clean_name("Ana Ruiz (via Google Docs)") == "Ana Ruiz"
    assert identity.clean_name("Ana Ruiz [EXTERNAL]") == "Ana Ruiz"
    assert identity.clean_name("Ana Ruiz via LinkedIn") == "Ana Ruiz"
    assert identity.clean_name("ana@example.org") is None
    assert identity.name_key("Dr. Ana M. Ruíz") == "ana ruiz"
    assert identity.name_key("Ana") is None
    assert identity.local_key("ana.ruiz@x.org") == "ana ruiz" and identity.local_key("ana@x.org") is None
    assert identity.local_key("sales.team@x.org") is None  # a role mailbox is nobody's name


@given(st.lists(st.tuples(st.sampled_from("abcdefgh"), st.sampled_from("abcdefgh")), max_size=12), st.randoms())
def test_union_find_groups_do_not_depend_on_order(links, rnd):
    """Given the same links in any order, Then the groups (and their roots) are the same."""

    def groups(order):
        uf = identity.UnionFind("abcdefgh")
        for a, b in order:
            uf.union(a, b)
        return {item: uf.find(item) for item in "abcdefgh"}

    shuffled = list(links)
    rnd.shuffle(shuffled)
    assert groups(links) == groups(shuffled)


def test_group_addresses_merges_exact_matches_only():
    """Given spellings of one Gmail box, another address and a resolved DN link,
    Then spellings and the DN join; the different address does not."""
    dn = "/o=x/cn=recipients/cn=ana"
    roots = identity.group_addresses(
        ["ana.ruiz@gmail.com", "anaruiz+a@googlemail.com", "ana@x.example", dn], [(dn, "ana@x.example")]
    )
    assert roots["ana.ruiz@gmail.com"] == roots["anaruiz+a@googlemail.com"]
    assert roots[dn] == roots["ana@x.example"] != roots["ana.ruiz@gmail.com"]


def facts(addresses, *names):
    f = PersonFacts(set(addresses))
    for n in names:
        f.names[n] += 1
    return f


def test_suggestions_need_evidence_and_explain_it():
    """Given people with the same name, the same first.last at two domains, and strangers,
    Then only the likely pairs are suggested, each with its evidence; excluded pairs never."""
    people = {
        1: facts(["ana.ruiz@northwind.example"], "Ana Ruiz"),
        2: facts(["ana.ruiz@gmail.com"]),
        3: facts(["ana@home.example"], "Ruiz, Ana"),
        4: facts(["bob@example.org"], "Bob"),
        5: facts(["bob@other.example"], "Bob"),
        6: facts(["carl.berg@a.example"]),
        7: facts(["carl.berg@a.example.org"]),
    }
    found = {(s.left, s.right): s for s in identity.suggest_merges(people)}
    assert set(found) >= {(1, 2), (1, 3), (6, 7)}
    assert (4, 5) not in found  # one first name is no evidence
    assert {e.kind for e in found[(1, 3)].evidence} == {"same_name"}
    assert {e.kind for e in found[(1, 2)].evidence} == {"same_local_part", "name_matches_address"}
    assert all(s.score > 0.5 for s in found.values())
    assert (1, 2) not in {(s.left, s.right) for s in identity.suggest_merges(people, exclude=[(2, 1)])}


def test_a_common_name_is_weaker_evidence():
    """Given three unrelated "John Smith"s, Then no pair is likelier than not on the name alone."""
    people = {i: facts([f"js{i}@d{i}.example"], "John Smith") for i in range(3)}
    assert identity.suggest_merges(people) == []


def test_replies_from_another_address_suggest_a_merge():
    """Given two answers that came back from another address than the one the user wrote to,
    Then the pair is suggested; one such answer alone is not enough."""
    people = {1: facts(["x@a.example"]), 2: facts(["y@b.example"])}
    assert identity.suggest_merges(people, replies_from_other={(1, 2): 1}) == []
    (s,) = identity.suggest_merges(people, replies_from_other={(2, 1): 2})
    assert s.evidence[0].kind == "reply_from_other"


def test_shared_domains_are_never_an_organisation():
    for d in [
        "gmail.com",
        "yahoo.co.uk",
        "hotmail.fr",
        "gmx.de",
        "outlook.com",
        "icloud.com",
        "mit.edu",
        "cs.stanford.edu",
        "ox.ac.uk",
        "unimelb.edu.au",
    ]:
        assert identity.is_shared_domain(d), d
    for d in ["northwind.example", "enron.com", "acme.co.uk"]:
        assert not identity.is_shared_domain(d), d
    # A provider is free mail; a university is shared but an employer all the same.
    assert identity.is_free_mail("Yahoo.co.uk") and identity.is_free_mail("@gmx.net")
    assert not identity.is_free_mail("mit.edu") and not identity.is_free_mail("ox.ac.uk")
    assert not identity.is_free_mail("") and not identity.is_free_mail("acme.co.uk")
    assert identity.in_domains("Ana@EU.Northwind.example", ["northwind.example"])
    assert not identity.in_domains("ana@northwind.example.evil.com", ["northwind.example"])


def test_canonical_speed():
    """Given 50,000 addresses, canonicalising them all stays well under a second's budget."""
    import time

    rnd = random.Random(1)
    addrs = [
        f'"N" <{rnd.choice(["a.b", "c+d", "E.F"])}{i}@{rnd.choice(["gmail.com", "x.org"])}>' for i in range(50_000)
    ]
    t = time.perf_counter()
    for a in addrs:
        canonical(a)
    assert time.perf_counter() - t < 2.0
