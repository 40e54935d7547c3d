"""Crash safety: a sync worker process is SIGKILLed at several points of a full and of an
incremental sync, restarted, and the database then equals the emulator's mailbox and
calendar exactly: no message or meeting lost, none stored twice, labels and participants
as the provider has them.

Run as a module, this file is the worker: `python -m tests.workers.test_google_crash` syncs the
account named by the environment and SIGKILLs itself after KITH_TEST_KILL_AFTER committed
Gmail pages (0: never). The test also kills workers from outside at arbitrary moments.
"""

from __future__ import annotations

import os
import random
import signal
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

pytestmark = pytest.mark.slow  # worker processes killed mid-sync, on the Gmail emulator

ROOT = Path(__file__).resolve().parents[2]
SCALE = 20.0


def worker_main() -> None:
    from ingest.sync import run_sync
    from service.config import Settings
    from service.db import Database
    from service.providers.google import build_connector
    from service.sync_store import AccountSyncStore
    from service.sync import account_lock

    from ingest.google import quota

    # A worker killed while its batch threads hold in-flight slots leaves those slots taken
    # until they expire (SLOT_TTL_MS, 30 s), and the next worker waited for them: 5-100 s of
    # a test's wall time went there. Their expiry is tests/workers/test_semaphore.py's to
    # check; here they expire on the emulator's clock, which runs SCALE times faster (it
    # enforces no concurrency limit, so an early expiry costs nothing the test asserts).
    quota.SLOT_TTL_MS = int(quota.SLOT_TTL_MS / SCALE)
    kill_after = int(os.environ.get("KITH_TEST_KILL_AFTER", "0"))
    settings = Settings()
    db = Database(settings.database_url, min_size=1, max_size=2)
    pages = [0]

    def progress(resource, total, page):
        if resource != "gmail":
            return  # the calendar syncs first, in a page or two: the kills are in Gmail's pages
        pages[0] += 1
        if kill_after and pages[0] >= kill_after:
            os.kill(os.getpid(), signal.SIGKILL)  # right after a commit: nothing is flushed

    account_id = int(os.environ["KITH_TEST_ACCOUNT"])
    # service.sync.sync_account, with small pages so that there are many points to die at.
    with account_lock(db, account_id):
        connector = build_connector(settings, db, account_id, list_page=60, batch_calls=10)
        try:
            run_sync(AccountSyncStore(db, account_id), connector, progress=progress)
        finally:
            connector.close()
    db.close()


if __name__ == "__main__":
    worker_main()
    sys.exit(0)


# --- the test -------------------------------------------------------------------------------

from ingest.google import SCOPES, parse_message  # noqa: E402
from ingest.google.gmail import METADATA_HEADERS  # noqa: E402
from ingest.sandbox.google import start_google_emulator  # noqa: E402
from ingest.sandbox.google.gmail_api import message_json  # noqa: E402
from ingest.sandbox.world import generate_world  # noqa: E402
from service.providers.credentials import save_credentials  # noqa: E402
from service.store import create_user, ensure_account  # noqa: E402
from tests.support.zygote import zygote_fixture  # noqa: E402


@pytest.fixture(scope="module")
def world():
    return generate_world(5, days=240, contacts=16)


@pytest.fixture
def emu(world):
    emulator = start_google_emulator(world, quota_scale=SCALE)
    yield emulator
    emulator.stop()


