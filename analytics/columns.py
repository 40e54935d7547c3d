"""Exchange records as numpy columns, and who is on each exchange as rows.

The records are walked once per field here (`numpy.fromiter`), so that the frame and the
awaiting timeline, which both read them, work on arrays and walk them once between them.
Nothing is reordered: row i of an exchange column is exchanges[i].
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from itertools import chain, repeat
from operator import attrgetter, is_

import numpy as np
from numpy.typing import NDArray

from analytics.records import USER, Exchange


def unique_keys(keys: NDArray[np.int64]) -> NDArray[np.int64]:
    """`np.unique(keys)` for integer keys, by sorting. numpy 2.4's unique hashes integers,
    and on the structured keys built here (contact * 1_000_000 + day and the like) that takes
    seconds per call on a big mailbox where a sort takes milliseconds. Same result."""
    ordered = np.sort(keys)
    if len(ordered) < 2:
        return ordered
    keep = np.empty(len(ordered), dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def places(ids: NDArray[np.int64], values: NDArray[np.int64]) -> NDArray[np.int64]:
    """`np.searchsorted(ids, values)` for sorted, distinct integer `ids` that hold every
    value: where each value is in `ids`. Through a lookup table when the ids span no more
    than a few times as many numbers as there are values (person ids do), which reads each
    value once instead of searching for it; by searching otherwise."""
    if not len(ids) or not len(values):
        return np.searchsorted(ids, values)
    low, span = int(ids[0]), int(ids[-1]) - int(ids[0]) + 1
    if span > 4 * len(values) + 1024:
        return np.searchsorted(ids, values)
    table = np.zeros(span, np.int64)
    table[ids - low] = np.arange(len(ids))
    return table[values - low]


def group_max(c: NDArray[np.int64], v: NDArray[np.float64], k: int, empty: float = -np.inf) -> NDArray[np.float64]:
    """Per index 0..k-1: the largest `v` among the rows with that `c` (`empty`: none).
    `np.maximum.at` by another road: rows grouped by `c` (the frame's order) are reduced a
    run at a time, several times faster; other rows take `np.maximum.at`. The same result."""
    return _group_reduce(np.maximum, c, v, k, empty)


def group_min(c: NDArray[np.int64], v: NDArray[np.float64], k: int, empty: float = np.inf) -> NDArray[np.float64]:
    """Per index 0..k-1: the smallest `v` among the rows with that `c` (`empty`: none)."""
    return _group_reduce(np.minimum, c, v, k, empty)


def _group_reduce(
    op: np.ufunc, c: NDArray[np.int64], v: NDArray[np.float64], k: int, empty: float
) -> NDArray[np.float64]:
    out = np.full(k, empty)
    if not len(c):
        return out
    if np.any(c[1:] < c[:-1]):
        op.at(out, c, v)
        return out
    starts = np.flatnonzero(np.r_[True, c[1:] != c[:-1]])
    out[c[starts]] = op(op.reduceat(v, starts), empty)
    return out


def codes(values: list[Hashable], n: int) -> NDArray[np.int64]:
    """Integer codes for hashable values, -1 for None: equal values, equal codes. Only
    equality of codes is ever used, so their numbering cannot make results depend on the
    input's order.

    Numbered through the values' hashes, sorted by numpy: twice as fast on a million
    thread ids as a dict (0.17 against 0.35-0.44 CPU-s). Values whose hashes are equal are
    compared; if any differ (a collision), the dict numbers them instead."""
    hashes = np.fromiter(map(hash, values), np.int64, n)
    order = np.argsort(hashes)
    ordered = hashes[order]
    new = np.r_[True, ordered[1:] != ordered[:-1]] if n else np.zeros(0, bool)
    again = np.flatnonzero(~new)
    if len(again) and list(map(values.__getitem__, order[again].tolist())) != list(
        map(values.__getitem__, order[again - 1].tolist())
    ):
        return _dict_codes(values, n)
    out = np.empty(n, np.int64)
    out[order] = np.cumsum(new) - 1
    if None in values:
        out[np.fromiter(map(is_, values, repeat(None)), bool, n)] = -1
    return out


def _dict_codes(values: list[Hashable], n: int) -> NDArray[np.int64]:
    lookup: dict[Hashable, int] = {None: -1}
    return np.fromiter((lookup.setdefault(v, len(lookup) - 1) for v in values), np.int64, n)


@dataclass(frozen=True)
class Columns:
    """Per exchange: `at`, `sender`, `meeting` and `email` (its kind), `duration` (0 when
    unset), `audience`, `others` (people on it besides the user), `thread` (codes, -1:
    none), `user_in_rec` and `user_in_cc` (the user among its recipients, on its Cc), `key`
    and `reply_to`. Per (exchange, person) on it, sender or recipient, each once, sorted by
    exchange then person: `row_ex`, `person`, `in_rec` (a recipient), `in_to` (a recipient
    not on the Cc)."""

    at: NDArray[np.float64]
    sender: NDArray[np.int64]
    meeting: NDArray[np.bool_]
    email: NDArray[np.bool_]
    duration: NDArray[np.float64]
    audience: NDArray[np.int64]
    others: NDArray[np.int64]
    thread: NDArray[np.int64]
    user_in_rec: NDArray[np.bool_]
    user_in_cc: NDArray[np.bool_]
    key: list[str | None]
    reply_to: list[str | None]
    row_ex: NDArray[np.int64]
    person: NDArray[np.int64]
    in_rec: NDArray[np.bool_]
    in_to: NDArray[np.bool_]

    def __len__(self) -> int:
        return len(self.at)

    @classmethod
    def of(cls, exchanges: Sequence[Exchange]) -> Columns:
        n = len(exchanges)
        # Each field read by a C-level map over the records, not a generator expression.
        at = np.fromiter(map(attrgetter("at"), exchanges), np.float64, n)
        kind = list(map(attrgetter("kind"), exchanges))
        meeting = np.fromiter(map("meeting".__eq__, kind), bool, n)
        email = np.fromiter(map("email".__eq__, kind), bool, n)
        sender = np.fromiter(map(attrgetter("sender"), exchanges), np.int64, n)
        durations = list(map(attrgetter("duration_s"), exchanges))
        if None in durations:  # unset: 0
            durations = [d or 0.0 for d in durations]
        duration = np.fromiter(durations, np.float64, n)
        del durations
        audience = np.fromiter(map(attrgetter("audience"), exchanges), np.int64, n)
        recipients = list(map(attrgetter("recipients"), exchanges))
        n_rec = np.fromiter(map(len, recipients), np.int64, n)
        rec = np.fromiter(chain.from_iterable(recipients), np.int64, int(n_rec.sum()))
        ccs = list(map(attrgetter("cc"), exchanges))
        n_cc = np.fromiter(map(len, ccs), np.int64, n)
        cc = np.fromiter(chain.from_iterable(ccs), np.int64, int(n_cc.sum()))
        del recipients, ccs
        cc_ex = np.repeat(np.arange(n), n_cc)
        user_in_cc = np.zeros(n, bool)
        user_in_cc[cc_ex[cc == USER]] = True

        # (exchange, person) packed in one int, people as codes 0..m-1 so that any ids fit.
        ids = unique_keys(np.r_[sender, rec, cc, USER])
        m = len(ids)
        role = np.r_[np.zeros(n, np.int64), np.ones(len(rec), np.int64)]  # 1: a recipient
        key = (np.r_[np.arange(n), np.repeat(np.arange(n), n_rec)] * m + places(ids, np.r_[sender, rec])) * 2
        packed = np.sort(key + role)
        # Each (exchange, person) once; the last of its run says whether any was a recipient.
        last = np.r_[(packed[1:] >> 1) != (packed[:-1] >> 1), True] if len(packed) else np.zeros(0, bool)
        row = packed[last] >> 1
        in_rec = (packed[last] & 1) == 1
        row_ex, person = row // m, ids[row % m]
        cc_rows = unique_keys(cc_ex * m + places(ids, cc))
        at_cc = np.searchsorted(cc_rows, row)
        in_cc = np.zeros(len(row), bool)
        inside = at_cc < len(cc_rows)
        in_cc[inside] = cc_rows[at_cc[inside]] == row[inside]
        user_in_rec = np.zeros(n, bool)
        user_in_rec[row_ex[(person == USER) & in_rec]] = True
        return cls(
            at=at,
            sender=sender,
            meeting=meeting,
            email=email,
            duration=duration,
            audience=audience,
            others=np.bincount(row_ex[person != USER], minlength=n),
            thread=codes(list(map(attrgetter("thread"), exchanges)), n),
            user_in_rec=user_in_rec,
            user_in_cc=user_in_cc,
            key=list(map(attrgetter("key"), exchanges)),
            reply_to=list(map(attrgetter("reply_to"), exchanges)),
            row_ex=row_ex,
            person=person,
            in_rec=in_rec,
            in_to=in_rec & ~in_cc,
        )
