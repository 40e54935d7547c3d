"""Exactly once with real workers: dramatiq worker subprocesses on the real Redis, a real
SMTP server in this process, and a worker SIGKILLed at each dangerous point.

Recovery is what production does: a fresh worker, and the scheduler's sweep re-enqueueing
the digest that is due and not yet recorded as sent.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import dramatiq
import pytest

from service.jobs import make_broker
from service.digest import schedule
from tests.support.digest import Sink, claim_redis_db, release_redis_db, seed_user, start_smtp

pytestmark = pytest.mark.slow  # dramatiq worker processes killed between render and send

ROOT = Path(__file__).resolve().parents[2]
JOURNAL = "journal@kith.test"


def worker_env(settings, smtp_url: str, fault: str | None = None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KITH_")}
    env.update(
        {
            "KITH_DATABASE_URL": settings.database_url,
            "KITH_REDIS_URL": settings.redis_url,
            "KITH_HOME": str(settings.home),
            "KITH_SECRET_KEY": settings.secret().decode(),
            "KITH_SMTP_URL": smtp_url,
            "KITH_BASE_URL": "https://kith.example.org",
            "PYTHONPATH": str(ROOT),
        }
    )
    if fault:
        env["KITH_FAULT_KILL_AT"] = fault
    return env


def start_worker(env: dict, processes: int = 1, threads: int = 1) -> subprocess.Popen:
    # The log goes to a file: a pipe nobody reads would block a chatty worker.
    log = open(Path(env["KITH_HOME"]).parent / f"worker-{time.monotonic_ns()}.log", "w+b")
    proc = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "dramatiq"),
            "service.jobs.worker:setup",
            "--processes",
            str(processes),
            "--threads",
            str(threads),
            "--queues",
            "email",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    proc.log = log
    return proc


def stop_worker(proc: subprocess.Popen) -> str:
    """Stop the worker; returns its log (shown when a test fails)."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    proc.log.seek(0)
    log = proc.log.read().decode(errors="replace")
    proc.log.close()
    print(log[-4000:])
    return log


def enqueue(broker, user_id: int, week: str) -> None:
    broker.enqueue(
        dramatiq.Message(
            queue_name="email", actor_name="send_weekly_digest", args=(user_id, week), kwargs={}, options={}
        )
    )


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def outbox_state(db, user_id):
    with db.tx() as conn:
        row = conn.execute("SELECT state, message_id FROM outbox WHERE user_id = %s", (user_id,)).fetchone()
    return row


@pytest.fixture
def settings(settings, redis_server_url):
    """The shared settings, on a Redis database of our own (see claim_redis_db)."""
    url = claim_redis_db(redis_server_url)
    yield settings.model_copy(update={"redis_url": url})
    release_redis_db(url)


@pytest.fixture
def sink(tmp_path):
    handler = Sink(journal=JOURNAL, maildir=tmp_path / "journal")
    controller = start_smtp(handler)
    handler.url = f"smtp://127.0.0.1:{controller.port}"
    handler.journal_url = f"{handler.url}?journal={JOURNAL}&journal_maildir={tmp_path / 'journal'}"
    yield handler
    controller.stop()


def due_user(db, email: str) -> int:
    """A user whose digest is due right now (their weekday and hour are the current ones)."""
    now = datetime.now(timezone.utc)
    with db.tx() as conn:
        uid = seed_user(conn, email, now)
        conn.execute(
            "UPDATE digest_settings SET weekday = %s, hour = %s WHERE user_id = %s", (now.weekday(), now.hour, uid)
        )
    return uid


