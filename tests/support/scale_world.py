"""Many users on the emulators: what tests/workers/test_scale.py, tests/workers/test_queues.py and
tests/bench/bench_scale.py seed and connect.

- seeding: a mailbox of N messages (some in threads, inbox and sent) and a calendar of E
  meetings per address, straight through the emulators' own data classes (a synthetic
  world per user would cost seconds each; 200 users must seed in seconds);
- `RecordingQuota`: the Google emulator's quota book that also keeps every charge, so a
  test can say how many units per second each mailbox really received;
- accounts connected as the product connects them (stored, encrypted credentials).
"""

from __future__ import annotations

import random
import time
from bisect import bisect_left
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

from ingest.sandbox.google.calendars import StoredEvent
from ingest.sandbox.google.limits import QuotaBook

UTC = timezone.utc


# --- seeding ------------------------------------------------------------------------------


def _contacts(rng: random.Random, n: int = 40) -> list[tuple[str, str]]:
    return [(f"Contact {i}", f"c{i}.{rng.randrange(10**6)}@example.org") for i in range(n)]


def _dates(rng: random.Random, n: int, now: datetime, days: int = 300) -> list[datetime]:
    start = now - timedelta(days=days)
    return sorted(start + timedelta(seconds=rng.randrange(days * 86400)) for _ in range(n))


def seed_google(emu, address: str, messages: int, events: int, seed: int, now: datetime | None = None) -> None:
    """A Gmail mailbox of `messages` (a third in threads of 2-3) and `events` meetings."""
    now = now or datetime.now(UTC)
    rng = random.Random(seed)
    mailbox = emu.add_account(address, name=f"User {seed}")
    people = _contacts(rng)
    thread, left = None, 0
    for n, when in enumerate(_dates(rng, messages, now)):
        if left == 0:
            thread, left = f"t{seed:04x}{n:06x}", rng.choice((1, 1, 1, 1, 2, 3))
        left -= 1
        other = rng.choice(people)
        sent = rng.random() < 0.3
        sender, to = ((f"User {seed}", address), other) if sent else (other, (f"User {seed}", address))
        headers = [
            ("From", f"{sender[0]} <{sender[1]}>"),
            ("To", f"{to[0]} <{to[1]}>"),
            ("Subject", "scale"),
            ("Date", format_datetime(when)),
            ("Message-ID", f"<m{n}.{seed}@scale.example>"),
        ]
        mailbox.add(
            id=f"{seed:04x}{n:08x}",
            thread_id=thread,
            headers=headers,
            labels=["SENT"] if sent else ["INBOX"],
            internal_ms=int(when.timestamp() * 1000),
            record=False,
        )
    calendar = emu.calendar("primary", address)
    for n, when in enumerate(_dates(rng, events, now, days=200)):
        other = rng.choice(people)
        calendar.put(
            StoredEvent(
                id=f"ev{seed:04x}{n:05x}",
                ical_uid=f"ev{seed}.{n}@scale.example",
                start=when,
                end=when + timedelta(minutes=30),
                timezone="UTC",
                all_day=False,
                organizer=(f"User {seed}", address),
                attendees=((f"User {seed}", address, "accepted"), (other[0], other[1], "accepted")),
            )
        )


def seed_microsoft(emu, upn: str, messages: int, events: int, seed: int, now: datetime | None = None) -> None:
    """An Exchange mailbox of `messages` (inbox and sent items) and `events` meetings."""
    from ingest.sandbox.microsoft import graph_id
    from ingest.sandbox.microsoft.seed import event_json, message_json

    now = now or datetime.now(UTC)
    rng = random.Random(seed)
    mailbox = emu.add_mailbox(upn, f"User {seed}")
    people = _contacts(rng)
    for n, when in enumerate(_dates(rng, messages, now)):
        other = rng.choice(people)
        sent = rng.random() < 0.3
        folder = "sentitems" if sent else "inbox"
        sender, to = ((mailbox.display_name, upn), other) if sent else (other, (mailbox.display_name, upn))
        item_id = graph_id("message", f"{upn}/{n}")
        body = message_json(
            mailbox,
            item_id=item_id,
            folder=folder,
            sender=sender,
            to=(to,),
            date=when,
            conversation_id=graph_id("conversation", f"{upn}/{n // 2}"),
            message_id=f"m{n}.{seed}@scale.example",
        )
        mailbox.put(item_id, f"mail:{body['parentFolderId']}", body)
    for n, when in enumerate(_dates(rng, events, now, days=200)):
        other = rng.choice(people)
        item_id = graph_id("event", f"{upn}/{n}")
        mailbox.put(
            item_id,
            "calendar",
            event_json(
                item_id=item_id,
                ical_uid=f"ev{seed}.{n}@scale.example",
                subject="scale",
                start=when,
                end=when + timedelta(minutes=30),
                zone="UTC",
                all_day=False,
                organizer=(mailbox.display_name, upn),
                attendees=[(other[0], other[1], "accepted")],
                cancelled=False,
                owner=upn,
            ),
        )


