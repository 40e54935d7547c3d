"""A generated mbox of a mailbox that stopped in August 2000 (for the ended-mailbox tests).

Three correspondents of clearly different strength, named so that alphabetical order is
the reverse of strength: Zed writes every week, Mia every month, Amy twice. Every message
is answered by the owner, `ME`, from that address (or from `ALIAS` when asked), so ties are
two-way. No X-Gmail-Labels: like a mailbox converted from another client.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path

ME = "robert.badeer@enron.com"
ALIAS = "rbadeer@enron.com"
LAST = datetime(2000, 8, 14, 16, 30, tzinfo=timezone.utc)
PEOPLE = {  # address: (name, days between exchanges, days before LAST of the latest one)
    "zed.young@enron.com": ("Zed Young", 7, 0),
    "mia.costa@enron.com": ("Mia Costa", 30, 20),
    "amy.adams@enron.com": ("Amy Adams", 200, 60),
}


def _message(n: int, sender: str, name: str, to: str, at: datetime, reply_to: str | None = None) -> str:
    lines = [
        f"From {sender} {at:%a %b %d %H:%M:%S %Y}",
        f"Message-ID: <m{n}@old.example>",
        f"Date: {format_datetime(at)}",
        f'From: "{name}" <{sender}>',
        f"To: {to}",
        "Subject: catching up",
    ]
    if reply_to:
        lines.append(f"In-Reply-To: <{reply_to}>")
    return "\n".join(lines) + "\n\nbody\n\n"


def write_old_mbox(path: Path, *, alias_every: int = 0) -> int:
    """Write the mbox; every `alias_every`-th reply comes from ALIAS. Returns the message count."""
    out, n = [], 0
    start = datetime(1999, 6, 1, 9, 0, tzinfo=timezone.utc)
    for address, (name, every, before) in PEOPLE.items():
        at = LAST - timedelta(days=before, hours=3)
        times = []
        while at >= start:
            times.append(at)
            at -= timedelta(days=every)
        for when in sorted(times):
            n += 1
            first = f"m{n}@old.example"
            out.append(_message(n, address, name, ME, when))
            n += 1
            mine = ALIAS if alias_every and n % alias_every == 0 else ME
            out.append(_message(n, mine, "Robert Badeer", address, min(when + timedelta(hours=2), LAST), first))
    path.write_text("".join(out))
    return n
