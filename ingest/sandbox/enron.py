"""Real Enron email metadata (../shared/data/enron-igraph) turned into an importer's input.

`employee_mbox(data_dir, person_id)` writes one employee's part of the data — every
message they sent or received — as an mbox of headers, so the ordinary importer, people
resolution and scorer run on real behaviour. Rows sharing sender and time are one
message; the 1979 rows are kept and left to the importer's date checks (it quarantines
them, with the reason).
"""

from __future__ import annotations

import csv
import hashlib
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime
from pathlib import Path


@dataclass(frozen=True)
class EnronPerson:
    id: int
    address: str
    name: str | None
    title: str | None


@dataclass(frozen=True)
class EnronMessage:
    sender: int
    at: datetime
    to: tuple[int, ...]
    cc: tuple[int, ...]
    bcc: tuple[int, ...]


def load_people(data_dir: Path) -> dict[int, EnronPerson]:
    people = {}
    with open(Path(data_dir) / "people.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            name = None if row["name"] in ("", "NA") else row["name"]
            title = None if row["note"] in ("", "NA") else row["note"]
            people[int(row["id"])] = EnronPerson(int(row["id"]), f"{row['email']}@enron.com", name, title)
    return people


def load_messages(data_dir: Path) -> list[EnronMessage]:
    """Group recipient rows into messages: one message per (sender, time)."""
    grouped: dict[tuple[int, str], dict[str, list[int]]] = defaultdict(lambda: {"to": [], "cc": [], "bcc": []})
    with open(Path(data_dir) / "edges.csv", newline="") as fh:
        for row in csv.DictReader(fh):
            bucket = grouped[(int(row["sender_id"]), row["time"])][row["recipient_type"]]
            rid = int(row["recipient_id"])
            if rid not in bucket:
                bucket.append(rid)
    messages = []
    for (sender, stamp), roles in grouped.items():
        at = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)
        messages.append(EnronMessage(sender, at, tuple(roles["to"]), tuple(roles["cc"]), tuple(roles["bcc"])))
    messages.sort(key=lambda m: (m.at, m.sender))
    return messages


def ego_messages(messages: list[EnronMessage], person_id: int) -> list[EnronMessage]:
    """What one employee's mailbox holds: messages they sent or received."""
    return [
        m for m in messages if m.sender == person_id or person_id in m.to or person_id in m.cc or person_id in m.bcc
    ]


def _addr(person: EnronPerson) -> str:
    return f'"{person.name}" <{person.address}>' if person.name else f"<{person.address}>"


def employee_mbox(data_dir: Path, person_id: int, out: Path) -> int:
    """Write the employee's messages as a headers-only mbox; returns how many."""
    people = load_people(data_dir)
    mine = ego_messages(load_messages(data_dir), person_id)
    with open(out, "w", encoding="utf-8") as fh:
        for m in mine:
            key = f"{m.sender}-{m.at.isoformat()}-{m.to}-{m.cc}".encode()
            mid = hashlib.sha1(key).hexdigest()[:20] + "@enron.example"
            labels = "Sent" if m.sender == person_id else "Inbox"
            fh.write(f"From {people[m.sender].address} {m.at.strftime('%a %b %d %H:%M:%S %Y')}\n")
            fh.write(f"Message-ID: <{mid}>\n")
            fh.write(f"Date: {format_datetime(m.at)}\n")
            fh.write(f"From: {_addr(people[m.sender])}\n")
            for header, ids in (("To", m.to), ("Cc", m.cc), ("Bcc", m.bcc)):
                if ids:
                    fh.write(f"{header}: " + ", ".join(_addr(people[i]) for i in ids) + "\n")
            fh.write(f"X-Gmail-Labels: {labels}\n\n")
    return len(mine)