@pytest.mark.parametrize(
    "point, delivered_by_the_dead",
    [
        ("after_render", 0),  # rendered and recorded, SMTP never started
        ("before_send", 0),  # 'sending' committed, SMTP never started
        ("after_send", 1),  # the server said 250, the worker died before recording 'sent'
    ],
)
def test_sigkilled_worker_neither_duplicates_nor_skips(settings, database, sink, point, delivered_by_the_dead):
    broker = make_broker(settings.redis_url)
    uid = due_user(database, "kill@example.org")
    week = schedule.due_week(schedule.Preference(uid, "UTC", *_pref(database, uid)), datetime.now(timezone.utc))
    assert week is not None

    # Given a worker that SIGKILLs itself at the named point
    doomed = start_worker(worker_env(settings, sink.journal_url, fault=point))
    try:
        enqueue(broker, uid, week.isoformat())
        # When it reaches that point, it dies (and dramatiq's parent process shuts down)
        wait_for(lambda: doomed.poll() is not None, 60, f"the worker to die at {point}")
    finally:
        stop_worker(doomed)
    state, mid = outbox_state(database, uid)
    assert state == ("rendered" if point == "after_render" else "sending")
    assert len(sink.delivered_to("kill@example.org")) == delivered_by_the_dead

    # Then a fresh worker and the scheduler's next sweep finish the job
    healthy = start_worker(worker_env(settings, sink.journal_url))
    try:
        enqueued = schedule.sweep(database, lambda u, w: enqueue(broker, u, w), None)
        assert enqueued == 1
        wait_for(lambda: outbox_state(database, uid)[0] == "sent", 60, "the digest to be recorded as sent")
        # a second sweep finds nothing to do, and a stray duplicate message changes nothing
        assert schedule.sweep(database, lambda u, w: enqueue(broker, u, w), None) == 0
        enqueue(broker, uid, week.isoformat())
        time.sleep(1.0)
    finally:
        stop_worker(healthy)
    # Exactly one mail, the one rendered before the crash
    assert sink.delivered_to("kill@example.org") == [f"<{mid}>"]
    assert outbox_state(database, uid) == ("sent", mid)


def _pref(db, uid):
    with db.tx() as conn:
        return conn.execute("SELECT weekday, hour FROM digest_settings WHERE user_id = %s", (uid,)).fetchone()


def test_workers_send_every_due_digest_once(settings, database, sink):
    # Given 40 users due now and two worker processes
    broker = make_broker(settings.redis_url)
    uids = [due_user(database, f"u{i}@example.org") for i in range(40)]
    off = due_user(database, "off@example.org")  # due now, but turned the digest off
    with database.tx() as conn:
        conn.execute("UPDATE digest_settings SET enabled = false WHERE user_id = %s", (off,))
    workers = start_worker(worker_env(settings, sink.url), processes=2, threads=4)
    try:
        # When the sweep runs three times in a row (as it would every five minutes)
        for _ in range(3):
            schedule.sweep(database, lambda u, w: enqueue(broker, u, w), None)
        wait_for(
            lambda: len(sink.deliveries) >= 40 and all(outbox_state(database, u)[0] == "sent" for u in uids),
            90,
            "all digests to be sent",
        )
        time.sleep(1.0)
    finally:
        stop_worker(workers)
    # Then each due user got exactly one mail, the disabled one none
    got = sorted(r for _, rcpts, _ in sink.deliveries for r in rcpts)
    assert got == sorted(f"u{i}@example.org" for i in range(40))


def test_kith_scheduler_enqueues_a_due_user_at_start(settings, database):
    """`kith scheduler` (service.jobs.scheduler.run) end to end: APScheduler's first sweep runs at start-up and enqueues
    the due user on the `email` queue of the real Redis."""
    import redis as redis_lib

    uid = due_user(database, "sched@example.org")
    env = worker_env(settings, "smtp://127.0.0.1:9")  # nothing is sent: no worker runs here
    log = open(Path(settings.home).parent / "scheduler.log", "w+b")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from service.config import load_settings\nfrom service.jobs.scheduler import run\nrun(load_settings())",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    client = redis_lib.Redis.from_url(settings.redis_url)
    try:
        wait_for(
            lambda: client.llen("dramatiq:email") >= 1 or proc.poll() is not None,
            60,
            "the scheduler to enqueue the digest",
        )
        assert proc.poll() is None, "the scheduler exited"
        import json

        message = json.loads(client.hvals("dramatiq:email.msgs")[0])
        assert message["actor_name"] == "send_weekly_digest" and message["args"][0] == uid
        assert client.exists(schedule.ENQUEUE_KEY.format(user_id=uid, week=message["args"][1]))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        client.close()
        log.seek(0)
        print(log.read().decode(errors="replace")[-3000:])
        log.close()
