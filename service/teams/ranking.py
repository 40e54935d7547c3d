"""What a team may know of a member's tie, and how teammates are ranked (pure: no I/O).

A shared tie is a band and a month, nothing else:

    band   3 strong (strength >= 88), 2 medium (>= 50), 1 weak (>= 15), one band lower
           when Kith flags the tie cooling or dormant; ties under 15 are not shared
    month  the first day of the month of the last two-way contact, or None when the
           snapshot's 180-day ledger shows no exchange in both directions

The bands are the team's, not the member's own tiers (strong >= 70, medium >= 40): they
rank teammates, so they are cut where the synthetic world's true strength (the two-way
rate of the last 90 days, ingest/sandbox/world) changes class. The cuts were chosen on
fourteen teams of five worlds (seeds 2000-15004, tests/support/team_study.py), never on
the team tests/db/test_team_world.py measures (seeds 1000-1004). There Kith strength reads
(p10..p90): steady strong ties 94..99, new and rising ones (true 74-83) 86..98, steady
medium ones (true 28-35) 50..68, cooling ones (true 15-27) 62..83 and rarely flagged,
occasional and one-sided ties (true 8-15) 23..56. A medium cut at 60 left half the steady
medium ties in "weak" below cooling ones; at 50 they are medium, and 88 keeps most rising
ties strong. Over those 212 shared contacts the first-ranked teammate held the truly
strongest tie for 158 (74.5%) at 88/50 against 151 (71.2%) at the earlier 90/60, the best
of a grid of strong cuts 80-96 and medium cuts 40-70 (50 and 55 tie; 50 is ahead when ties
on band and month are broken at random); chosen the same way with one team left out, the
cut scored 154/212 (72.6%) on the teams left out. Of the 54 misses left, 25 are between
teammates of one class (two steady strong ties, true 85 and 87), which no band can order,
and 16 put a cooling tie Kith did not flag level with or above a steady medium one. Only
the band leaves the member's data: the flag and the strength decide it and are not shared.

A snapshot keeps the time of the last two-way contact (`last_two_way`: an answer either
way, or a meeting of at most five people), and the month is that time's. Snapshots written
before it was kept have only the last interaction of any kind: for them the month is that
one's when the ledger shows the tie is two-way, and is withheld otherwise (a one-way tail
after the last answer can make it later than the last two-way contact).

Teammates are ranked by band, then by recency, then by user id so an answer is stable.
Nothing finer orders them: the order of an answer is itself shared, so it may rest on
band and month alone (two teammates equal on both are listed by user id, which says
nothing about their ties).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date

BANDS = {3: "strong", 2: "medium", 1: "weak"}
BOUNDS = ((88.0, 3), (50.0, 2), (15.0, 1))
FADING = frozenset(["cooling", "dormant"])  # Kith's flags of a tie weaker now than its strength
# Personal mail providers are not organisations: no reach or key-person risk for them.
PUBLIC_MAIL = frozenset(
    [
        "gmail.com",
        "googlemail.com",
        "outlook.com",
        "hotmail.com",
        "live.com",
        "msn.com",
        "yahoo.com",
        "icloud.com",
        "me.com",
        "aol.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "gmx.de",
        "gmx.net",
        "web.de",
        "yandex.ru",
        "mail.ru",
        "qq.com",
        "163.com",
    ]
)
TWO_WAY_KEYS = ("replies_by_you", "replies_by_them", "meetings_you_organised", "meetings_they_organised")


def band_of(strength: float, flags: Iterable[str] | None = ()) -> int | None:
    """The band of a tie of that strength and flags, or None for a tie too weak to share
    (a cooling or dormant tie is one band lower: a weak one is then not shared)."""
    for bound, band in BOUNDS:
        if strength >= bound:
            if FADING.intersection(flags or ()):
                return band - 1 or None
            return band
    return None


def _positive(value: object) -> bool:
    return isinstance(value, int | float) and value > 0


def two_way(ledger: Mapping | None) -> bool:
    """Whether the tie's ledger shows contact in both directions (answers, meetings, or
    mail each way)."""
    if not ledger:
        return False
    if any(_positive(ledger.get(k)) for k in TWO_WAY_KEYS):
        return True
    return _positive(ledger.get("messages_to_them")) and _positive(ledger.get("messages_from_them"))


def month_start(moment: str | None) -> date | None:
    """The first day of the month of an ISO time ("2026-10-31T23:59:00Z" -> 2026-10-01)."""
    if not moment:
        return None
    try:
        return date(int(moment[0:4]), int(moment[5:7]), 1)
    except (ValueError, TypeError):
        return None


def month_of(last_interaction: str | None, ledger: Mapping | None) -> date | None:
    """For a snapshot that did not keep the last two-way contact: the month of its last
    interaction when the ledger shows the tie is two-way, else None."""
    if not two_way(ledger):
        return None
    return month_start(last_interaction)


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


@dataclass(frozen=True, slots=True)
class Share:
    """One shared tie: which member, which address, its band and month."""

    user_id: int
    address: str
    band: int
    month: date | None


# strength, addresses, last interaction, ledger, flags, and optionally the last two-way
# contact and whether the snapshot kept it (older snapshots did not)
Tie = tuple


def shares_of(user_id: int, ties: Iterable[Tie]) -> list[Share]:
    """A member's shares from their stored ties (strength, addresses, last interaction,
    ledger, flags); an address in two ties keeps the stronger band."""
    best: dict[str, Share] = {}
    for strength, addresses, last, ledger, flags, *kept in ties:
        band = band_of(float(strength), flags)
        if band is None:
            continue
        if len(kept) == 2 and kept[1]:
            month = month_start(kept[0])
        else:
            month = month_of(last, ledger)
        for raw in addresses or ():
            address = str(raw).strip().lower()
            if "@" not in address or len(address) > 320:
                continue
            share = Share(user_id, address, band, month)
            if address not in best or _key(share) < _key(best[address]):
                best[address] = share
    return sorted(best.values(), key=lambda s: s.address)


def _key(share: Share) -> tuple[int, int, int]:
    recency = share.month.toordinal() if share.month else 0
    return (-share.band, -recency, share.user_id)


def best_per_member(shares: Iterable[Share]) -> list[Share]:
    """Each member's best share (band, then recency), members ranked the same way."""
    best: dict[int, Share] = {}
    for s in shares:
        if s.user_id not in best or _key(s) < _key(best[s.user_id]):
            best[s.user_id] = s
    return sorted(best.values(), key=_key)


