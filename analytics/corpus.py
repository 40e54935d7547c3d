"""The Enron corpus as the backtests read it: messages, and one employee's mailbox.

`../shared/data/enron-igraph/edges.csv` holds one row per recipient (sender, recipient,
time, type). Rows sharing sender and time are one message; 174 rows carry a bogus 1979
date (a null timestamp in the source) and are set aside as `invalid`, counted, not used,
as are rows whose ids or time cannot be read. Another organisation's mail in the same form is read the same way; the months it spans
come from the mail itself (analytics/timeline.py).
Reading the CSV happens in `load_edges` only; the rest is pure.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray

from analytics.records import Exchange
from analytics.timeline import span

# Dates before 1985 are null or garbled timestamps (Enron's read 1979-12-31), not mail; stray
# dates later than that are left to the timeline's span, which trims sparse months.
VALID_FROM = datetime(1985, 1, 1, tzinfo=timezone.utc).timestamp()
VALID_UNTIL = datetime(9999, 12, 31, tzinfo=timezone.utc).timestamp()


@dataclass(frozen=True)
class Mail:
    """Messages: one per (sender, time), recipients as a CSR list."""

    sender: np.ndarray
    time: np.ndarray
    offsets: np.ndarray  # recipients of message i: recipients[offsets[i]:offsets[i+1]]
    recipients: np.ndarray
    invalid_rows: int = 0
    # The span of the corpus this mail was read from (analytics.timeline.span), kept through
    # cuts: None without mail.
    span: tuple[float, float] | None = None

    def __len__(self) -> int:
        return len(self.sender)


def messages(sender: ArrayLike, recipient: ArrayLike, time: ArrayLike) -> Mail:
    """Group recipient rows into messages; drop self-addressed rows and bogus dates."""
    sender = np.asarray(sender, np.int64)
    recipient = np.asarray(recipient, np.int64)
    time = np.asarray(time, np.float64)
    valid = np.isfinite(time) & (time >= VALID_FROM) & (time < VALID_UNTIL) & (sender >= 0) & (recipient >= 0)
    keep = valid & (sender != recipient)
    s, r, t = sender[keep], recipient[keep], time[keep]
    triples = np.unique(np.stack([s, t.astype(np.int64), r], axis=1), axis=0)
    s, t, r = triples[:, 0], triples[:, 1].astype(np.float64), triples[:, 2]
    new = np.r_[True, (s[1:] != s[:-1]) | (t[1:] != t[:-1])] if len(s) else np.zeros(0, bool)
    starts = np.flatnonzero(new)
    offsets = np.r_[starts, len(s)]
    return Mail(s[starts], t[starts], offsets, r, invalid_rows=int((~valid).sum()), span=span(t[starts]))


def ego_exchanges(mail: Mail, ego: int) -> list[Exchange]:
    """The ego's mailbox as Exchanges: the ego is person 0, employee k is person k + 1."""
    counts = np.diff(mail.offsets)
    owner = np.repeat(np.arange(len(mail)), counts)
    received = np.unique(owner[mail.recipients == ego])
    sent = np.flatnonzero(mail.sender == ego)
    out = []
    for i in np.union1d(sent, received).tolist():
        rec = mail.recipients[mail.offsets[i] : mail.offsets[i + 1]]
        people = tuple(0 if p == ego else int(p) + 1 for p in rec.tolist())
        s = int(mail.sender[i])
        out.append(Exchange(at=float(mail.time[i]), kind="email", sender=0 if s == ego else s + 1, recipients=people))
    return out


COLUMNS = ("sender_id", "recipient_id", "time")


MAX_PERSON = 1_000_000  # ids number the people from 0; a larger one is not read as an id
MAX_NAME = 320  # an id given as a name or address is read up to an address's longest


def _person(value: str | None) -> int:
    """A person id, or -1 when the field is not an integer from 0 to MAX_PERSON - 1."""
    text = (value or "").strip()
    return int(text) if text.isascii() and text.isdigit() and int(text[:8] or "0") < MAX_PERSON else -1


def _when(value: str | None) -> float:
    """Epoch seconds UTC from an ISO date-time (no zone: taken as UTC, as the Enron edition
    records it; with an offset: converted) or from epoch seconds; NaN when unreadable."""
    text = (value or "").strip()
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        epoch = text.isascii() and text.replace(".", "", 1).isdigit()
        return float(text) if epoch else float("nan")
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    try:
        return when.timestamp()
    except (ValueError, OverflowError):
        return float("nan")