@pytest.fixture
def worker_env(settings, emu, database, world, quota_redis):
    with database.tx() as conn:
        user_id = create_user(conn, world.user_email)
        account_id = ensure_account(conn, user_id, "google", world.user_email, scopes=list(SCOPES))
        gsettings = settings.model_copy(update={"google_client_secret": SecretStr("kith-emulator-secret")})
        save_credentials(
            conn, gsettings, account_id, {"refresh_token": emu.issue_refresh_token(), "scopes": list(SCOPES)}
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITH_")}
    env.update(
        {
            "KITH_HOME": str(settings.home),
            "KITH_DATABASE_URL": settings.database_url,
            "KITH_REDIS_URL": quota_redis,
            "KITH_SECRET_KEY": settings.secret_key.get_secret_value(),
            "KITH_GOOGLE_QUOTA_SCALE": str(SCALE),
            "KITH_TEST_ACCOUNT": str(account_id),
            "KITH_TEST_SMALL": "1",
            "PYTHONPATH": str(ROOT),
        }
    )
    overrides = emu.settings_overrides()
    env.update({f"KITH_{k.upper()}": str(v) for k, v in overrides.items()})
    return env, account_id


# The worker's modules, imported once by a zygote that forks each worker run (a new
# interpreter importing them was ~0.5 CPU-s of every run, and a test runs up to sixty).
WORKER_MODULES = [
    "ingest.sync",
    "service.config",
    "service.db",
    "service.providers.google",
    "service.sync_store",
    "service.sync",
    "tests.workers.test_google_crash",
]
zygote, _zygote = zygote_fixture(WORKER_MODULES)


def run_worker(env, kill_after: int = 0, kill_at_s: float | None = None) -> int:
    """One worker process (forked from the zygote, tests/support/zygote.py): its exit status."""
    code, _, err = _zygote[-1].run(
        "tests.workers.test_google_crash:worker_main", dict(env, KITH_TEST_KILL_AFTER=str(kill_after)), kill_at_s
    )
    assert code in (0, -signal.SIGKILL), err[-3000:]
    return code


def expected(emu) -> dict:
    """What an exact copy holds per message: labels and the parsed participants."""
    out = {}
    for message in emu.mailboxes[emu.user()].messages.values():
        item = parse_message(message_json(message, "metadata", list(METADATA_HEADERS)))
        out[message.id] = (tuple(sorted(item.labels)), len({(p.role, p.address) for p in item.participants}))
    for event_id in emu.event_ids():
        out[f"gcal:primary:{event_id}"] = None
    return out


def actual(database, account_id) -> dict:
    with database.tx() as conn:
        rows = conn.execute(
            "SELECT provider_id, kind, labels, (SELECT count(*) FROM participants p WHERE p.interaction_id = i.id) "
            "FROM interactions i WHERE account_id = %s",
            (account_id,),
        ).fetchall()
    assert len(rows) == len({r[0] for r in rows})
    return {pid: (tuple(sorted(labels)), n) if kind == "email" else None for pid, kind, labels, n in rows}


def cursor_of(database, account_id, resource="gmail"):
    with database.tx() as conn:
        row = conn.execute(
            "SELECT cursor FROM sync_state WHERE account_id = %s AND resource = %s", (account_id, resource)
        ).fetchone()
    return row[0] if row else None


def test_sigkill_during_full_and_incremental_sync_loses_and_duplicates_nothing(worker_env, emu, database):
    env, account_id = worker_env
    # Full sync: killed after 1, 3 and 6 committed pages, and once from outside at a random moment.
    for kill_after in (1, 3, 6):
        assert run_worker(env, kill_after=kill_after) == -signal.SIGKILL
        assert '"phase": "full"' in (cursor_of(database, account_id) or "")  # resumes, not restarts
    run_worker(env, kill_at_s=random.uniform(0.5, 2.0))
    # Changes arrive while the worker is down, during the full sync's tail.
    ids = sorted(emu.message_ids())
    for message_id in ids[:20]:
        emu.delete_message(message_id)
    for message_id in ids[20:40]:
        emu.modify_labels(message_id, add=["STARRED"], remove=["INBOX"])
    assert run_worker(env) == 0
    assert actual(database, account_id) == expected(emu)

    # Incremental: 150 new messages (some in old threads), more deletions, a cancelled meeting.
    for i in range(150):
        thread = ids[100 + i % 30] if i % 3 == 0 else None
        emu.add_message(
            thread_id=thread,
            headers=[
                ("From", f"new{i}@example.org"),
                ("To", "you@kith.example"),
                ("Date", "Mon, 23 Nov 2026 10:00:00 +0000"),
            ],
            labels=["INBOX"],
        )
    for message_id in ids[40:50]:
        emu.delete_message(message_id)
    emu.cancel_event(sorted(emu.event_ids())[0])
    for kill_after in (1, 2):
        assert run_worker(env, kill_after=kill_after) == -signal.SIGKILL
        assert '"phase": "incr"' in cursor_of(database, account_id)
    run_worker(env, kill_at_s=random.uniform(0.2, 1.0))
    assert run_worker(env) == 0
    assert actual(database, account_id) == expected(emu)


def stage_of(database, account_id) -> str | None:
    import json

    cursor = cursor_of(database, account_id)
    return json.loads(cursor).get("stage") if cursor else None


def test_sigkill_after_every_page_of_the_sent_stage_and_at_its_end_loses_nothing(worker_env, emu, database):
    # Given a first sync that reads the user's sent mail of the last months first (60 ids a page)
    env, account_id = worker_env
    stages = []
    # When a worker dies after every single committed page until the sync is past the sent
    # stage and into the newest-first listing of everything (each restart resumes the cursor)
    for _ in range(40):
        assert run_worker(env, kill_after=1) == -signal.SIGKILL
        stages.append(stage_of(database, account_id))
        if stages[-1] == "all":
            break
    # ... and once more right after the change of stage, then the sync runs to its end
    assert run_worker(env, kill_after=1) == -signal.SIGKILL
    assert run_worker(env) == 0
    # Then the sent stage took several pages, ended, and the store equals the mailbox
    assert stages.count("sent") >= 2 and stages[-1] == "all", stages
    assert actual(database, account_id) == expected(emu)


def test_sigkill_in_the_newest_first_stages_stores_every_message_once(worker_env, emu, database):
    """A first sync reads the user's sent mail first (whole threads), then everything newest
    first, skipping what the sent stage stored. Killed in either stage, the restarted sync
    must neither lose a message nor fetch and store one a second time (audit triggers count
    every committed write of a row)."""
    import json

    from tests.support.scale import audit, install_audit

    env, account_id = worker_env
    install_audit(database)
    # Given workers killed after a few committed pages each, and from outside at a random
    # moment (inside a page's transaction), until the first sync has reached its end
    kills: list[tuple[str, str]] = []  # (stage, phase) of the cursor after each kill
    for n in range(60):
        # Kills from outside only once the "all" stage was reached: at a random moment a worker
        # can run through the rest of the sync, and both stages must see kills.
        if n % 5 == 4 and ("all", "full") in kills:
            code = run_worker(env, kill_at_s=random.uniform(0.3, 1.5))
        else:
            code = run_worker(env, kill_after=(1, 3, 2, 1)[n % 4])
        state = json.loads(cursor_of(database, account_id) or "{}")
        kills.append((state.get("stage"), state.get("phase")))
        if code == 0 or state.get("phase") == "incr":
            break
    # When a worker then runs to the end, and the next round after it
    assert run_worker(env) == 0
    assert run_worker(env) == 0
    # Then the kills came in both newest-first stages of the full sync
    assert ("sent", "full") in kills and ("all", "full") in kills, kills
    # and the store equals the mailbox, and no row was written twice
    assert actual(database, account_id) == expected(emu)
    assert audit(database)["rewritten"] == []
