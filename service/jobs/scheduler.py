"""`kith scheduler`: APScheduler enqueueing the digests that are due, and a nightly sync.

Who is due, and when, is the digest's pure business (`service.digest.schedule`: `due_at`,
`due_week`, `sweep`); this module only runs the sweep every five minutes on the wall clock
and hands it an enqueue function bound to this process's broker. It sends nothing itself,
so exactly one scheduler runs (the outbox keeps mail exactly-once even if two did).
"""

from __future__ import annotations

import logging
import signal
from datetime import datetime, timezone

from ..digest.schedule import SWEEP_MINUTES, sweep

log = logging.getLogger(__name__)


def build_scheduler(settings, db, redis_client, enqueue, *, blocking: bool = True):
    """The APScheduler instance `run` starts (separate so tests can inspect its jobs)."""
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler
    from apscheduler.triggers.cron import CronTrigger

    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(
        timezone=timezone.utc, job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 240}
    )
    scheduler.add_job(
        sweep,
        CronTrigger(minute=SWEEP_MINUTES, second=2, timezone=timezone.utc),
        args=(db, enqueue, redis_client),
        id="digest-sweep",
        next_run_time=datetime.now(timezone.utc),
    )
    return scheduler


def run(settings) -> None:
    """Blocking: sweep every five minutes, plus a nightly sync of every account."""
    import redis as redis_lib
    from apscheduler.triggers.cron import CronTrigger

    from ..db import Database
    from .actors import Jobs
    from .broker import make_broker

    jobs = Jobs(make_broker(settings.redis_url))
    db = Database(settings.database_url, min_size=1, max_size=2)
    client = redis_lib.Redis.from_url(settings.redis_url)
    scheduler = build_scheduler(settings, db, client, jobs.send_digest)
    # Nightly: sync every live account (each sync enqueues the user's scoring).
    scheduler.add_job(jobs.sync_all.send, CronTrigger(hour=2, minute=30, timezone=timezone.utc), id="nightly-sync")
    log.info("scheduler running: digest sweep every 5 minutes, nightly sync at 02:30 UTC")
    # SIGTERM (docker stop, systemd, Kubernetes) ends the loop cleanly, like Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: scheduler.shutdown(wait=False))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        db.close()
        client.close()
