"""Who is who, in pure functions: canonical addresses, one person behind several addresses.

Three levels of certainty, kept apart on purpose:

- *canonical equality* (`canonical`): two spellings of one mailbox (case, Gmail dots and
  `+tags`, googlemail.com, display-name noise, `mailto:`). These are the same address.
- *exact matches* (`group_addresses`): canonical equality plus Exchange legacy DNs resolved
  to the SMTP address of the same person (`resolve_legacy`). Merged automatically.
- *likelier than not* (`suggest_merges`): same display name, the same first.last at two
  domains, a reply that came back from another address, two addresses seen together.
  Only ever *suggested*, with the evidence, never merged silently.

No database, no I/O: the service feeds facts in and stores what comes out.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar
from collections.abc import Hashable, Iterable, Mapping


class _Key(Hashable, Protocol):
    """A person or address key: hashed into sets, and ordered so results do not depend on
    the order things were seen in."""

    def __lt__(self, other: Any, /) -> bool: ...


_K = TypeVar("_K", bound=_Key)

GMAIL_DOMAINS = frozenset({"gmail.com", "googlemail.com"})
_STRIP = " \t\r\n\"'<>;,`"
_MAILTO = re.compile(r"^\s*mailto:", re.I)
_EX_PREFIX = re.compile(r"^\s*ex:", re.I)
_IMCEAEX = re.compile(r"^imceaex-(.*)@[^@]*$", re.I)
_HEX = re.compile(r"\+([0-9a-fA-F]{2})")
# Trailing decorations mail clients add to a display name.
_NAME_SUFFIX = re.compile(r"\s*(\((?:[^()]*)\)|\[(?:[^\[\]]*)\]|\bvia\s+\S.*)\s*$", re.I)
_TITLES = frozenset({"mr", "mrs", "ms", "miss", "dr", "prof", "sir", "jr", "sr", "ii", "iii", "phd"})
# Role mailboxes: "sales.team@a" and "sales.team@b" are two companies, not one person.
_ROLE_WORDS = frozenset(
    {
        "info",
        "sales",
        "support",
        "team",
        "hello",
        "contact",
        "office",
        "admin",
        "billing",
        "help",
        "hr",
        "jobs",
        "careers",
        "marketing",
        "press",
        "service",
        "accounts",
        "news",
        "mail",
        "webmaster",
        "customer",
        "orders",
        "no",
        "reply",
    }
)


# ---------------------------------------------------------------- canonical addresses


def is_legacy_dn(address: str) -> bool:
    """An Exchange X.500 / legacy DN (`/o=enron/ou=na/cn=recipients/cn=jsmith`)."""
    return address.startswith("/o=") or address.startswith("/cn=")


def _decode_imceaex(body: str) -> str:
    # IMCEAEX encapsulation: "/" is written "_", other specials as "+XX" hex.
    body = body.replace("_", "/")
    return _HEX.sub(lambda m: chr(int(m.group(1), 16)), body)


def _canonical_once(raw: str) -> str:
    s = _EX_PREFIX.sub("", _MAILTO.sub("", raw))
    if "<" in s:
        # `"Display Name" <addr>`: the address is what the last angle brackets hold.
        s = s[s.rindex("<") + 1 :]
        if ">" in s:
            s = s[: s.index(">")]
    s = s.strip(_STRIP).lower()
    imceaex = _IMCEAEX.match(s)
    if imceaex:
        s = _decode_imceaex(imceaex.group(1)).strip(_STRIP).lower()
    if is_legacy_dn(s):
        return "/".join(part.strip() for part in s.split("/"))
    if "@" not in s:
        return s
    local, _, domain = s.rpartition("@")
    local = local.strip(_STRIP + ".")
    domain = domain.strip(_STRIP + ".")
    if domain in GMAIL_DOMAINS:
        # Gmail ignores dots and everything after "+"; googlemail.com is the same service.
        local = local.split("+", 1)[0].replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


def canonical(raw: str) -> str:
    """The one spelling of a mailbox: idempotent, case-insensitive, Gmail-aware."""
    s = raw or ""
    for _ in range(8):  # each pass only shortens; a fixed point makes it idempotent
        nxt = _canonical_once(s)
        if nxt == s:
            break
        s = nxt
    return s


def untagged(address: str) -> str:
    """`local+tag@domain` -> `local@domain` on any domain. Only used to recognise the
    user's own sub-addresses: for other people a +tag may be a different mailbox."""
    local, at, domain = address.rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}" if at and "+" in local else address


def domain_of(address: str) -> str:
    return address.rpartition("@")[2] if "@" in address else ""


def local_of(address: str) -> str:
    return address.rpartition("@")[0] if "@" in address else address


