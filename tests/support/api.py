"""A small, known world for API tests: users with people, mail, meetings, snapshots and a row
in every table, written straight into the schema so the API is tested on its own."""

from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from psycopg.types.json import Jsonb

from analytics.flag_gate import Counts

from service import auth, store
from service.dashboard import sessions

from .team import seed_team_rows

AS_OF = datetime(2026, 11, 23, 6, 0, tzinfo=timezone.utc)
EARLIER = AS_OF - timedelta(days=7)
TIERS = ("strong", "medium", "weak", "fading")
FLAGS = (("cooling",), (), ("one_sided_you",), ("dormant", "cooling"), ("one_sided_them",))


@dataclass
class Seeded:
    user_id: int
    email: str
    token: str
    people: list[int] = field(default_factory=list)
    account_id: int = 0
    file_account_id: int = 0
    token_id: int = 0
    suggestion_id: int = 0
    ties: list[dict] = field(default_factory=list)
    team_id: int = 0
    request_id: int = 0


def tie_payload(person_id: int, i: int, email: str, name: str) -> dict:
    return {
        "contact": email,
        "name": name,
        "addresses": [email, f"alt{i}@{email.split('@')[1]}"],
        "strength": 90 - 7 * i if i < 12 else max(0, 10 - i % 10),
        "tier": TIERS[i % 4],
        "reciprocity": (-1) ** i * (10 * i % 100),
        "flags": list(FLAGS[i % len(FLAGS)]),
        "last_interaction": (AS_OF - timedelta(days=3 * i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "explanation": [f"{i + 1} one-to-one meetings in the last 90 days"],
        "ledger": {"initiated_by_you": i, "initiated_by_them": 2 * i},
        "person_id": person_id,
        "suggestion": f"Write to {name} this week." if i % 3 == 0 else None,
        "deepen_rank": i // 3 + 1 if i % 3 == 0 else None,
        "colleague": False,
    }


def _interaction(conn, user_id, account_id, provider_id, kind, when, sender, recipients, is_sent):
    iid = conn.execute(
        "INSERT INTO interactions (user_id, account_id, provider_id, kind, occurred_at, is_sent, n_participants,"
        " duration_s) VALUES (%s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (
            user_id,
            account_id,
            provider_id,
            kind,
            when,
            is_sent,
            1 + len(recipients),
            1800 if kind == "meeting" else None,
        ),
    ).fetchone()[0]
    first_role = "from" if kind == "email" else "organizer"
    other_role = "to" if kind == "email" else "attendee"
    conn.execute(
        "INSERT INTO participants (interaction_id, user_id, address, role) VALUES (%s, %s, %s, %s)",
        (iid, user_id, sender, first_role),
    )
    for r in recipients:
        conn.execute(
            "INSERT INTO participants (interaction_id, user_id, address, role) VALUES (%s, %s, %s, %s)",
            (iid, user_id, r, other_role),
        )
    return iid


def seed_user(db, email: str, n_people: int = 6, snapshots: bool = True) -> Seeded:
    """A user with `n_people` contacts, a Google account mid-sync, a file account, two snapshots
    and one row in every table of the schema."""
    domain = email.split("@")[1]
    with db.tx() as conn:
        user_id = store.create_user(conn, email, name=email.split("@")[0].title())
        token = auth.create_token(conn, user_id)
        seeded = Seeded(user_id=user_id, email=email, token=token)
        seeded.token_id = conn.execute("SELECT max(id) FROM api_tokens WHERE user_id = %s", (user_id,)).fetchone()[0]
        seeded.account_id = store.ensure_account(conn, user_id, "google", email)
        seeded.file_account_id = store.ensure_account(conn, user_id, "mbox", f"{email}.mbox")
        conn.execute(
            "INSERT INTO sync_state (account_id, resource, cursor, state, items_seen, items_total,"
            " cursor_advanced_at) VALUES (%s, 'mail', 'c1', 'initial', 250, 1000, %s),"
            " (%s, 'calendar', 'c2', 'incremental', 40, NULL, %s)",
            (seeded.account_id, AS_OF, seeded.account_id, AS_OF - timedelta(hours=1)),
        )
        conn.execute(
            "INSERT INTO credentials (account_id, ciphertext) VALUES (%s, %s)",
            (seeded.account_id, b"encrypted-refresh-token"),
        )
        for i in range(n_people):
            contact = f"person{i}@{domain}"
            pid = conn.execute(
                "INSERT INTO people (user_id, display_name) VALUES (%s, %s) RETURNING id",
                (user_id, f"Person {i} of {domain}"),
            ).fetchone()[0]
            seeded.people.append(pid)
            for address in (contact, f"alt{i}@{domain}"):
                conn.execute(
                    "INSERT INTO person_addresses (user_id, address, person_id) VALUES (%s, %s, %s)",
                    (user_id, address, pid),
                )
            seeded.ties.append(tie_payload(pid, i, contact, f"Person {i} of {domain}"))
        # Person 0: this week 2 mails out, 1 in, 1 meeting they organised; last week 1 mail in.
        p0 = f"person0@{domain}"
        week = AS_OF - timedelta(days=1)
        _interaction(conn, user_id, seeded.account_id, "m1", "email", week, email, [p0], True)
        _interaction(conn, user_id, seeded.account_id, "m2", "email", week, email, [p0, f"person1@{domain}"], None)
        _interaction(conn, user_id, seeded.account_id, "m3", "email", week, f"alt0@{domain}", [email], False)
        _interaction(conn, user_id, seeded.account_id, "e1", "meeting", week, p0, [email], None)
        _interaction(conn, user_id, seeded.account_id, "m4", "email", week - timedelta(days=7), p0, [email], False)
        if snapshots:
            with conn.cursor() as cur:
                for as_of, shift in ((EARLIER, -5), (AS_OF, 0)):
                    for t in seeded.ties:
                        cur.execute(
                            "INSERT INTO score_snapshots (user_id, person_id, as_of, strength, tier, reciprocity,"
                            " flags, payload) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                            (
                                user_id,
                                t["person_id"],
                                as_of,
                                max(0, t["strength"] + shift),
                                t["tier"],
                                t["reciprocity"],
                                t["flags"],
                                Jsonb(t),
                            ),
                        )
            conn.execute(
                "INSERT INTO accuracy_checks (user_id, scored_at, payload) VALUES (%s, %s, %s)",
                (user_id, AS_OF, Jsonb({"verdict": "few_ties", "summary": ["Too few ties to tell."]})),
            )
            conn.execute(
                "INSERT INTO flag_checks (user_id, flags_at, counts) VALUES (%s, %s, %s)",
                (user_id, AS_OF - timedelta(days=120), Jsonb(Counts(1, 0, 10, 5).as_json())),
            )
            # The earlier scoring ran while the first sync was still reading older mail.
            conn.execute(
                "INSERT INTO score_coverage (user_id, as_of, covered_since) VALUES (%s, %s, %s)",
                (user_id, EARLIER, EARLIER - timedelta(days=200)),
            )
        conn.execute(
            "INSERT INTO quarantine (user_id, account_id, ref, reason) VALUES (%s, %s, 'x1', 'no date')",
            (user_id, seeded.account_id),
        )
        conn.execute(
            "INSERT INTO rules (user_id, kind, value, action) VALUES (%s, 'domain', %s, 'block')",
            (user_id, f"news.{domain}"),
        )
        conn.execute("INSERT INTO org_domains (user_id, domain) VALUES (%s, %s)", (user_id, domain))
        conn.execute(
            "INSERT INTO feedback (user_id, person_id, kind) VALUES (%s, %s, 'matters')", (user_id, seeded.people[0])
        )
        seeded.suggestion_id = conn.execute(
            "INSERT INTO merge_suggestions (user_id, addresses, evidence) VALUES (%s, %s, %s) RETURNING id",
            (user_id, [f"person1@{domain}", f"person2@{domain}"], json.dumps({"score": 0.7, "evidence": []})),
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO outbox (user_id, week, state, message_id, subject, message)"
            " VALUES (%s, '2026-11-16', 'sent', %s, 'Your week', %s)",
            (user_id, f"<d1.{user_id}@kith>", b"Subject: Your week\r\n\r\n"),
        )
        conn.execute(
            "INSERT INTO oauth_states (state, user_id, provider, payload) VALUES (%s, %s, 'google', %s)",
            (f"state-{user_id}", user_id, b"verifier"),
        )
        sessions.open_session(conn, token)
        seeded.team_id, seeded.request_id = seed_team_rows(conn, user_id, email)
    return seeded