def load_edges(folder: Path) -> tuple[NDArray[np.int_], NDArray[np.int_], NDArray[np.float64]]:
    """Read edges.csv into arrays (times as UTC epoch seconds). A row whose ids or time
    cannot be read is kept as (-1, -1, NaN), so `messages` counts it among the invalid rows
    and the rest of the file is still read; a file without the needed columns is refused.

    Ids are integers numbering the people from 0, as in the Enron edition. A file where
    most ids are not (addresses or names, as another organisation's export may carry) has
    its ids numbered instead: each distinct id, trimmed and case-folded, gets its place in
    their sorted order."""
    senders: list[str] = []
    recipients: list[str] = []
    t: list[float] = []
    with open(Path(folder) / "edges.csv", newline="", encoding="utf-8", errors="replace") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(
                f"{Path(folder) / 'edges.csv'} needs the columns {', '.join(COLUMNS)}; missing: {', '.join(missing)}"
            )
        for row in reader:
            senders.append(row["sender_id"] or "")
            recipients.append(row["recipient_id"] or "")
            t.append(_when(row["time"]))
    ids = senders + recipients
    read = _person if _numbered(ids) else _numbering(ids)
    s = [read(x) for x in senders]
    r = [read(x) for x in recipients]
    for i, (a, b, when) in enumerate(zip(s, r, t)):
        if a < 0 or b < 0 or not np.isfinite(when):
            s[i], r[i], t[i] = -1, -1, float("nan")
    return np.array(s, np.int64), np.array(r, np.int64), np.array(t, np.float64)


def _numbered(ids: list[str]) -> bool:
    """Whether the ids are integers (at least half of the non-empty ones read as such)."""
    given = [x for x in ids if x.strip()]
    return sum(_person(x) >= 0 for x in given) * 2 >= len(given)


def _numbering(ids: list[str]) -> Callable[[str], int]:
    """Ids that are names: each distinct one (trimmed, case-folded) numbered in sorted order."""
    index = {name: i for i, name in enumerate(sorted({_name(x) for x in ids} - {""}))}
    return lambda x: index.get(_name(x), -1)


def _name(value: str) -> str:
    text = value.strip().casefold()
    return text if text.isprintable() and len(text) <= MAX_NAME else ""


def data_folder(given: str | None) -> Path:
    if given:
        return Path(given)
    here = Path(__file__).resolve()
    for root in (here.parents[2], here.parents[3]):
        if (root / "shared/data/enron-igraph/edges.csv").exists():
            return root / "shared/data/enron-igraph"
    return here.parents[2] / "shared/data/enron-igraph"


def people(mail: Mail) -> range:
    """Every person id the mail can name: 0 to the highest id on any message (184 people in
    the Enron edition; another organisation's mail in the same form brings its own count)."""
    top = max(int(mail.sender.max(initial=-1)), int(mail.recipients.max(initial=-1)))
    return range(top + 1)


# The pooled models (the yardstick's fold priors and logistic) learn from at most this many
# people with 20 exchanges or more, taken in the hashed order of `sample_egos`. On the
# Enron edition that is all of them (132 of the 145 development people); on a large
# organisation's mail it bounds the cost (3,000 people would pool thousands of mailboxes).
PRIOR_POOL = 400


def prior_pool(mail: Mail, employees: Sequence[int]) -> list[int]:
    """The people whose own mail fits the pooled models: up to PRIOR_POOL with enough mail."""
    return sample_egos(mail, employees, PRIOR_POOL, min_exchanges=20)


def sample_egos(mail: Mail, employees: Sequence[int], n: int, *, min_exchanges: int = 50) -> list[int]:
    """n employees with enough mail, in a fixed hashed order (not by volume or id)."""
    counts = np.bincount(mail.sender, minlength=max(employees) + 1)
    owner = np.repeat(np.arange(len(mail)), np.diff(mail.offsets))
    for e in employees:
        counts[e] += len(np.unique(owner[mail.recipients == e]))
    ok = [e for e in employees if counts[e] >= min_exchanges]
    ok.sort(key=lambda e: hashlib.sha256(f"kith-sample-v1:{e}".encode()).hexdigest())
    return ok[:n]
