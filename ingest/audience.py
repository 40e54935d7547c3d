"""The audience of a message: who of a big one is kept, and how many there really were.

    kept = bound_audience(participants, own=("me@x.org",))
    kept.participants  # all of them, or (above the cap) the authors and the user's own lines
    kept.count         # distinct addresses when more than those kept (Interaction.audience)

One message to 100,000 addresses is a broadcast, not 100,000 relationships: the noise filter
leaves out any mail to more than `noise.RECIPIENT_CAP` recipients whoever they are, so
storing every address only costs rows, people and time, and says nothing more. Above
`AUDIENCE_CAP` distinct addresses (an author plus the recipient cap: every message over it
is a broadcast whatever the roles) only what later steps still read is kept: the author
(`from`/`organizer`), who the noise filter names as the one who sent it, and each line of
the user's own address with its role (to, cc, bcc...), so the message is still known as
delivered to the user; the true number of distinct addresses travels as `count` and is
stored as the interaction's `n_participants`.

`participants` may be a lazy iterable: past the cap nothing is held but the kept lines and
one 8-byte hash per address (to count distinct ones), so a parser that yields lazily keeps
memory flat whatever the header holds. The order of kept lines is the order given.
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from collections.abc import Collection, Iterable

from .identity import canonical, untagged
from .noise import RECIPIENT_CAP
from .records import Participant

__all__ = ["AUDIENCE_CAP", "Audience", "bound_audience", "own_forms"]

AUDIENCE_CAP = RECIPIENT_CAP + 1
_AUTHOR_ROLES = frozenset({"from", "organizer"})
# Authors kept of an over-cap item: a From header naming thousands is itself the attack.
_MAX_AUTHORS = 8


@dataclass(frozen=True, slots=True)
class Audience:
    participants: tuple[Participant, ...]
    count: int | None  # distinct addresses, when more than the kept participants hold


def own_forms(own: Iterable[str]) -> frozenset[str]:
    """The user's addresses as `is_own` compares them (canonical and as given, lower-cased)."""
    forms = set()
    for a in own:
        if a and a.strip():
            forms.add(a.strip().lower())
            forms.add(canonical(a))
    return frozenset(forms)


def _domain(address: str) -> str:
    return address.rpartition("@")[2]


class _Own:
    """Is an address the user's? Canonical spelling and sub-addresses (you+tag@) count, as in
    service.people; the domain is checked first, since canonicalising 100,000 strangers costs."""

    def __init__(self, own: Collection[str]):
        self.forms = own if isinstance(own, frozenset) else own_forms(own)
        self.domains = {_domain(a) for a in self.forms}
        # Gmail spells one mailbox on two domains; canonical() maps one to the other.
        if self.domains & {"gmail.com", "googlemail.com"}:
            self.domains |= {"gmail.com", "googlemail.com"}

    def __call__(self, address: str) -> bool:
        if address in self.forms:
            return True
        if _domain(address) not in self.domains:
            return False
        canon = canonical(address)
        return canon in self.forms or untagged(canon) in self.forms


def bound_audience(participants: Iterable[Participant], own: Collection[str] = (), cap: int = AUDIENCE_CAP) -> Audience:
    """The participants to store (one per address and role, first seen wins) and, when some
    were dropped, the number of distinct addresses there were (see the module docstring)."""
    is_own: _Own | None = None  # only needed past the cap: most mail never builds it
    kept: dict[tuple[str, str], Participant] = {}
    distinct: set[str] = set()
    hashes: array[int] | None = None  # past the cap: one hash per address line, counted at the end
    authors = 0
    for p in participants:
        if hashes is None:
            kept.setdefault((p.address, p.role), p)
            distinct.add(p.address)
            if len(distinct) > cap:
                hashes = array("q", (hash(a) for a in distinct))
                distinct = set()
                is_own = _Own(own)
                kept, authors = _trim(kept, is_own)
            continue
        hashes.append(hash(p.address))
        key = (p.address, p.role)
        if key in kept:
            continue
        if p.role in _AUTHOR_ROLES and authors < _MAX_AUTHORS:
            kept[key] = p
            authors += 1
        elif is_own is not None and is_own(p.address):
            kept[key] = p
    if hashes is None:
        return Audience(tuple(kept.values()), None)
    return Audience(tuple(kept.values()), _count_distinct(hashes))


def _trim(kept: dict[tuple[str, str], Participant], is_own: _Own) -> tuple[dict[tuple[str, str], Participant], int]:
    out: dict[tuple[str, str], Participant] = {}
    authors = 0
    for key, p in kept.items():
        if p.role in _AUTHOR_ROLES and authors < _MAX_AUTHORS:
            out[key] = p
            authors += 1
        elif is_own(p.address):
            out[key] = p
    return out, authors


def _count_distinct(hashes: array[int]) -> int:
    # Sorting 8-byte hashes in numpy costs a fraction of a set of Python ints (~60 bytes each).
    # Two addresses sharing a 64-bit SipHash would count once: far below any cap that matters.
    import numpy as np

    return int(np.unique(np.frombuffer(hashes, dtype=np.int64)).size)
