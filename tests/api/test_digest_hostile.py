"""Hostile names in the digest's headers, and a deleted user's outbox files.

A name comes from the user or from mail: a CR/LF in it must not start a header of its own
(a Bcc to the attacker). The `.eml` outbox holds what a digest says about a person's ties:
readable by the owner alone, and gone when the user is erased.
"""

from __future__ import annotations

import email
import stat
from datetime import datetime, timedelta, timezone
from email.policy import default as default_policy

import pytest
from fastapi.testclient import TestClient

from service import digest, store
from service.api.app import create_app
from service.digest.mailer import FileMailer
from service.digest.outbox import envelope
from tests.support.api import auth_header
from tests.support.cli import kith_env, run_kith
from tests.support.digest import Sink, make_people, seed_user, start_smtp, tie, write_snapshot

HOSTILE_USER = "Eve\r\nBcc: x@evil.test"
HOSTILE_TIE = "Bob\r\nBcc: y@evil.test\r\n\r\nforged body"


def hostile_user(conn, address: str, now: datetime) -> int:
    """A user named with a CR/LF header, whose first tie to deepen (the subject) has one too."""
    uid = store.create_user(conn, address, HOSTILE_USER)
    (pid,) = make_people(conn, uid, [HOSTILE_TIE])
    write_snapshot(conn, uid, now - timedelta(days=7), [tie(pid, HOSTILE_TIE, 70)])
    write_snapshot(
        conn, uid, now - timedelta(hours=1), [tie(pid, HOSTILE_TIE, 50, flags=["cooling"], rank=1, suggestion="Call")]
    )
    return uid


def assert_one_recipient(raw: bytes, address: str) -> None:
    msg = email.message_from_bytes(raw, policy=default_policy)
    assert msg["Bcc"] is None and msg["Cc"] is None
    assert [a.addr_spec for a in msg["To"].addresses] == [address]
    assert msg["To"].addresses[0].display_name == "Eve Bcc: x@evil.test"
    assert b"evil.test>" not in raw.split(b"\r\n\r\n", 1)[0].replace(b'"', b"")
    assert "Bcc: y@evil.test" in msg["Subject"] and "\n" not in str(msg["Subject"])
    head = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    # Each header line is a header or a fold (starts with white space), never a forged one.
    names = [line.split(b":", 1)[0].lower() for line in head if line[:1] not in (b" ", b"\t")]
    assert b"bcc" not in names and names.count(b"to") == 1 and names.count(b"subject") == 1
    assert envelope(raw)[1] == address  # what the outbox reads back as RCPT TO after a crash


@pytest.fixture
def smtp():
    handler = Sink()
    controller = start_smtp(handler)
    handler.url = f"smtp://127.0.0.1:{controller.port}"
    yield handler
    controller.stop()


def test_a_crlf_in_the_name_adds_no_recipient_over_smtp(settings, database, smtp):
    # Given a user named "Eve\r\nBcc: x@evil.test" and an SMTP server
    with database.tx() as conn:
        uid = hostile_user(conn, "eve@example.org", datetime.now(timezone.utc))
    # When her digest is sent
    assert digest.send_digest(settings.model_copy(update={"smtp_url": smtp.url}), database, uid) == "sent"
    # Then the server was given one recipient, and the message names no other
    ((_, rcpts, raw),) = smtp.deliveries
    assert rcpts == ("eve@example.org",)
    assert_one_recipient(raw, "eve@example.org")


def test_a_crlf_in_the_name_adds_no_header_to_the_eml_file(settings, database):
    # Given the same user and no SMTP URL (the .eml outbox)
    now = datetime.now(timezone.utc)
    with database.tx() as conn:
        uid = hostile_user(conn, "eve@example.org", now)
    # When her digest is "sent"
    assert digest.send_digest(settings, database, uid) == "sent"
    # Then her one file holds one recipient and no Bcc, readable by the owner alone
    (path,) = (settings.outbox_dir() / str(uid)).glob("*.eml")
    assert_one_recipient(path.read_bytes(), "eve@example.org")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def _outbox_with_two_users(settings, database) -> tuple[int, int, list]:
    now = datetime.now(timezone.utc)
    with database.tx() as conn:
        gone = seed_user(conn, "gone@example.org", now)
        kept = seed_user(conn, "kept@example.org", now, variant=1)
    for uid in (gone, kept):
        assert digest.send_digest(settings, database, uid) == "sent"
    # and a file from before per-user folders (named by the Message-ID, which holds the id)
    legacy = settings.outbox_dir() / f"digest.{gone}.2020-01-06.abc@kith.localhost.eml"
    legacy.write_bytes(b"To: gone@example.org\r\n\r\nold\r\n")
    kept_files = sorted(settings.outbox_dir().rglob("*.eml"))
    kept_files = [p for p in kept_files if p.parent.name == str(kept)]
    assert len(kept_files) == 1 and len(list(settings.outbox_dir().rglob("*.eml"))) == 3
    return gone, kept, kept_files


def test_kith_delete_erases_the_users_outbox_files(settings, database, tmp_path):
    # Given two users with a digest each in the .eml outbox
    gone, _kept, kept_files = _outbox_with_two_users(settings, database)
    # When one of them is deleted with `kith delete`
    env = kith_env(settings.database_url, settings.redis_url, str(settings.home), settings.secret().decode())
    proc = run_kith(env, "delete", "--user", "gone@example.org", "--yes")
    assert proc.returncode == 0, proc.stderr
    # Then none of their files is left, and the other user's are untouched
    assert sorted(settings.outbox_dir().rglob("*.eml")) == kept_files
    assert not (settings.outbox_dir() / str(gone)).exists()


def test_delete_me_erases_the_users_outbox_files(settings, database):
    # Given two users with a digest each in the .eml outbox, and a token for one
    gone, _kept, kept_files = _outbox_with_two_users(settings, database)
    from service.auth import create_token

    with database.tx() as conn:
        token = create_token(conn, gone, name="t")
    # When that user deletes their data through the API
    with TestClient(create_app(settings)) as client:
        response = client.delete("/v1/me", headers=auth_header(token))
    # Then their rows and files are gone, and the other user's file is untouched
    assert response.status_code == 200 and response.json()["rows"]["outbox"] == 1
    assert sorted(settings.outbox_dir().rglob("*.eml")) == kept_files
    with database.tx() as conn:
        assert conn.execute("SELECT count(*) FROM users WHERE id = %s", (gone,)).fetchone()[0] == 0


def test_erase_counts_and_leaves_other_folders_alone(tmp_path):
    # Given users 1 and 11 (one id a prefix of the other) with mail in the file outbox
    mailer = FileMailer(tmp_path / "outbox")
    for uid, mid in ((1, "digest.1.2026-11-23.a@k"), (1, "digest.1.2026-11-30.b@k"), (11, "digest.11.2026-11-23.c@k")):
        mailer.send(user_id=uid, sender="k@k", recipient="u@k", message_id=mid, message=b"x")
    # When user 1 is erased, twice
    assert mailer.erase(1) == 2
    assert mailer.erase(1) == 0
    # Then user 11's mail is still delivered
    assert mailer.delivered(11, "digest.11.2026-11-23.c@k") is True
    assert mailer.delivered(1, "digest.1.2026-11-23.a@k") is False
