"""Exactly once per user and week, in process: a real SMTP server (aiosmtpd), real Postgres."""

from __future__ import annotations

import email
import threading
from datetime import datetime, timedelta, timezone
from email.policy import default as default_policy

import pytest

from service import digest
from service.digest import outbox
from service.digest.mailer import NotDelivered
from tests.support.digest import Sink, seed_user, start_smtp, tie, write_snapshot

JOURNAL = "journal@kith.test"


@pytest.fixture
def sink(tmp_path):
    handler = Sink(journal=JOURNAL, maildir=tmp_path / "journal")
    controller = start_smtp(handler)
    handler.url = f"smtp://127.0.0.1:{controller.port}"
    handler.journal_url = f"{handler.url}?journal={JOURNAL}&journal_maildir={tmp_path / 'journal'}"
    yield handler
    controller.stop()


def _row(db, user_id):
    with db.tx() as conn:
        return conn.execute("SELECT state, message_id, message FROM outbox WHERE user_id = %s", (user_id,)).fetchone()


def test_sends_once_per_week(settings, database, sink):
    # Given a user with ties and an SMTP server
    now = datetime.now(timezone.utc)
    with database.tx() as conn:
        uid = seed_user(conn, "zoe@example.org", now)
    cfg = settings.model_copy(update={"smtp_url": sink.url})
    # When the digest is sent twice for the same week
    assert digest.send_digest(cfg, database, uid) == "sent"
    assert digest.send_digest(cfg, database, uid) == "already_sent"
    # Then one mail arrived, with the Message-ID and bytes recorded in the outbox
    state, mid, stored = _row(database, uid)
    assert state == "sent"
    assert sink.delivered_to("zoe@example.org") == [f"<{mid}>"]
    assert sink.deliveries[0][2].replace(b"\r\n", b"\n") == bytes(stored).replace(b"\r\n", b"\n")
    msg = email.message_from_bytes(bytes(stored), policy=default_policy)
    assert msg["Subject"].startswith("Bob Stone:")  # the first tie to deepen names the mail


def test_quiet_week_note_or_nothing_as_chosen(settings, database, sink):
    now = datetime.now(timezone.utc)
    steady = [tie(None, "Ana Ruiz", 60, 0)]
    with database.tx() as conn:
        from service import store

        note = store.create_user(conn, "note@example.org", "Noa")
        skip = store.create_user(conn, "skip@example.org", "Sam")
        conn.execute("UPDATE digest_settings SET quiet_mode = 'skip' WHERE user_id = %s", (skip,))
        for uid in (note, skip):
            pid = conn.execute(
                "INSERT INTO people (user_id, display_name) VALUES (%s, 'Ana') RETURNING id", (uid,)
            ).fetchone()[0]
            write_snapshot(conn, uid, now - timedelta(days=7), [dict(steady[0], person_id=pid, strength=61)])
            write_snapshot(conn, uid, now - timedelta(hours=2), [dict(steady[0], person_id=pid)])
    cfg = settings.model_copy(update={"smtp_url": sink.url})
    # A quiet week: 'note' gets a short note, 'skip' gets nothing (and is recorded as skipped)
    assert digest.send_digest(cfg, database, note) == "sent"
    assert digest.send_digest(cfg, database, skip) == "skipped"
    assert digest.send_digest(cfg, database, skip) == "skipped"
    assert len(sink.delivered_to("note@example.org")) == 1 and sink.delivered_to("skip@example.org") == []
    text = email.message_from_bytes(sink.deliveries[0][2], policy=default_policy).get_body(("plain",)).get_content()
    assert "Nothing needs you this week" in text
    assert _row(database, skip)[0] == "skipped"


def test_disabled_user_is_skipped_unless_forced(settings, database, sink):
    now = datetime.now(timezone.utc)
    with database.tx() as conn:
        uid = seed_user(conn, "off@example.org", now)
        conn.execute("UPDATE digest_settings SET enabled = false WHERE user_id = %s", (uid,))
        conn.execute(
            "INSERT INTO accounts (user_id, provider, address, status) "
            "VALUES (%s, 'google', 'off@gmail.com', 'auth_revoked')",
            (uid,),
        )
    cfg = settings.model_copy(update={"smtp_url": sink.url})
    assert digest.send_digest(cfg, database, uid) == "skipped"
    # By hand (`kith digest --send`): sent anyway, and again as a new message if asked again
    assert digest.send_digest(cfg, database, uid, force=True) == "sent"
    assert digest.send_digest(cfg, database, uid, force=True) == "sent"
    ids = sink.delivered_to("off@example.org")
    assert len(ids) == 2 and ids[0] != ids[1]
    subject = email.message_from_bytes(sink.deliveries[0][2], policy=default_policy)["Subject"]
    assert subject.startswith("Reconnect your Google (off@gmail.com)")