def dn_alias(dn: str) -> tuple[str | None, str | None]:
    """(organisation, alias) of a legacy DN: the first `o=` and the last `cn=` value."""
    org = alias = None
    for part in dn.split("/"):
        key, _, value = part.partition("=")
        if key == "o" and org is None:
            org = value
        elif key == "cn":
            alias = value
    return org, alias


# ---------------------------------------------------------------- display names


def clean_name(name: str | None) -> str | None:
    """A display name without client noise; None when it is no name at all.

    Drops quotes, "(via Google Docs)", "[EXTERNAL]", "Ana via LinkedIn", trailing
    parentheticals; turns "Ruiz, Ana" into "Ana Ruiz"; an address is not a name.
    """
    if not name:
        return None
    s = " ".join(name.replace('"', " ").replace("'", " ").split())
    for _ in range(3):
        stripped = _NAME_SUFFIX.sub("", s).strip()
        if stripped == s:
            break
        s = stripped
    if not s or "@" in s or s.startswith("/"):
        return None
    if s.count(",") == 1:
        last, first = (p.strip() for p in s.split(","))
        if last and first:
            s = f"{first} {last}"
    return s or None


def _tokens(text: str) -> list[str]:
    text = unicodedata.normalize("NFKD", text)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    return [t for t in re.split(r"[^a-z0-9]+", text) if t]


def name_key(name: str | None) -> str | None:
    """A comparable form of a person's name, or None when too weak to compare.

    Needs two real words (initials and titles do not count): "Ana" alone is not evidence.
    """
    cleaned = clean_name(name)
    if not cleaned:
        return None
    words = [t for t in _tokens(cleaned) if len(t) > 1 and t not in _TITLES and not t.isdigit()]
    return " ".join(words) if len(words) >= 2 else None


def local_key(address: str) -> str | None:
    """`first.last` style local parts as a name ("ana.ruiz", "ana_ruiz" -> "ana ruiz")."""
    if "@" not in address or is_legacy_dn(address):
        return None
    local = local_of(address).split("+", 1)[0]
    if not re.search(r"[._-]", local):
        return None
    words = [t for t in _tokens(local) if len(t) > 1 and not t.isdigit()]
    if _ROLE_WORDS.intersection(words):
        return None
    return " ".join(words) if len(words) >= 2 else None


# ---------------------------------------------------------------- legacy DNs


def resolve_legacy(sightings: Iterable[tuple[str, str | None, Hashable]]) -> dict[str, str]:
    """Map each Exchange legacy DN to the SMTP address of the same person, when certain.

    `sightings` are (canonical address, display name, mailbox). A DN resolves when one
    SMTP address carries the same display name in the same mailbox (else in all of them),
    or when its CN alias is the local part of exactly one SMTP address (the organisation's
    domain preferred). Anything ambiguous stays unresolved.
    """
    dn_names: dict[str, set[tuple[Hashable, str]]] = defaultdict(set)
    by_name_box: dict[tuple[Hashable, str], set[str]] = defaultdict(set)
    by_name: dict[str, set[str]] = defaultdict(set)
    by_local: dict[str, set[str]] = defaultdict(set)
    dns: set[str] = set()
    for address, name, box in sightings:
        key = name_key(name)
        if is_legacy_dn(address):
            dns.add(address)
            if key:
                dn_names[address].add((box, key))
        elif "@" in address:
            by_local[local_of(address)].add(address)
            if key:
                by_name_box[(box, key)].add(address)
                by_name[key].add(address)
    resolved: dict[str, str] = {}
    for dn in sorted(dns):
        found: set[str] = set()
        for box, key in dn_names.get(dn, ()):
            found |= by_name_box.get((box, key), set())
        if len(found) != 1:
            found = set()
            for _box, key in dn_names.get(dn, ()):
                found |= by_name.get(key, set())
        if len(found) != 1:
            org, alias = dn_alias(dn)
            found = set(by_local.get(alias or "", ()))
            if len(found) > 1 and org:
                found = {a for a in found if org in domain_of(a).split(".")}
        if len(found) == 1:
            resolved[dn] = next(iter(found))
    return resolved


# ---------------------------------------------------------------- exact groups


class UnionFind(Generic[_K]):
    """Disjoint sets with path halving; roots are the smallest member, so the result does
    not depend on the order of unions."""

    def __init__(self, items: Iterable[_K] = ()) -> None:
        self.parent: dict[_K, _K] = {}
        for item in items:
            self.add(item)

    def add(self, item: _K) -> None:
        self.parent.setdefault(item, item)

    def find(self, item: _K) -> _K:
        self.add(item)
        parent = self.parent
        while parent[item] != item:
            parent[item] = parent[parent[item]]
            item = parent[item]
        return item

    def union(self, a: _K, b: _K) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            if rb < ra:
                ra, rb = rb, ra
            self.parent[rb] = ra

    def groups(self) -> dict[_K, set[_K]]:
        out: dict[_K, set[_K]] = defaultdict(set)
        for item in self.parent:
            out[self.find(item)].add(item)
        return dict(out)


