"""Erasing a user: every row (the schema cascades from `users`) and every file Kith wrote
for them outside the database (digest `.eml` files in the outbox, uploads not yet imported).

`kith delete` and `DELETE /v1/me` both come here, so neither can forget a part.
"""

from __future__ import annotations

import logging
from typing import TypeVar
from collections.abc import Callable

import psycopg

from . import uploads
from .db import Database
from .digest.mailer import FileMailer
from .teams.membership import leave_all as leave_all_teams

log = logging.getLogger(__name__)

T = TypeVar("T")


def erase_user(
    db: Database, settings, user_id: int, inventory: Callable[[psycopg.Connection], T] | None = None
) -> T | None:
    """Delete the user's rows and outbox files; returns `inventory(conn)`, taken in the same
    transaction just before the rows go (what was erased), when given."""
    outbox = FileMailer(settings.outbox_dir())
    with db.tx() as conn:
        counted = inventory(conn) if inventory is not None else None
        leave_all_teams(conn, user_id)  # teams left empty go too; the rest cascades from users
        # Every table references users ON DELETE CASCADE (directly or through accounts).
        conn.execute("DELETE FROM users WHERE id = %s", (user_id,))
        # Inside the transaction: if the files cannot be removed, the rows stay too and the
        # erasure can simply be asked for again (with the user gone, it could not be).
        files = outbox.erase(user_id)
    # Again after the commit: a digest being written at that moment may have put a file
    # back between the first sweep and the commit.
    files += outbox.erase(user_id)
    files += uploads.erase(settings, user_id)
    log.info("erased user %s (%d outbox files)", user_id, files)
    return counted
