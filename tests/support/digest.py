"""Building blocks for the digest tests and benchmark: tie dicts and seeded snapshots."""

from __future__ import annotations

import pytest

from datetime import datetime, timedelta


from service import store
from service.ties.scoring import write_snapshot

NAMES = [
    "Ana Ruiz",
    "Bob Stone",
    "Carla Mendes",
    "Dev Patel",
    "Eun-ji Park",
    "Farid Haddad",
    "Grace Okafor",
    "Hugo Lambert",
    "Ines Ferreira",
    "Jonas Berg",
]


def tie(
    person_id: int | None,
    name: str,
    strength: float,
    reciprocity: int = 0,
    flags=(),
    *,
    rank: int | None = None,
    suggestion: str | None = None,
    tier: str | None = None,
    last: str = "2026-11-01T10:00:00Z",
    contact: str | None = None,
) -> dict:
    return {
        "contact": contact or name.split()[0].lower() + "@example.org",
        "name": name,
        "addresses": [contact or name.split()[0].lower() + "@example.org"],
        "strength": strength,
        "tier": tier or ("strong" if strength >= 60 else "medium" if strength >= 35 else "weak"),
        "reciprocity": reciprocity,
        "flags": list(flags),
        "last_interaction": last,
        "explanation": [f"{int(strength) // 10} one-to-one meetings in the last 90 days"],
        "ledger": {"initiated_by_you": 3, "initiated_by_them": 4},
        "person_id": person_id,
        "suggestion": suggestion,
        "deepen_rank": rank,
    }


def make_people(conn, user_id: int, names) -> list[int]:
    ids = []
    for name in names:
        ids.append(
            conn.execute(
                "INSERT INTO people (user_id, display_name) VALUES (%s, %s) RETURNING id", (user_id, name)
            ).fetchone()[0]
        )
    return ids


def seed_user(
    conn, email: str, now: datetime, *, timezone: str = "UTC", variant: int = 0, name: str | None = "Zoe Example"
) -> int:
    """A user with ten ties scored now and a week ago, three of them to deepen."""
    user_id = store.create_user(conn, email, name, timezone)
    names = NAMES[variant % 3 :] + NAMES[: variant % 3]
    ids = make_people(conn, user_id, names)
    before, after = [], []
    for i, (pid, person) in enumerate(zip(ids, names)):
        s_now = 90 - i * 8 + (variant % 5)
        s_before = s_now + (12 if i == 1 else -9 if i == 4 else 1)
        flags_now = ["cooling"] if i == 1 else ["one_sided_you"] if i == 3 else []
        rank = {1: 1, 3: 2, 6: 3}.get(i)
        sugg = {
            1: "Suggest a walk or lunch next week",
            3: "Let them set the next plan",
            6: "Send the article you mentioned",
        }.get(i)
        recip = [10, -35, 5, 55, -60, 0, 20, -10, 40, 0][i]
        after.append(tie(pid, person, s_now, recip, flags_now, rank=rank, suggestion=sugg))
        before.append(tie(pid, person, s_before, recip, []))
    write_snapshot(conn, user_id, now - timedelta(days=7), before)
    write_snapshot(conn, user_id, now - timedelta(hours=1), after)
    return user_id


# --- a real SMTP server in the test process ---------------------------------------------


class Sink:
    """aiosmtpd handler: records every accepted transaction; copies for the journal address
    go to a Maildir, as a relay's always_bcc would deliver them."""

    def __init__(self, journal: str | None = None, maildir=None):
        import mailbox
        import threading

        self.journal = journal
        self.maildir = mailbox.Maildir(str(maildir), create=True) if maildir else None
        self.lock = threading.Lock()
        self.deliveries: list[tuple[str, tuple[str, ...], bytes]] = []  # (message-id, rcpts, bytes)

    async def handle_DATA(self, server, session, envelope):
        from email.parser import BytesHeaderParser

        data = envelope.original_content or envelope.content
        mid = str(BytesHeaderParser().parsebytes(data.split(b"\r\n\r\n", 1)[0])["Message-ID"] or "").strip()
        rcpts = tuple(envelope.rcpt_tos)
        # Journal first, then the final 250: the server has taken the transaction as a whole.
        if self.maildir is not None and self.journal in rcpts:
            self.maildir.add(data)
        with self.lock:
            self.deliveries.append((mid, tuple(r for r in rcpts if r != self.journal), data))
        return "250 OK queued"

    def delivered_to(self, address: str) -> list[str]:
        with self.lock:
            return [mid for mid, rcpts, _ in self.deliveries if address in rcpts]


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_smtp(handler):
    """A running aiosmtpd controller on an ephemeral port of 127.0.0.1."""
    from aiosmtpd.controller import Controller

    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), data_size_limit=0)
    controller.start()
    return controller


def claim_redis_db(server_url: str, candidates=range(15, 9, -1), ttl: int = 900) -> str:
    """A Redis database index of our own for worker tests and the benchmark.

    The shared fixture gives every non-xdist run index 1, where other test runs' dramatiq
    workers consume the same queue names: our messages would be eaten by them. Claim an
    index no one else claimed (a key with a TTL), flush it, and use it.
    """
    import os
    import redis as redis_lib

    base = server_url.rsplit("/", 1)[0] if server_url.count("/") > 2 else server_url
    token = f"{os.getpid()}".encode()
    for index in candidates:
        client = redis_lib.Redis.from_url(f"{base}/{index}")
        try:
            owner = client.get("kith:test:claim")
            if owner not in (None, token):
                continue
            client.flushdb()
            if client.set("kith:test:claim", token, nx=True, ex=ttl):
                return f"{base}/{index}"
        finally:
            client.close()
    raise RuntimeError("no free Redis database index for the digest worker tests")


def release_redis_db(url: str) -> None:
    import redis as redis_lib

    client = redis_lib.Redis.from_url(url)
    try:
        client.flushdb()
    finally:
        client.close()


@pytest.fixture(name="redis_url")
def claimed_redis_url(redis_server_url):
    """A Redis database claimed for this test alone (claim_redis_db): the shared one is where
    other runs' dramatiq workers would eat our messages, and they theirs. Import it into a
    test module to use it there in place of conftest's `redis_url`."""
    url = claim_redis_db(redis_server_url)
    yield url
    release_redis_db(url)
