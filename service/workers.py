"""Dramatiq actors. Thin: they take ids, build nothing but a context, and are idempotent.

`kith worker` runs them; `dramatiq service.workers` works too (the broker then comes from
the environment, embedded Redis when KITH_REDIS_URL is unset).
"""
from __future__ import annotations

import logging

import dramatiq
from dramatiq.errors import Retry

from ingest.errors import AuthRevoked, InputError, RateLimited

from . import context

log = logging.getLogger(__name__)


def _ensure_broker() -> None:
    from dramatiq import broker as broker_module

    if broker_module.global_broker is None:
        # Imported outside an entry point (e.g. by `dramatiq service.workers`): the broker
        # comes from the environment. Entry points call broker.setup_broker first.
        from .broker import make_broker

        dramatiq.set_broker(make_broker(context.get().settings.redis_url))


_ensure_broker()


def _sync(account_id: int) -> None:
    from .sync import AlreadySyncing, sync_account as run

    ctx = context.get()
    try:
        run(ctx.settings, ctx.db, account_id)
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
    score_user.send(row[0])


_EXISTS = {"account": "SELECT 1 FROM accounts WHERE id = %s", "user": "SELECT 1 FROM users WHERE id = %s"}


def _exists(db, kind: str, row_id: int) -> bool:
    with db.tx() as conn:
        return conn.execute(_EXISTS[kind], (row_id,)).fetchone() is not None


# Background syncs yield to a sync a person waits for when one worker serves both queues.
@dramatiq.actor(queue_name="sync", max_retries=20, throws=(InputError,), priority=10)
def sync_account(account_id: int) -> None:
    """Background incremental sync of one account."""
    _sync(account_id)


@dramatiq.actor(queue_name="interactive", max_retries=20, throws=(InputError,))
def sync_account_now(account_id: int) -> None:
    """A sync a person is waiting for (first sync after connecting, sync-now)."""
    _sync(account_id)


@dramatiq.actor(queue_name="interactive", max_retries=3, throws=(InputError,))
def import_file(user_id: int, kind: str, path: str, addresses: list[str] | None = None) -> None:
    from .imports import import_file as run

    db = context.get().db
    try:
        run(db, user_id, kind, path, addresses=addresses)
    except Exception:
        if _exists(db, "user", user_id):
            raise
        log.info("user %s no longer exists; their import message is dropped", user_id)
        return
    score_user.send(user_id)


@dramatiq.actor(queue_name="scoring", max_retries=5)
def score_user(user_id: int) -> None:
    from .ties import score_user as run

    run(context.get().db, user_id)


@dramatiq.actor(queue_name="sync", max_retries=3)
def sync_all() -> None:
    """Enqueue an incremental sync of every live account (the scheduler calls this)."""
    with context.get().db.tx() as conn:
        ids = [r[0] for r in conn.execute(
            "SELECT id FROM accounts WHERE provider IN ('google', 'microsoft') "
            "AND status NOT IN ('auth_revoked', 'disabled') ORDER BY id")]
    for account_id in ids:
        sync_account.send(account_id)


from .digest import actors as digest_actors  # noqa: E402  (declares the email actor)

ACTORS = [sync_account, sync_account_now, import_file, score_user, sync_all, *digest_actors.ACTORS]
