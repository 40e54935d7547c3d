"""What a team may know of a member's tie, and how teammates are ranked (pure: no I/O).

A shared tie is a band and a month, nothing else:

    band   how often the member and the contact have been in personal two-way contact
           (answered conversations and meetings) a month, over the longest recent
           stretch, up to two years, in which the tie kept a steady pace (the tie's
           `two_way_rate`): 3 strong (>= 3 a month), 2 medium (>= 0.9), 1 weak (less);
           one band lower when Kith flags the tie cooling or dormant; ties under Kith
           strength 15 are not shared. A snapshot written before ties kept that rate is
           banded by Kith strength: strong >= 88, medium >= 50, weak >= 15.
    month  the first day of the month of the last two-way contact, or None when the
           snapshot's 180-day ledger shows no exchange in both directions

`BAND_MEANING` says this, made of the same cuts, wherever a band is shown (the dashboard's
team page, the API's band fields, the help of `kith team who-knows` and `org`), so a reader
knows a band means the same for every teammate.

The band says how well the member knows the person, so it rests on how much the two have
dealt with each other, measured over as long a past as the tie has been steady: a tie
steady for two years is measured over two years, one that faded or began lately over its
recent, changed part. Kith's strength answers another question (the chance of two-way
contact within four weeks): it saturates for every tie in touch more than twice a month,
and it remembers a faded tie's past, so it ranks a cooling tie Kith has not flagged above
a steady one that is truly stronger now.

The cuts were chosen on fourteen teams of five synthetic worlds (seeds 2000-15004,
tests/support/team_study.py), never on the team tests/db/test_team_world.py measures
(seeds 1000-1004), by the share of shared contacts whose first-ranked teammate holds the
truly strongest tie (true strength: the two-way rate of the last 90 days,
ingest/sandbox/world). Over those 212 contacts: 151 (71.2%) with strength cut at 90/60,
158 (74.5%) at 88/50 (the best strength cuts of a grid 80-96 x 40-70), 166 (78.3%) with
the rate cut at 3 and 0.9 a month (the best of a grid 2-6 x 0.5-1.5; 2.5 ties with 3); with
the cuts chosen leaving each team out, 154 (72.6%) for strength and 164 (77.4%) for the
rate on the teams left out. Kith strength there reads (p10..p90): steady strong ties
94..99, steady medium ones (true 28-35) 48..68, cooling ones (true 15-27) 61..83, only 4%
of them flagged; many misses left are between teammates of one class (true 85 and 87),
which no band can order. Only the band leaves the member's data: the rate, the flag and
the strength decide it and are not shared. Three bands and a month cannot do much better
there: bands that were the world's true strength itself, at their best cuts, would score
181 of the 212 (85.4%); the misses left are mostly ties on band and month between ties
of one class, and ties whose mail shows the weaker one in touch as often
(`python -m tests.support.team_study causes`).

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

from ingest import identity

BANDS = {3: "strong", 2: "medium", 1: "weak"}
BOUNDS = ((88.0, 3), (50.0, 2), (15.0, 1))  # Kith strength, for snapshots without the rate
RATE_BOUNDS = ((3.0, 3), (0.9, 2))  # two-way contacts a month; below: weak
SHARED = 15.0  # the Kith strength under which a tie is not shared
FADING = frozenset(["cooling", "dormant"])  # Kith's flags of a tie weaker now than its strength


def _cut(value: float) -> str:
    return f"{value:g}"


# What a band means, the same for every teammate; shown wherever bands are (the dashboard's
# team page, the API's band fields, `kith team who-knows --help`), and made of the cuts
# above, so it says what band_of does.
BAND_MEANING = (
    "A band means the same for every teammate: how often they and the contact have been in "
    "personal two-way contact (answered conversations, and meetings, with at most two other "
    "people in them) over the longest recent stretch, up to two years, in which the tie kept "
    f"a steady pace: strong {_cut(RATE_BOUNDS[0][0])} or more times a month, medium "
    f"{_cut(RATE_BOUNDS[1][0])} or more, weak less; one band lower when Kith marks the tie "
    "cooling or dormant. A tie whose latest score does not record that pace (one scored by "
    f"an older version of Kith) is banded by its Kith strength instead (strong {_cut(BOUNDS[0][0])} "
    f"or more, medium {_cut(BOUNDS[1][0])} or more)."
)
TWO_WAY_KEYS = ("replies_by_you", "replies_by_them", "meetings_you_organised", "meetings_they_organised")


def band_of(strength: float, flags: Iterable[str] | None = (), rate: float | None = None) -> int | None:
    """The band of a tie of that strength, flags and steady two-way rate (contacts a
    month; None for a snapshot that did not keep it: the strength decides), or None for a
    tie too weak to share (a cooling or dormant tie is one band lower: a weak one is then
    not shared)."""
    if strength < SHARED:
        return None
    if rate is None:
        band = next(b for bound, b in BOUNDS if strength >= bound)
    else:
        band = next((b for bound, b in RATE_BOUNDS if rate >= bound), 1)
    if FADING.intersection(flags or ()):
        return band - 1 or None
    return band


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
# contact and whether the snapshot kept it (older snapshots did not), then the steady
# two-way rate (None when the snapshot did not keep it)
Tie = tuple


def shares_of(user_id: int, ties: Iterable[Tie]) -> list[Share]:
    """A member's shares from their stored ties (strength, addresses, last interaction,
    ledger, flags, and the optional fields of `Tie`); an address in two ties keeps the
    stronger band."""
    best: dict[str, Share] = {}
    for strength, addresses, last, ledger, flags, *kept in ties:
        rate = kept[2] if len(kept) >= 3 and isinstance(kept[2], int | float) else None
        band = band_of(float(strength), flags, rate)
        if band is None:
            continue
        if len(kept) >= 2 and kept[1]:
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
    skip = {d.lower() for d in ignore}
    holders: dict[str, dict[int, Share]] = {}
    for s in shares:
        domain = domain_of(s.address)
        if s.band != 3 or domain in skip or identity.is_free_mail(domain):
            continue
        per = holders.setdefault(domain, {})
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
