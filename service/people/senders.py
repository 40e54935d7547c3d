"""Who sent the user's mail: is the user among them, and which other addresses are theirs.

An import with the wrong own address (`--address me@example.org` for a mailbox that never
sends from it) makes every message incoming: no tie is two-way and the table stays empty.
`check` notices it ("none of the 521 messages was sent from ...") and names the address
on the most messages, the likely owner; the CLI prints it after an import and the dashboard
shows it. `learn_aliases` adds the user's other addresses, as the identity rules do for a
provider's sendAs list: a sender on the same domain as one of the user's own addresses,
either with the same display name ("Robert Badeer") or with the usual short form of it as
its local part (`rbadeer@` beside `robert.badeer@`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from ingest import identity

from ..db import rows as _rows
from .own import add_own_addresses, own_addresses


@dataclass(frozen=True)
class SenderCheck:
    messages: int  # email interactions held for the user
    from_user: bool  # at least one was sent from an own address
    own: tuple[str, ...]  # the user's addresses, as given
    top_sender: str | None = None  # the address on the most messages, when none is the user's
    top_count: int = 0  # how many messages it is on

    @property
    def wrong_address(self) -> bool:
        return self.messages > 0 and not self.from_user and self.top_sender is not None

    def warning(self, *, cli: bool) -> str | None:
        """The sentence to show, or None when the mail looks like the user's."""
        if not self.wrong_address:
            return None
        mine = " or ".join(self.own[:3]) or "your address"
        message = "message" if self.messages == 1 else "messages"
        if self.messages == 1:
            head = f"The one message held was not sent from {mine}"
        else:
            head = f"None of the {self.messages} {message} was sent from {mine}"
        tail = (
            f"pass --address {self.top_sender} to `kith import` if that is you"
            if cli
            else "if that is you, add it as your address and import again"
        )
        return (
            f"{head}; the address on most of them is {self.top_sender} ({self.top_count} of {self.messages}): "
            f"{tail}. Until then every message counts as received, and no tie can be two-way."
        )


def check(conn, user_id: int) -> SenderCheck:
    """Whether the user sent any of their mail; the likeliest owner when not."""
    messages = conn.execute(
        "SELECT count(*) FROM interactions WHERE user_id = %s AND kind = 'email' AND NOT is_draft", (user_id,)
    ).fetchone()[0]
    own = own_addresses(conn, user_id)
    given = tuple(
        r[0]
        for r in _rows(
            conn,
            "SELECT address FROM user_addresses WHERE user_id = %s AND source = 'given' ORDER BY address",
            (user_id,),
        )
    )
    if not messages:
        return SenderCheck(0, False, given)
    forms = sorted(own | {a.lower() for a in own})
    mine = conn.execute(
        "SELECT 1 FROM participants WHERE user_id = %s AND role = 'from' AND address = ANY(%s) LIMIT 1",
        (user_id, forms),
    ).fetchone()
    if mine is not None:
        return SenderCheck(messages, True, given)
    # The owner of a mailbox is on nearly every message in it, sent or received: the
    # address on the most messages names them better than the busiest sender does.
    top = conn.execute(
        "SELECT p.address, count(DISTINCT p.interaction_id) FROM participants p "
        "JOIN interactions i ON i.id = p.interaction_id "
        "WHERE p.user_id = %s AND i.kind = 'email' AND NOT i.is_draft "
        "GROUP BY p.address ORDER BY 2 DESC, p.address LIMIT 1",
        (user_id,),
    ).fetchone()
    return SenderCheck(messages, False, given, top[0] if top else None, int(top[1]) if top else 0)


def short_forms(address: str) -> set[str]:
    """Local parts that are the usual short forms of a `first.last` address: rbadeer, robertbadeer."""
    key = identity.local_key(address)
    if not key:
        return set()
    words = key.split()
    first, last = words[0], words[-1]
    return {first[0] + last, first + last, first[0] + "." + last, first + "_" + last}


def aliases(senders: list[tuple[str, str | None]], own: set[str]) -> set[str]:
    """Sender addresses that are the user's too (pure: (address, display name) pairs in)."""
    own_names: dict[str, set[str]] = defaultdict(set)  # domain -> name keys of own senders
    own_short: dict[str, set[str]] = defaultdict(set)  # domain -> short local parts
    for address, name in senders:
        if identity.canonical(address) not in own:
            continue
        domain = identity.domain_of(address)
        if key := identity.name_key(name):
            own_names[domain].add(key)
        own_short[domain] |= short_forms(address)
    for address in own:
        own_short[identity.domain_of(address)] |= short_forms(address)
    found = set()
    for address, name in senders:
        canonical = identity.canonical(address)
        domain = identity.domain_of(address)
        if canonical in own:
            continue
        same_name = (key := identity.name_key(name)) is not None and key in own_names.get(domain, ())
        # A short form on a mail provider's domain may well be a namesake: names only there.
        same_short = not identity.is_shared_domain(domain) and identity.local_of(address) in own_short.get(domain, ())
        if same_name or same_short:
            found.add(canonical)
    return found


def learn_aliases(conn, user_id: int) -> set[str]:
    """Record the user's other sending addresses (source 'sent'); returns the new ones."""
    own = own_addresses(conn, user_id)
    senders = [
        (r[0], r[1])
        for r in _rows(
            conn,
            "SELECT address, max(name) FROM participants WHERE user_id = %s AND role = 'from' GROUP BY address",
            (user_id,),
        )
    ]
    new = aliases(senders, own)
    if new:
        add_own_addresses(conn, user_id, sorted(new), "sent")
    return new
