"""Leaving out what is not a relationship, across the whole mailbox (assembly.py's last
step): one-way senders, mailing lists, bystanders of large meetings, and the exchanges
whose only others were left out.
"""

from __future__ import annotations

from collections import Counter

from analytics.records import USER, Exchange
from ingest import noise

from .book import SMALL_MEETING, _Book

_LIST_REASONS = frozenset({noise.LIST_ID, noise.LIST_UNSUBSCRIBE, noise.PRECEDENCE.format(value="list")})


def _drop_non_ties(
    kept: list[Exchange], raw_sender: list, book: _Book, excluded: Counter, listy: set[int]
) -> list[Exchange]:
    """Leave out people who are in the data but not in a relationship with the user:
    list addresses (their own mail came with list headers, the user's mail to them is a
    post), people who only ever wrote and never got an answer, and bystanders only seen in
    someone else's group mail or in big meetings. The user's allow rule keeps anyone."""
    received: Counter = Counter()
    addressed: set[int] = set()
    met: set[int] = set()
    met_small: set[int] = set()
    spoke: set[int] = set()
    seen: set[int] = set()
    for x in kept:
        seen.add(x.sender)
        seen.update(x.recipients)
        if x.kind == "meeting":
            met.update((x.sender, *x.recipients))
            if x.audience <= SMALL_MEETING:
                met_small.update((x.sender, *x.recipients))
        elif x.sender == USER:
            addressed.update(x.recipients)
        else:
            spoke.add(x.sender)
            if USER in x.recipients:
                received[x.sender] += 1
    allowed = {pid for pid, _r, v in book.values() if pid is not None and v and v[0] == "allow"}
    drop: dict[int, str] = {}
    for pid in noise.one_way(received, addressed | met):
        drop[pid] = noise.ONE_WAY
    for pid in listy - spoke:
        drop[pid] = noise.LIST_ADDRESS
    bystander = noise.BYSTANDER.format(n=SMALL_MEETING + 2)
    for pid in seen - spoke - addressed - met_small - {USER}:
        drop.setdefault(pid, bystander)
    for pid in allowed:
        drop.pop(pid, None)
    if not drop:
        return kept
    address_of: dict[int, str] = {}
    for raw, (pid, _r, _v) in sorted(book.items()):
        if pid is not None:
            address_of.setdefault(pid, raw)
    out = []
    for x, raw in zip(kept, raw_sender):
        if x.sender in drop:
            excluded[(raw or address_of.get(x.sender, ""), x.sender, drop[x.sender])] += 1
            for p in x.recipients:
                if p != USER and p in address_of:
                    book.collateral[(address_of[p], drop[x.sender])] += 1
            continue
        gone = [p for p in x.recipients if p in drop]
        if gone:
            for p in gone:
                excluded[(address_of.get(p, ""), p, drop[p])] += 1
            recipients = tuple(p for p in x.recipients if p not in drop)
            if not ({x.sender, *recipients} - {USER}):
                continue
            x = _replace_recipients(x, recipients)
        out.append(x)
    return out


def _replace_recipients(x: Exchange, recipients: tuple[int, ...]) -> Exchange:
    return Exchange(
        at=x.at,
        kind=x.kind,
        sender=x.sender,
        recipients=recipients,
        thread=x.thread,
        key=x.key,
        reply_to=x.reply_to,
        duration_s=x.duration_s,
        audience=x.audience,
        cc=tuple(p for p in x.cc if p in recipients),
    )


def _without(kept: list[Exchange], leave_out: set[int]) -> list[Exchange]:
    if not leave_out:
        return kept
    out = []
    for x in kept:
        if x.sender in leave_out:
            continue
        recipients = tuple(p for p in x.recipients if p not in leave_out)
        if {x.sender, *recipients} - {USER}:
            out.append(x if len(recipients) == len(x.recipients) else _replace_recipients(x, recipients))
    return out
