"""Exchange records as numpy columns, and who is on each exchange as rows.

The records are walked once per field here (`numpy.fromiter`), so code that would loop over
every exchange in Python can work on arrays instead. Nothing is reordered: row i of an
exchange column is exchanges[i].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

import numpy as np
from numpy.typing import NDArray

from analytics.frame import unique_keys
from analytics.records import USER, Exchange


@dataclass(frozen=True)
class Columns:
    """Per exchange: `at`, `sender`, `meeting`, `email` (its kind), `size` (Exchange.size()),
    `user_in_rec` and `user_in_cc` (the user among its recipients, on its Cc), `reply_to`;
    per (exchange, person) on it, sender or recipient, each once: `row_ex`, `person`,
    `in_to` (a recipient not on the Cc). `user_keys`: the keys of the user's mail."""

    at: NDArray[np.float64]
    sender: NDArray[np.int64]
    meeting: NDArray[np.bool_]
    email: NDArray[np.bool_]
    size: NDArray[np.int64]
    user_in_rec: NDArray[np.bool_]
    user_in_cc: NDArray[np.bool_]
    reply_to: list[str | None]
    row_ex: NDArray[np.int64]
    person: NDArray[np.int64]
    in_to: NDArray[np.bool_]
    user_keys: set[str]

    @classmethod
    def of(cls, exchanges: Sequence[Exchange]) -> Columns:
        n = len(exchanges)
        at = np.fromiter((x.at for x in exchanges), np.float64, n)
        kind = [x.kind for x in exchanges]
        meeting = np.fromiter((k == "meeting" for k in kind), bool, n)
        email = np.fromiter((k == "email" for k in kind), bool, n)
        sender = np.fromiter((x.sender for x in exchanges), np.int64, n)
        audience = np.fromiter((x.audience for x in exchanges), np.int64, n)
        n_rec = np.fromiter((len(x.recipients) for x in exchanges), np.int64, n)
        rec = np.fromiter(chain.from_iterable(x.recipients for x in exchanges), np.int64, int(n_rec.sum()))
        n_cc = np.fromiter((len(x.cc) for x in exchanges), np.int64, n)
        cc = np.fromiter(chain.from_iterable(x.cc for x in exchanges), np.int64, int(n_cc.sum()))
        cc_ex = np.repeat(np.arange(n), n_cc)
        user_in_cc = np.zeros(n, bool)
        user_in_cc[cc_ex[cc == USER]] = True

        # People as codes 0..m-1 (any int ids), so (exchange, person) packs into one int.
        ids = unique_keys(np.r_[sender, rec, cc, USER])
        m = len(ids)
        role = np.r_[np.zeros(n, np.int64), np.ones(len(rec), np.int64)]  # 1: a recipient
        key = (np.r_[np.arange(n), np.repeat(np.arange(n), n_rec)] * m + np.searchsorted(ids, np.r_[sender, rec])) * 2
        packed = np.sort(key + role)
        # Each (exchange, person) once; the last of its run says whether any was a recipient.
        last = np.r_[(packed[1:] >> 1) != (packed[:-1] >> 1), True] if len(packed) else np.zeros(0, bool)
        row = packed[last] >> 1
        in_rec = (packed[last] & 1) == 1
        row_ex, person = row // m, ids[row % m]
        cc_rows = unique_keys(cc_ex * m + np.searchsorted(ids, cc))
        at_cc = np.searchsorted(cc_rows, row)
        in_cc = np.zeros(len(row), bool)
        inside = at_cc < len(cc_rows)
        in_cc[inside] = cc_rows[at_cc[inside]] == row[inside]

        others = np.bincount(row_ex[person != USER], minlength=n)
        size = np.where(audience != 0, audience, np.maximum(others, 1))
        user_in_rec = np.zeros(n, bool)
        user_in_rec[row_ex[(person == USER) & in_rec]] = True
        user_keys = {x.key for x in exchanges if x.sender == USER and x.kind == "email" and x.key}
        return cls(
            at=at,
            sender=sender,
            meeting=meeting,
            email=email,
            size=size,
            user_in_rec=user_in_rec,
            user_in_cc=user_in_cc,
            reply_to=[x.reply_to for x in exchanges],
            row_ex=row_ex,
            person=person,
            in_to=in_rec & ~in_cc,
            user_keys=user_keys,
        )
