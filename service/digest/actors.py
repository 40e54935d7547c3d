"""The digest's dramatiq actor, on the `email` queue. Thin: ids in, the outbox decides.

Retries are safe because the outbox is: a retry of a digest that already went out
answers "already_sent" and sends nothing.
"""
from __future__ import annotations

import logging
from datetime import date

import dramatiq
from dramatiq.errors import Retry

from .. import context
from .mailer import NotDelivered
from .outbox import OutboxBusy

log = logging.getLogger(__name__)


def _ensure_broker() -> None:
    from dramatiq import broker as broker_module

    if broker_module.global_broker is None:
        # Imported outside an entry point (`dramatiq service.digest.actors`): broker from the environment.
        from ..broker import make_broker

        dramatiq.set_broker(make_broker(context.get().settings.redis_url))


_ensure_broker()


@dramatiq.actor(queue_name="email", max_retries=8, min_backoff=5_000, max_backoff=10 * 60_000,
                time_limit=5 * 60_000)
def send_weekly_digest(user_id: int, week: str) -> None:
    from . import send_digest

    ctx = context.get()
    try:
        outcome = send_digest(ctx.settings, ctx.db, user_id, date.fromisoformat(week))
    except LookupError:
        log.info("digest for user %s: the user is gone", user_id)
        return
    except OutboxBusy:
        raise Retry("another attempt holds this digest", delay=15_000) from None
    except NotDelivered as exc:
        if exc.permanent:
            # The server refused for good (e.g. unknown mailbox): retrying will not help.
            log.warning("digest for user %s week %s refused: %s", user_id, week, exc)
            return
        raise
    log.debug("digest for user %s week %s: %s", user_id, week, outcome)


ACTORS = [send_weekly_digest]