def reach(shares: Iterable[Share]) -> list[tuple[str, Share]]:
    """An organisation's people reachable through the team: for each address, the member
    to ask (the best share); addresses with the best bands first, then by address."""
    best: dict[str, Share] = {}
    for s in shares:
        if s.address not in best or _key(s) < _key(best[s.address]):
            best[s.address] = s
    return sorted(best.items(), key=lambda item: (_key(item[1])[:2], item[0]))


def key_person_risk(shares: Iterable[Share], ignore: Iterable[str] = ()) -> list[tuple[str, Share]]:
    """Domains where exactly one member holds a strong tie: (domain, that member's most
    recent strong share there), the domains in alphabetical order. Personal mail
    providers and the `ignore`d domains (the team's own) are no organisation to widen."""
    skip = PUBLIC_MAIL | {d.lower() for d in ignore}
    holders: dict[str, dict[int, Share]] = {}
    for s in shares:
        if s.band != 3 or domain_of(s.address) in skip:
            continue
        per = holders.setdefault(domain_of(s.address), {})
        if s.user_id not in per or _key(s) < _key(per[s.user_id]):
            per[s.user_id] = s
    return sorted(
        ((domain, next(iter(per.values()))) for domain, per in holders.items() if len(per) == 1),
        key=lambda item: item[0],
    )


def band_name(band: int) -> str:
    return BANDS[band]


def month_text(month: date | None) -> str | None:
    """YYYY-MM, formatted by hand (strftime took 3.5 ms for 500 months, this 0.9 ms)."""
    return f"{month.year:04d}-{month.month:02d}" if month else None