def group_addresses(addresses: Iterable[str], links: Iterable[tuple[str, str]] = ()) -> dict[str, str]:
    """Exact matches: raw address -> group root. Same canonical form, plus `links`
    (e.g. legacy DN -> SMTP from `resolve_legacy`, or the user's hand merges)."""
    uf: UnionFind[str] = UnionFind()
    for raw in addresses:
        uf.add(raw)
        key = canonical(raw)
        uf.add(key)
        uf.union(raw, key)
    for a, b in links:
        uf.union(a, b)
        uf.union(canonical(a), canonical(b))
    return {item: uf.find(item) for item in list(uf.parent)}


# ---------------------------------------------------------------- suggestions


@dataclass(frozen=True, slots=True)
class Evidence:
    kind: str  # same_name | same_local_part | name_matches_address | reply_from_other | seen_together
    detail: str
    weight: float


@dataclass(frozen=True, slots=True)
class Suggestion(Generic[_K]):
    left: _K
    right: _K
    evidence: tuple[Evidence, ...]
    score: float  # noisy-or of the evidence weights: a probability-like 0..1


@dataclass(slots=True)
class PersonFacts:
    """What a person looks like from the outside: addresses and the names they came with."""

    addresses: set[str] = field(default_factory=set)
    names: Counter[str] = field(default_factory=Counter)

    def name_keys(self) -> set[str]:
        return {k for n in self.names if (k := name_key(n))}

    def local_keys(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = defaultdict(set)
        for a in self.addresses:
            if k := local_key(a):
                out[k].add(domain_of(a))
        return out


SAME_NAME = 0.6
SAME_LOCAL = 0.55
NAME_ADDRESS = 0.5
REPLY_OTHER = 0.45
TOGETHER = 0.2
THRESHOLD = 0.5  # likelier than not


def _pair(a: _K, b: _K) -> tuple[_K, _K]:
    """`tuple(sorted((a, b)))`, typed as the pair it is."""
    return (b, a) if b < a else (a, b)


def suggest_merges(
    people: Mapping[_K, PersonFacts],
    together: Mapping[tuple[_K, _K], int] | None = None,
    replies_from_other: Mapping[tuple[_K, _K], int] | None = None,
    exclude: Iterable[tuple[_K, _K]] = (),
    evidence: dict[tuple[_K, _K], list[Evidence]] | None = None,
) -> list[Suggestion[_K]]:
    """Pairs of people that are likelier than not one person, with the evidence.

    `together`: (a, b) person pairs -> messages both were on (an own address cc'd);
    `replies_from_other`: (a, b) -> times the user wrote to a and the answer came from b;
    `exclude`: pairs the user has already kept apart (splits, rejected suggestions).
    `evidence`: `pair_evidence(people, replies_from_other)` when the caller has it already
    (it is extended here). Pair keys are sorted tuples of person keys.
    """
    together = together or {}
    excluded = {_pair(*p) for p in exclude}
    if evidence is None:
        evidence = pair_evidence(people, replies_from_other or {})
    for (a, b), n in together.items():
        pair = _pair(a, b)
        if pair in evidence:  # only supports other evidence: colleagues are seen together too
            evidence[pair].append(Evidence("seen_together", f"seen together on {n} message(s)", TOGETHER))

    out: list[Suggestion[_K]] = []
    for pair, items in evidence.items():
        if pair in excluded or pair[0] == pair[1] or pair[0] not in people or pair[1] not in people:
            continue
        miss = 1.0
        for e in items:
            miss *= 1 - e.weight
        score = 1 - miss
        if score > THRESHOLD:
            out.append(Suggestion(pair[0], pair[1], tuple(items), round(score, 3)))
    out.sort(key=lambda s: (-s.score, str(s.left), str(s.right)))
    return out


def candidate_pairs(
    people: Mapping[_K, PersonFacts], replies_from_other: Mapping[tuple[_K, _K], int] | None = None
) -> set[tuple[_K, _K]]:
    """The pairs `suggest_merges` may suggest: those with evidence other than being seen
    together (which only supports it). A caller counts co-occurrence for these alone."""
    return set(pair_evidence(people, replies_from_other or {}))


def pair_evidence(
    people: Mapping[_K, PersonFacts], replies_from_other: Mapping[tuple[_K, _K], int]
) -> dict[tuple[_K, _K], list[Evidence]]:
    """Every pair's evidence but co-occurrence: names, local parts, replies. Its keys are
    the `candidate_pairs`; `suggest_merges` takes it to add co-occurrence and score."""
    evidence: dict[tuple[_K, _K], list[Evidence]] = defaultdict(list)

    by_name: dict[str, list[_K]] = defaultdict(list)
    by_local: dict[str, list[_K]] = defaultdict(list)
    locals_of: dict[_K, dict[str, set[str]]] = {}
    names_of: dict[_K, set[str]] = {}
    for pid, facts in people.items():
        names_of[pid] = facts.name_keys()
        for key in names_of[pid]:
            by_name[key].append(pid)
        locals_of[pid] = facts.local_keys()
        for key in locals_of[pid]:
            by_local[key].append(pid)

    for key, pids in by_name.items():
        if len(pids) < 2:
            continue
        # A name shared by many people is weaker evidence for any one pair.
        weight = SAME_NAME / (len(pids) - 1)
        for i, a in enumerate(sorted(pids)):
            for b in sorted(pids)[i + 1 :]:
                evidence[(a, b)].append(Evidence("same_name", f'both are called "{key.title()}"', weight))
    for key, pids in by_local.items():
        if len(pids) < 2 or len(pids) > 4:
            continue
        for i, a in enumerate(sorted(pids)):
            for b in sorted(pids)[i + 1 :]:
                if locals_of[a][key] != locals_of[b][key]:
                    da, db = sorted(locals_of[a][key])[0], sorted(locals_of[b][key])[0]
                    evidence[(a, b)].append(
                        Evidence("same_local_part", f"{key.replace(' ', '.')} at {da} and at {db}", SAME_LOCAL)
                    )
    for key, pids in by_local.items():
        # "Ana Ruiz" <ana@x.org> and ana.ruiz@y.com: the name on one is the address of the other.
        for b in by_name.get(key, ()):
            for a in pids:
                if a != b and key not in names_of[a]:
                    pair = _pair(a, b)
                    if not any(e.kind in ("same_name", "name_matches_address") for e in evidence[pair]):
                        evidence[pair].append(
                            Evidence(
                                "name_matches_address",
                                f'"{key.title()}" is the name on one and the address of the other',
                                NAME_ADDRESS,
                            )
                        )
    for (a, b), n in replies_from_other.items():
        pair = _pair(a, b)
        evidence[pair].append(
            Evidence(
                "reply_from_other",
                f"you wrote to one and {n} answer(s) came from the other",
                1 - (1 - REPLY_OTHER) ** min(n, 3),
            )
        )
    return evidence


# ---------------------------------------------------------------- organisations

# Free-mail and shared academic domains: two people there share a provider, not an employer.
_SHARED_EXACT = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "msn.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "ymail.com",
        "rocketmail.com",
        "proton.me",
        "protonmail.com",
        "pm.me",
        "mail.com",
        "zoho.com",
        "fastmail.com",
        "fastmail.fm",
        "hey.com",
        "web.de",
        "t-online.de",
        "mail.ru",
        "qq.com",
        "163.com",
        "126.com",
        "tutanota.com",
        "hushmail.com",
        "inbox.com",
        "duck.com",
        "comcast.net",
        "verizon.net",
        "att.net",
        "sbcglobal.net",
        "orange.fr",
        "free.fr",
        "laposte.net",
    }
)
_SHARED_FIRST_LABEL = frozenset({"yahoo", "hotmail", "live", "gmx", "yandex", "outlook", "libero", "aim"})


def _labels(domain: str) -> list[str]:
    domain = domain.strip().lower().lstrip("@").strip(".")
    return domain.split(".") if domain else []


def is_free_mail(domain: str) -> bool:
    """A personal mail provider (gmail.com, yahoo.*, hotmail.*, gmx.*, proton.me ...): its
    people share a provider, not an employer."""
    labels = _labels(domain)
    return bool(labels) and (".".join(labels) in _SHARED_EXACT or labels[0] in _SHARED_FIRST_LABEL)


def is_shared_domain(domain: str) -> bool:
    """Free-mail and academic domains (gmail.com, yahoo.*, hotmail.*, gmx.*, *.edu, *.ac.uk,
    *.edu.au ...): never taken for one organisation."""
    labels = _labels(domain)
    if not labels or is_free_mail(domain):
        return True
    # *.edu, *.edu.au, *.ac.uk, *.ac.jp: universities share a domain among students and staff.
    return "edu" in labels[-2:] or (len(labels) >= 2 and labels[-2] == "ac")


def in_domains(address: str, domains: Iterable[str]) -> bool:
    dom = domain_of(canonical(address))
    return any(dom == d or dom.endswith("." + d) for d in domains)