def google_expected(emu, address: str) -> dict[str, set[str]]:
    return {
        "gmail": emu.message_ids(address),
        "calendar:primary": {f"gcal:primary:{e}" for e in emu.event_ids("primary", address)},
    }


def microsoft_expected(emu, upn: str, now: datetime | None = None) -> dict[str, set[str]]:
    now = now or datetime.now(UTC)
    return {
        "mail:inbox": emu.message_ids(("inbox",), upn=upn),
        "mail:sentitems": emu.message_ids(("sentitems",), upn=upn),
        "calendar": emu.event_ids(now - timedelta(days=730), now + timedelta(days=90), upn=upn),
    }


# --- what the Google emulator charged, request by request ------------------------------------


class RecordingQuota(QuotaBook):
    """The emulator's quota book, also keeping (time, units) of every charge it allowed."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.charges: dict[str, list[tuple[float, int]]] = defaultdict(list)
        self.refusals: list[tuple[float, str]] = []

    def charge(self, user: str, api: str, method: str) -> float:
        wait = super().charge(user, api, method)
        if wait > 0:
            with self.lock:
                self.refusals.append((time.monotonic(), user))
        elif api == "gmail":
            from ingest.sandbox.google.limits import GMAIL_COSTS

            with self.lock:
                self.charges[user].append((time.monotonic(), GMAIL_COSTS.get(method, 5)))
        return wait

    def peak_units_per_second(self, user: str, window_s: float = 1.0) -> float:
        """The most units charged to `user` in any `window_s` seconds (sliding)."""
        with self.lock:
            charges = sorted(self.charges.get(user, ()))
        times = [t for t, _ in charges]
        sums = [0]
        for _, units in charges:
            sums.append(sums[-1] + units)
        best = 0
        for i, t in enumerate(times):
            j = bisect_left(times, t + window_s)
            best = max(best, sums[j] - sums[i])
        return best / window_s

    def refused(self, user: str) -> int:
        return self.used(user, "gmail").refused + self.used(user, "calendar").refused


def start_google(quota_scale: float, burst_s: float = 1.0):
    from ingest.sandbox.google import GoogleEmulator

    emu = GoogleEmulator(quota_scale=quota_scale, burst_s=burst_s)
    emu.quota = RecordingQuota(quota_scale=quota_scale, burst_s=burst_s)
    return emu


# --- accounts -----------------------------------------------------------------------------------


def add_user(db, email: str) -> tuple[int, str]:
    from service.auth import create_token
    from service.store import create_user

    with db.tx() as conn:
        user_id = create_user(conn, email)
        return user_id, create_token(conn, user_id, "scale-test")


def connect_google(db, settings, emu, user_id: int, address: str) -> int:
    """A Google account as the consent flow leaves it (refresh token stored encrypted)."""
    from ingest.google import SCOPES
    from service.providers.credentials import save_credentials
    from service.store import ensure_account

    with db.tx() as conn:
        account_id = ensure_account(conn, user_id, "google", address, scopes=list(SCOPES))
        save_credentials(
            conn,
            settings,
            account_id,
            {"refresh_token": emu.issue_refresh_token(address), "scopes": list(SCOPES), "address": address},
        )
    return account_id


def connect_microsoft(db, routed_settings, user_id: int, upn: str) -> int:
    """The real authorization-code flow (msal, PKCE) against the emulator, no browser."""
    from service.providers.microsoft import connect_headless

    return connect_headless(routed_settings, db, user_id, login_hint=upn)


__all__ = [
    "seed_google",
    "seed_microsoft",
    "google_expected",
    "microsoft_expected",
    "RecordingQuota",
    "start_google",
    "add_user",
    "connect_google",
    "connect_microsoft",
]
