"""Who each raw address in the user's mail is, worked out once per address: the user, a
known person (and whether a rule or a robot-looking address says to leave them out), or
nobody yet. Used by assembly.py and non_ties.py.
"""

from __future__ import annotations

from collections import Counter

from analytics.records import USER
from ingest import identity, noise

SMALL_MEETING = 3  # others in a meeting small enough to count as meeting someone


def is_own(canon: str, own: set[str]) -> bool:
    """Whether a canonical address is the user (the SQL modules ask it too)."""
    # The user's own sub-addresses (you+news@...) are the user on any domain.
    return canon in own or identity.untagged(canon) in own


# (person id or None, robot reason or None, the deciding rule's (action, reason) or None)
_Hit = tuple[int | None, str | None, tuple[str, str] | None]


class _Book(dict[str, _Hit]):
    """raw address -> (person id, robot reason, rule verdict), worked out on first use."""

    def __init__(self, person_of: dict[str, int], own: set[str], rules: noise.Rules):
        super().__init__()
        self.person_of, self.own, self.rules = person_of, own, rules
        self.unknown: set[str] = set()
        # (raw address, reason) -> interactions left out that this address was merely on.
        self.collateral: Counter = Counter()

    def __missing__(self, raw: str) -> _Hit:
        canon = identity.canonical(raw)
        hit: _Hit
        if is_own(canon, self.own):
            hit = (USER, None, None)
        else:
            pid = self.person_of.get(raw, self.person_of.get(canon))
            if pid is None:
                self.unknown.add(raw)
            verdict = self.rules.verdict(canon) if self.rules else None
            hit = (pid, noise.address_reason(canon), verdict)
        self[raw] = hit
        return hit
