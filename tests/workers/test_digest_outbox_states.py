"""The outbox as a state machine under any sequence of crashes and refusals (hypothesis,
real Postgres, an in-memory mailer). A crash is simulated by an exception at the named
fault point or in the middle of the SMTP DATA exchange; the session lock is released as
a dead worker's would be.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from service import store
from service.digest import faults, outbox
from service.digest.mailer import NotDelivered
from service.digest.render import Rendered

WEEK = date(2026, 11, 23)
MESSAGE = (
    b"From: Kith <digest@kith.test>\r\nTo: u@example.org\r\nSubject: s\r\nMessage-ID: <m-1@kith.test>\r\n\r\nbody\r\n"
)


class Crash(BaseException):
    """The worker died (BaseException: nothing in the code under test may swallow it)."""


class MemoryMailer:
    def __init__(self, journal: bool):
        self.journal = journal
        self.delivered_ids: list[str] = []
        self.plan: str | None = None  # "refuse" | "mid_data" for the next send

    def send(self, *, user_id, sender, recipient, message_id, message):
        plan, self.plan = self.plan, None
        if plan == "refuse":
            raise NotDelivered("451 later")
        self.delivered_ids.append(message_id)
        if plan == "mid_data":  # the server took it; the reply never reached us
            raise Crash("connection lost after the final dot")

    def delivered(self, user_id, message_id):
        return (message_id in self.delivered_ids) if self.journal else None


step = st.sampled_from(["clean", "after_render", "before_send", "after_send", "mid_data", "refuse"])


@pytest.fixture
def user(database):
    with database.tx() as conn:
        return store.create_user(conn, "u@example.org")


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step, max_size=6), journal=st.booleans())
def test_any_crash_sequence_ends_sent_once(database, user, monkeypatch, steps, journal):
    with database.tx() as conn:
        conn.execute("DELETE FROM outbox")
    mailer = MemoryMailer(journal)
    renders = []
    ambiguous = 0

    def render(conn, resend):
        renders.append(resend)
        return Rendered("s", "m-1@kith.test", "digest@kith.test", "u@example.org", MESSAGE)

    for s in steps + ["clean"]:
        crash_at = s if s in faults.POINTS else None
        mailer.plan = s if s in ("refuse", "mid_data") else None
        monkeypatch.setattr(
            outbox, "fault_point", lambda name, c=crash_at: (_ for _ in ()).throw(Crash(name)) if name == c else None
        )
        with database.pool.connection() as conn:
            try:
                outcome = outbox.deliver(conn, mailer, user, WEEK, render=render)
            except Crash:
                ambiguous += s in ("after_send", "mid_data")
                continue
            except NotDelivered:
                continue
        assert outcome in ("sent", "already_sent")
        # With a journal: exactly once, whatever happened before
        if journal:
            assert mailer.delivered_ids == ["m-1@kith.test"]
        with database.tx() as conn:
            assert conn.execute("SELECT state FROM outbox WHERE user_id = %s", (user,)).fetchone()[0] == "sent"
    # Never skipped; rendered once; without a journal, a copy more only per ambiguous crash,
    # and every copy the same message
    assert len(mailer.delivered_ids) >= 1
    assert renders == [0]
    assert set(mailer.delivered_ids) == {"m-1@kith.test"}
    assert len(mailer.delivered_ids) <= 1 + (0 if journal else ambiguous)
    # And the lock is free again
    with database.tx() as conn:
        key = outbox.lock_key(user, WEEK)
        assert conn.execute("SELECT pg_try_advisory_lock(%s) AND pg_advisory_unlock(%s)", (key, key)).fetchone()[0]
