"""An mbox import killed with SIGKILL mid-way and run again ends with the store a clean
import gives: the same messages, labels (Takeout copies merged across pages), senders,
participants and people."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from service import store
from tests.bench.bench_import_scale import generate

ROOT = Path(__file__).resolve().parents[2]
MESSAGES = 16_000  # 8 pages of 2,000, with one message in twenty copied under another label

_CHILD = """
import sys
from service.db import Database
from service.imports import import_file

db = Database(sys.argv[1], min_size=1, max_size=2)
import_file(db, int(sys.argv[3]), "mbox", sys.argv[2], addresses=["me@example.com"])
db.close()
"""

# One row per message, in a form that does not depend on ids or on the order of labels.
_STORE = """
SELECT i.provider_id, i.kind, i.occurred_at, i.thread_id, i.message_id, i.in_reply_to,
       ARRAY(SELECT l FROM unnest(i.labels) l ORDER BY l), i.is_sent, i.is_draft, i.n_participants,
       ARRAY(SELECT p.role || ' ' || p.address || ' ' || coalesce(p.name, '') FROM participants p
             WHERE p.interaction_id = i.id ORDER BY 1)
FROM interactions i JOIN accounts a ON a.id = i.account_id WHERE a.user_id = %s
"""


def _import(url: str, path: Path, user_id: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", _CHILD, url, str(path), str(user_id)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def _committed_bytes(url: str, user_id: int) -> int | None:
    """Bytes committed so far (the cursor of the last committed page), None before any."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT s.cursor FROM sync_state s JOIN accounts a ON a.id = s.account_id WHERE a.user_id = %s",
            (user_id,),
        ).fetchone()
    if row is None or row[0] is None:
        return None
    return -1 if row[0].startswith("tail:") else int(row[0])


def _store(url: str, user_id: int) -> tuple[dict, set]:
    with psycopg.connect(url) as conn:
        rows = {r[0]: r[1:] for r in conn.execute(_STORE, (user_id,))}
        people = {
            r
            for r in conn.execute(
                "SELECT pa.address, p.display_name FROM person_addresses pa JOIN people p ON p.id = pa.person_id"
                " WHERE pa.user_id = %s",
                (user_id,),
            )
        }
    return rows, people


@pytest.mark.slow
def test_an_import_killed_mid_way_and_run_again_equals_a_clean_import(tmp_path, database_url):
    # Given a Takeout-like mbox of 16,000 messages and two users
    path = tmp_path / "takeout.mbox"
    generate(path, MESSAGES, contacts=2_000)
    with psycopg.connect(database_url) as conn:
        clean_user = store.create_user(conn, "clean@example.com")
        killed_user = store.create_user(conn, "killed@example.com")
    # When one imports it in one go
    clean = _import(database_url, path, clean_user)
    assert clean.wait(timeout=600) == 0, clean.stderr.read() if clean.stderr else ""
    # And the other's import is killed (SIGKILL) once some pages, not all, are committed
    victim = _import(database_url, path, killed_user)
    deadline = time.monotonic() + 600
    while (done := _committed_bytes(database_url, killed_user)) is None or done == 0:
        assert victim.poll() is None and time.monotonic() < deadline, "the import ended before it could be killed"
        time.sleep(0.02)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    assert _committed_bytes(database_url, killed_user) != -1, "killed after the last page: nothing to resume"
    partial, _ = _store(database_url, killed_user)
    # And is run again to the end
    again = _import(database_url, path, killed_user)
    assert again.wait(timeout=600) == 0, again.stderr.read() if again.stderr else ""
    # Then the killed import had stopped part-way, and its store now equals the clean one
    clean_rows, clean_people = _store(database_url, clean_user)
    rows, people = _store(database_url, killed_user)
    assert 0 < len(partial) < len(clean_rows) == MESSAGES
    assert rows == clean_rows
    assert {a for a, _ in people} == {a for a, _ in clean_people}
    assert people == clean_people
