"""`Jobs`: Kith's dramatiq actors declared on one broker, and the enqueue helpers.

An entry point makes a broker and binds the actors to it once per process:

    jobs = Jobs(make_broker(settings.redis_url))
    jobs.sync_now(account_id)            # a person waits for it (the `interactive` queue)

Actors are thin: they take ids, build nothing but the per-process context
(`service.context`), and are idempotent. Their names, queues and retry settings are part of
the interface: messages waiting in Redis are routed by actor name, so a message queued by
an older release still finds its actor. The work they run lives with its logic
(`service.sync`, `service.imports`, `service.ties`, `service.digest`); none of those
modules imports this package.
"""

from __future__ import annotations

import logging
from datetime import date

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from dramatiq.errors import Retry

from ingest.errors import AuthRevoked, InputError, KithError, RateLimited

from .. import context, providers

log = logging.getLogger(__name__)


class QueueUnavailable(KithError, RuntimeError):
    """The broker did not take the message (Redis down or unreachable)."""


class Jobs:
    """The actors, bound to `broker`; attributes are dramatiq actors (`.send` works)."""

    def __init__(self, broker: RedisBroker):
        self.broker = broker

        def declare(fn, name: str, **options):
            return dramatiq.actor(actor_name=name, broker=broker, **options)(fn)

        # Background syncs yield to a sync a person waits for when one worker serves both queues.
        self.sync_account = declare(
            self._sync, "sync_account", queue_name="sync", max_retries=20, throws=(InputError,), priority=10
        )
        self.sync_account_now = declare(
            self._sync, "sync_account_now", queue_name="interactive", max_retries=20, throws=(InputError,)
        )
        self.import_file = declare(
            self._import_file, "import_file", queue_name="interactive", max_retries=3, throws=(InputError,)
        )
        self.score_user = declare(self._score_user, "score_user", queue_name="scoring", max_retries=5)
        self.sync_all = declare(self._sync_all, "sync_all", queue_name="sync", max_retries=3)
        self.send_weekly_digest = declare(
            self._send_weekly_digest,
            "send_weekly_digest",
            queue_name="email",
            max_retries=8,
            min_backoff=5_000,
            max_backoff=10 * 60_000,
            time_limit=5 * 60_000,
        )
        self.actors = [
            self.sync_account,
            self.sync_account_now,
            self.import_file,
            self.score_user,
            self.sync_all,
            self.send_weekly_digest,
        ]

    # -- enqueue helpers (what entry points and routes call) --------------------------------

    def sync_now(self, account_id: int) -> None:
        """A sync a person is waiting for; raises QueueUnavailable when it was not queued."""
        try:
            self.sync_account_now.send(account_id)
        except Exception as exc:  # the broker's errors vary (redis, connection); all mean "not queued"
            log.warning("could not queue a sync", extra={"account_id": account_id, "error": type(exc).__name__})
            raise QueueUnavailable("The work queue is not reachable; try again shortly.") from exc

    def queue_first_sync(self, account_id: int) -> bool:
        """The first sync after connecting; False when the broker is down (`kith sync` or the
        nightly round picks the account up later)."""
        try:
            self.sync_now(account_id)
        except QueueUnavailable:
            return False
        return True

    def rescore(self, user_id: int) -> bool:
        """Ask for a re-scoring after the user changed people or rules; best effort.

        The weekly schedule re-scores anyway, so a broker outage only delays the change.
        """
        try:
            self.score_user.send(user_id)
            return True
        except Exception as exc:
            log.warning("could not queue a re-scoring", extra={"user_id": user_id, "error": type(exc).__name__})
            return False

    def send_digest(self, user_id: int, week: str) -> None:
        """Queue the weekly email of `user_id` for `week` (ISO date of its Monday)."""
        self.send_weekly_digest.send(user_id, week)

    # -- actor bodies ------------------------------------------------------------------------

    def _sync(self, account_id: int) -> None:
        """Incremental sync of one account (background or a person waiting), then its scoring."""
        from ..sync import AlreadySyncing, sync_account as run

        ctx = context.get()
        try:
            # A first sync asks for provisional scores as soon as the recent months are in.
            run(ctx.settings, ctx.db, account_id, on_provisional=self.rescore)
        except AlreadySyncing:
            log.info("account %s already syncing elsewhere; skipped", account_id)
            return
        except RateLimited as exc:
            raise Retry(str(exc), delay=int(exc.retry_after * 1000) + 250) from None
        except AuthRevoked:
            log.warning("account %s: access revoked, waiting for the user to reconnect", account_id)
            return
        except Exception:
            # Whatever failed (no such account, a page whose account was deleted meanwhile),
            # retrying cannot help once the account is gone: the message ends here.
            if _exists(ctx.db, "account", account_id):
                raise
            log.info("account %s no longer exists; its sync message is dropped", account_id)
            return
        with ctx.db.tx() as conn:
            row = conn.execute("SELECT user_id FROM accounts WHERE id = %s", (account_id,)).fetchone()
        if row is None:
            log.info("account %s was deleted during its sync; nothing to score", account_id)
            return
        self.score_user.send(row[0])

    def _import_file(self, user_id: int, kind: str, path: str, addresses: list[str] | None = None) -> None:
        from ..imports import import_file as run

        db = context.get().db
        try:
            run(db, user_id, kind, path, addresses=addresses)
        except Exception:
            if _exists(db, "user", user_id):
                raise
            log.info("user %s no longer exists; their import message is dropped", user_id)
            return
        self.score_user.send(user_id)

    def _score_user(self, user_id: int) -> None:
        from ..ties.scoring import score_user as run

        run(context.get().db, user_id)

    def _sync_all(self) -> None:
        """Enqueue an incremental sync of every live account (the scheduler calls this)."""
        with context.get().db.tx() as conn:
            ids = [
                r[0]
                for r in conn.execute(
                    "SELECT id FROM accounts WHERE provider = ANY(%s) "
                    "AND status NOT IN ('auth_revoked', 'disabled') ORDER BY id",
                    (list(providers.names()),),
                )
            ]
        for account_id in ids:
            self.sync_account.send(account_id)

    def _send_weekly_digest(self, user_id: int, week: str) -> None:
        """The digest, on the `email` queue. Retries are safe because the outbox is: a retry
        of a digest that already went out answers "already_sent" and sends nothing."""
        from ..digest import send_digest
        from ..digest.mailer import NotDelivered
        from ..digest.outbox import OutboxBusy

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


_EXISTS = {"account": "SELECT 1 FROM accounts WHERE id = %s", "user": "SELECT 1 FROM users WHERE id = %s"}


def _exists(db, kind: str, row_id: int) -> bool:
    with db.tx() as conn:
        return conn.execute(_EXISTS[kind], (row_id,)).fetchone() is not None
