"""Work the API hands to the dramatiq workers: a sync someone waits for, a re-scoring.

`service.workers` is imported at call time, not at module import: importing it binds the
actors to the global broker, which the app's lifespan sets up from its own settings
(`broker.setup_broker`). Importing it earlier would build a broker from the environment.
"""
from __future__ import annotations

import logging

log = logging.getLogger("kith.api")


class QueueUnavailable(RuntimeError):
    pass


def sync_now(account_id: int) -> None:
    from .. import workers

    try:
        workers.sync_account_now.send(account_id)
    except Exception as exc:  # the broker's errors vary (redis, connection); all mean "not queued"
        log.warning("could not queue a sync", extra={"account_id": account_id, "error": type(exc).__name__})
        raise QueueUnavailable("The work queue is not reachable; try again shortly.") from exc


def rescore(user_id: int) -> bool:
    """Ask for a re-scoring after the user changed people or rules; best effort.

    The weekly schedule re-scores anyway, so a broker outage only delays the change.
    """
    from .. import workers

    try:
        workers.score_user.send(user_id)
        return True
    except Exception as exc:
        log.warning("could not queue a re-scoring", extra={"user_id": user_id, "error": type(exc).__name__})
        return False
