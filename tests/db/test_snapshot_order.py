"""Ties that show the same whole strength keep the model's order, not person-id order.

Strength is shown as a whole number and saturates: at 200,000 messages, fifteen or more
ties show 100. The snapshot keeps the unrounded strength in its `strength` column (double
precision, migration 0016), so every
reader (kith ties, the API's pages and their cursors, the digest) lists those ties as the
model ranks them; what a person is sent still says 100.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone

from analytics import TieScore
from service import store
from service.teams import shares
from service.ties import detail, pages, snapshots
from service.ties.cursor import Cursor
from service.ties.scoring import write_snapshot
from service.ties.shape import tie_dict

AS_OF = datetime(2026, 10, 5, 9, 0, tzinfo=timezone.utc)
# Person order 0..4 against the model's. The first three all show 100 (and 100.0 at the
# model's one decimal); they differ below what a single-precision float holds (the
# strongest ties of the 200,000-message bench read 99.9999922 and 99.9999851, one step of
# it apart). 14.6 shows 15 (shared with a team, as 15 is); 14.4 shows 14 (not shared).
EXACT = [99.9999990, 99.9999995, 99.9999980, 14.6, 14.4]
MODEL_ORDER = [1, 0, 2, 3, 4]


def _snapshot(database):
    with database.tx() as conn:
        user = store.create_user(conn, "order@example.org", None, "UTC")
        people = [
            conn.execute("INSERT INTO people (user_id) VALUES (%s) RETURNING id", (user,)).fetchone()[0] for _ in EXACT
        ]
        ties = [
            tie_dict(
                TieScore(
                    pid,
                    round(s, 1),
                    "strong",
                    0,
                    (),
                    AS_OF.timestamp() - 86400,
                    (),
                    {},
                    last_two_way=AS_OF.timestamp(),
                    strength_exact=s,
                ),
                {"addresses": [f"p{i}@example.org"]},
            )
            for i, (pid, s) in enumerate(zip(people, EXACT))
        ]
        write_snapshot(conn, user, AS_OF, ties)
    return user, people, ties


def test_every_reader_lists_equal_shown_strengths_in_the_models_order(database):
    user, people, ties = _snapshot(database)
    expected = [people[i] for i in MODEL_ORDER]
    with database.tx() as conn:
        listed = snapshots.list_ties(conn, user)
        assert [t["person_id"] for t in listed] == expected
        assert [t["strength"] for t in listed] == [100, 100, 100, 15, 14]

        # The API's pages, one tie at a time, each next page from the cursor of the last.
        seen, cursor = [], None
        while True:
            texts, next_cursor, _ = pages.snapshot_page(conn, user, None, pages.Query(limit=1), cursor)
            seen += [json.loads(t) for t in texts]
            if next_cursor is None:
                break
            cursor = Cursor.decode(next_cursor, "-strength")
        assert [t["person_id"] for t in seen] == expected
        assert all(type(t["strength"]) is int for t in seen)

        # Ties computed in Python (no snapshot) are paged in the same order.
        computed, cursor = [], None
        while True:
            page, next_cursor = pages.computed_page(ties, AS_OF, pages.Query(limit=2), cursor)
            computed += page
            if next_cursor is None:
                break
            cursor = Cursor.decode(next_cursor, "-strength")
        assert [t["person_id"] for t in computed] == expected
        assert "exact" not in computed[0]

        # The tie's history and what a team is sent show the whole strength.
        assert [h["strength"] for h in detail.history(conn, user, people[1])] == [100]
        assert [h["strength"] for h in detail.history(conn, user, people[3])] == [15]
        shared = {s.address for s in shares.member_shares(conn, user)}
        assert shared == {"p0@example.org", "p1@example.org", "p2@example.org", "p3@example.org"}


def test_the_digest_lists_the_strongest_in_the_snapshots_order(database):
    from service.digest.content import build_digest

    user, people, _ = _snapshot(database)
    with database.tx() as conn:
        payloads = snapshots.list_ties(conn, user)
    digest = build_digest(
        user_id=user,
        user_name=None,
        user_email="order@example.org",
        week=AS_OF.date(),
        ties=payloads,
        previous=None,
        as_of=AS_OF,
    )
    assert [line.person_id for line in digest.strongest][:3] == [people[i] for i in MODEL_ORDER[:3]]
    assert [line.strength for line in digest.strongest][:3] == [100, 100, 100]
