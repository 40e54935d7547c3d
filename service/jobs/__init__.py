"""Background work: the broker, the actors bound to it, the schedule, enqueue helpers.

    broker.make_broker(redis_url) ──> Jobs(broker) ──> entry points, one Jobs per process:
      (queues: interactive,            actors: sync_account,      API lifespan -> app.state.jobs
       sync, scoring, email)                   sync_account_now,      (routes: api.jobs.Queue)
                                               import_file,       worker.setup  (`kith worker`,
                                               score_user,            `dramatiq service.jobs.worker:setup`)
                                               sync_all,          scheduler.run (`kith scheduler`)
                                               send_weekly_digest demo.run_demo (`kith demo`)

Nothing is built on import: no global broker, no Redis connection. The actors run logic
that lives elsewhere (`service.sync`, `service.imports`, `service.ties`, `service.digest`),
and that code never imports this package, so there is no cycle to work around.
"""

from __future__ import annotations

from .actors import Jobs, QueueUnavailable
from .broker import QUEUES, make_broker, queue_depths

__all__ = ["Jobs", "QueueUnavailable", "QUEUES", "make_broker", "queue_depths"]