def auth_header(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def free_port() -> int:
    """A loopback port free now (for an app whose base URL must name its port beforehand)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def serve(app, port: int = 0):
    """Run the app under uvicorn on a loopback port (an ephemeral one by default) in a
    thread; yield its base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def seed_many(db, email: str, n: int) -> Seeded:
    """A user with `n` scored ties (people and one snapshot), written with COPY."""
    with db.tx() as conn:
        user_id = store.create_user(conn, email)
        seeded = Seeded(user_id=user_id, email=email, token=auth.create_token(conn, user_id))
        with conn.cursor() as cur:
            with cur.copy("COPY people (user_id, display_name) FROM STDIN") as copy:
                for i in range(n):
                    copy.write_row((user_id, f"Contact {i}"))
            seeded.people = [
                r[0] for r in cur.execute("SELECT id FROM people WHERE user_id = %s ORDER BY id", (user_id,))
            ]
            with cur.copy(
                "COPY score_snapshots (user_id, person_id, as_of, strength, tier, reciprocity, flags,"
                " payload) FROM STDIN"
            ) as copy:
                for i, pid in enumerate(seeded.people):
                    tie = tie_payload(pid, 12 + i, f"contact{i}@many.example", f"Contact {i}")
                    tie["strength"] = (i * 7919) % 101
                    tie["deepen_rank"] = i + 1 if i < 5 else None
                    copy.write_row(
                        (
                            user_id,
                            pid,
                            AS_OF,
                            tie["strength"],
                            tie["tier"],
                            tie["reciprocity"],
                            tie["flags"],
                            Jsonb(tie),
                        )
                    )
    return seeded