def test_refused_mail_goes_back_to_rendered_and_sends_later(settings, database, tmp_path):
    class Refusing(Sink):
        refuse = True

        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            if self.refuse:
                return "451 try again later"
            envelope.rcpt_tos.append(address)
            return "250 OK"

    handler = Refusing()
    controller = start_smtp(handler)
    try:
        now = datetime.now(timezone.utc)
        with database.tx() as conn:
            uid = seed_user(conn, "busy@example.org", now)
        cfg = settings.model_copy(update={"smtp_url": f"smtp://127.0.0.1:{controller.port}"})
        with pytest.raises(NotDelivered) as info:
            digest.send_digest(cfg, database, uid)
        assert not info.value.permanent
        # Certainly not delivered: back to 'rendered', same message kept
        state, mid, _ = _row(database, uid)
        assert state == "rendered"
        handler.refuse = False
        assert digest.send_digest(cfg, database, uid) == "sent"
        assert handler.delivered_to("busy@example.org") == [f"<{mid}>"]
    finally:
        controller.stop()


def test_abandoned_sending_row_is_decided_by_the_journal(settings, database, sink):
    # Given a digest rendered and then abandoned in 'sending' (its worker died mid-send)
    now = datetime.now(timezone.utc)
    with database.tx() as conn:
        a = seed_user(conn, "a@example.org", now)
        b = seed_user(conn, "b@example.org", now)
    cfg = settings.model_copy(update={"smtp_url": sink.journal_url})
    for uid in (a, b):
        assert digest.send_digest(cfg, database, uid) == "sent"
        with database.tx() as conn:
            conn.execute("UPDATE outbox SET state = 'sending' WHERE user_id = %s", (uid,))
    # ...and b's mail never reached the server (remove it from the journal and the sink)
    mid_b = _row(database, b)[1]
    for key, data in list(sink.maildir.items()):
        if f"<{mid_b}>".encode() in data.as_bytes():
            sink.maildir.remove(key)
    sink.deliveries = [d for d in sink.deliveries if d[0] != f"<{mid_b}>"]
    # When each is attempted again
    assert digest.send_digest(cfg, database, a) == "already_sent"
    assert digest.send_digest(cfg, database, b) == "sent"
    # Then a was not sent twice and b was not skipped
    assert len(sink.delivered_to("a@example.org")) == 1
    assert sink.delivered_to("b@example.org") == [f"<{mid_b}>"]
    assert _row(database, a)[0] == _row(database, b)[0] == "sent"


def test_without_a_journal_an_abandoned_row_is_resent_identically(settings, database, sink):
    now = datetime.now(timezone.utc)
    with database.tx() as conn:
        uid = seed_user(conn, "c@example.org", now)
    cfg = settings.model_copy(update={"smtp_url": sink.url})
    assert digest.send_digest(cfg, database, uid) == "sent"
    with database.tx() as conn:
        conn.execute("UPDATE outbox SET state = 'sending' WHERE user_id = %s", (uid,))
    assert digest.send_digest(cfg, database, uid) == "sent"
    # The documented at-least-once edge: the same bytes, the same Message-ID
    (m1, _, b1), (m2, _, b2) = sink.deliveries
    assert m1 == m2 and b1 == b2


def test_files_when_no_smtp_url_and_recovery_is_exact(settings, database):
    now = datetime.now(timezone.utc)
    with database.tx() as conn:
        uid = seed_user(conn, "f@example.org", now)
    assert settings.smtp_url is None
    assert digest.send_digest(settings, database, uid) == "sent"
    files = list((settings.outbox_dir() / str(uid)).glob("*.eml"))
    assert len(files) == 1
    with database.tx() as conn:
        conn.execute("UPDATE outbox SET state = 'sending' WHERE user_id = %s", (uid,))
    # The file is the delivery: found, recorded, not written again
    assert digest.send_digest(settings, database, uid) == "already_sent"
    assert list((settings.outbox_dir() / str(uid)).glob("*.eml")) == files


def test_concurrent_attempts_send_once(settings, database, sink):
    now = datetime.now(timezone.utc)
    with database.tx() as conn:
        uid = seed_user(conn, "race@example.org", now)
    cfg = settings.model_copy(update={"smtp_url": sink.url})
    outcomes = []
    threads = [
        threading.Thread(target=lambda: outcomes.append(digest.send_digest(cfg, database, uid))) for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["already_sent"] * 5 + ["sent"]
    assert len(sink.delivered_to("race@example.org")) == 1


def test_lock_key_is_stable_and_distinct():
    from datetime import date

    assert outbox.lock_key(1, date(2026, 11, 23)) == outbox.lock_key(1, date(2026, 11, 23))
    assert len({outbox.lock_key(u, date(2026, 11, 23)) for u in range(1000)}) == 1000
