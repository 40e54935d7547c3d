"""Writes and reads of users, accounts and synced interactions (psycopg 3).

Interactions are written a page at a time: COPY into a temporary staging table, then one
INSERT .. ON CONFLICT into the real table, so re-importing changes nothing and a page is
as fast as a bulk load. A page's rows and its cursor share one transaction.

A page the database refuses (a value it cannot hold slipped past the parsers) is split in
halves under savepoints until the refused items stand alone; they are quarantined with the
database's reason and the rest of the page is stored, in that same transaction. One poison
message therefore costs one quarantine row, never the page, the cursor or the sync.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime

import psycopg

from ingest.errors import InputError
from ingest.records import Interaction, Quarantined

from . import providers
from .people import add_own_addresses

MAX_EXCERPT = 2000
log = logging.getLogger(__name__)
# Errors that one item's values can cause: worth splitting a page to find the item. Lost
# connections, deadlocks and the like are not among them; they fail the page as before.
ITEM_ERRORS = (
    psycopg.DataError,
    psycopg.IntegrityError,
    psycopg.errors.ProgramLimitExceeded,
    UnicodeError,
    ValueError,
    OverflowError,
)


# --- users and accounts -------------------------------------------------------------


def create_user(conn, email: str, name: str | None = None, timezone: str = "UTC") -> int:
    email = email.strip().lower()
    row = conn.execute(
        "INSERT INTO users (email, name, timezone) VALUES (%s, %s, %s) "
        "ON CONFLICT (email) DO UPDATE SET name = COALESCE(EXCLUDED.name, users.name) RETURNING id",
        (email, name, timezone),
    ).fetchone()
    add_own_addresses(conn, row[0], [email], "given")
    conn.execute("INSERT INTO digest_settings (user_id) VALUES (%s) ON CONFLICT DO NOTHING", (row[0],))
    return row[0]


def user_by_email(conn, email: str) -> dict | None:
    cur = conn.execute(
        "SELECT id, email, name, timezone, created_at FROM users WHERE email = %s", (email.strip().lower(),)
    )
    row = cur.fetchone()
    if row is None:
        return None
    return dict(zip([c.name for c in cur.description], row))


def require_user(conn, email: str) -> dict:
    """The user with this email, or a clear error saying how to create one."""
    user = user_by_email(conn, email)
    if user is None:
        raise InputError(f"no user {email!r}: create one with `kith user add {email}`")
    return user


def ensure_account(conn, user_id: int, provider: str, address: str, scopes=()) -> int:
    address = address.strip().lower()
    row = conn.execute(
        "INSERT INTO accounts (user_id, provider, address, scopes) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (user_id, provider, address) DO UPDATE SET "
        "scopes = CASE WHEN cardinality(EXCLUDED.scopes) > 0 THEN EXCLUDED.scopes ELSE accounts.scopes END "
        "RETURNING id",
        (user_id, provider, address, list(scopes)),
    ).fetchone()
    if providers.synced(provider):
        add_own_addresses(conn, user_id, [address], "account")
    return row[0]


def account(conn, account_id: int) -> dict | None:
    cur = conn.execute("SELECT * FROM accounts WHERE id = %s", (account_id,))
    row = cur.fetchone()
    return dict(zip([c.name for c in cur.description], row)) if row else None


# --- interactions -------------------------------------------------------------------

_STAGE = """
CREATE TEMP TABLE IF NOT EXISTS stage_interactions (
    provider_id text, kind text, occurred_at timestamptz, thread_id text, message_id text,
    in_reply_to text, refs text[], duration_s integer, all_day boolean, status text,
    labels text[], is_sent boolean, is_draft boolean, headers jsonb, n_participants integer
) ON COMMIT DELETE ROWS
"""

_STAGE_TYPES = [
    "text",
    "text",
    "timestamptz",
    "text",
    "text",
    "text",
    "text",  # refs: an array literal (see _array)
    "int4",
    "bool",
    "text",
    "text",  # labels: an array literal (see _array), read by the text[] column
    "bool",
    "bool",
    "text",
    "int4",
]
_PARTICIPANT_TYPES = ["int8", "int8", "text", "text", "text", "text"]

_UPSERT = """
INSERT INTO interactions (user_id, account_id, provider_id, resource, kind, occurred_at,
    thread_id, message_id, in_reply_to, refs, duration_s, all_day, status, labels,
    is_sent, is_draft, headers, n_participants, sync_generation)
SELECT %(u)s, %(a)s, provider_id, %(r)s, kind, occurred_at, thread_id, message_id,
    in_reply_to, refs, duration_s, all_day, status, labels, is_sent, is_draft, headers,
    n_participants, %(g)s
FROM stage_interactions
ON CONFLICT (account_id, provider_id) DO UPDATE SET
    resource = EXCLUDED.resource, kind = EXCLUDED.kind, occurred_at = EXCLUDED.occurred_at,
    thread_id = EXCLUDED.thread_id, message_id = EXCLUDED.message_id,
    in_reply_to = EXCLUDED.in_reply_to, refs = EXCLUDED.refs,
    duration_s = EXCLUDED.duration_s, all_day = EXCLUDED.all_day,
    status = EXCLUDED.status,
    labels = CASE WHEN %(merge)s AND interactions.sync_generation = EXCLUDED.sync_generation
        THEN interactions.labels || ARRAY(SELECT l FROM unnest(EXCLUDED.labels) l
                                          WHERE l <> ALL(interactions.labels))
        ELSE EXCLUDED.labels END,
    is_sent = CASE WHEN %(merge)s AND interactions.sync_generation = EXCLUDED.sync_generation
        THEN COALESCE(interactions.is_sent OR EXCLUDED.is_sent, interactions.is_sent, EXCLUDED.is_sent)
        ELSE EXCLUDED.is_sent END,
    is_draft = EXCLUDED.is_draft OR (%(merge)s
        AND interactions.sync_generation = EXCLUDED.sync_generation AND interactions.is_draft),
    headers = EXCLUDED.headers,
    n_participants = EXCLUDED.n_participants, sync_generation = EXCLUDED.sync_generation
RETURNING id, provider_id, (xmax <> 0) AS updated
"""


def _array(values: tuple[str, ...]) -> str:
    """A text[] literal: psycopg's array dumper is Python code run per value; the stage's
    text[] columns read this form from COPY the same way."""
    if not values:
        return "{}"
    return "{" + ",".join('"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"' for v in values) + "}"


def _dedupe(items) -> list[Interaction]:
    latest: dict[str, Interaction] = {}
    for item in items:
        latest[item.provider_id] = item  # a later copy in the same page wins
    return list(latest.values())


def write_interactions(
    conn,
    user_id: int,
    account_id: int,
    resource: str,
    interactions: list[Interaction],
    generation: int = 0,
    merge_copies: bool = False,
) -> int:
    """Upsert a page of interactions and (re)write their participants.

    `merge_copies` (file imports): a row already written in this sync generation is
    another copy of the same message (Takeout writes one per label), so its labels are
    the union and it is sent or a draft if any copy is; within one run the importer merges
    copies itself, but a resumed run starts from the cursor without the earlier copies.
    In a new generation (a fresh full import) the first copy replaces what was there.
    Provider syncs replace: the provider's current label set is the truth there."""
    if not interactions:
        return 0
    interactions = _dedupe(interactions)
    with conn.cursor() as cur:
        # Rows of an earlier call in this transaction would otherwise be taken for this page's
        # (TRUNCATE); both in one round trip.
        cur.execute(_STAGE + "; TRUNCATE stage_interactions")
        with cur.copy("COPY stage_interactions FROM STDIN") as copy:
            # Types given once: psycopg then skips choosing a dumper for every value. The
            # headers are JSON text already, so they go as text (jsonb would quote them again).
            copy.set_types(_STAGE_TYPES)
            labels: dict[tuple[str, ...], str] = {}  # a mailbox has a few dozen label sets
            for it in interactions:
                copy.write_row(
                    (
                        it.provider_id,
                        it.kind,
                        it.occurred_at,
                        it.thread_id,
                        it.message_id,
                        it.in_reply_to,
                        _array(it.references),
                        it.duration_s,
                        it.all_day,
                        it.status,
                        labels.get(it.labels) or labels.setdefault(it.labels, _array(it.labels)),
                        it.is_sent,
                        it.is_draft,
                        json.dumps(dict(it.headers)) if it.headers else "{}",
                        it.audience if it.audience is not None else len({p.address for p in it.participants}),
                    )
                )
        cur.execute(_UPSERT, {"u": user_id, "a": account_id, "r": resource, "g": generation, "merge": merge_copies})
        ids, updated = {}, []
        for row_id, provider_id, was_update in cur.fetchall():
            ids[provider_id] = row_id
            if was_update:
                updated.append(row_id)
        if updated:
            # An update may change recipients: its participants are written anew.
            cur.execute("DELETE FROM participants WHERE interaction_id = ANY(%s)", (updated,))
        with cur.copy("COPY participants (interaction_id, user_id, address, role, name, response) FROM STDIN") as copy:
            copy.set_types(_PARTICIPANT_TYPES)
            for it in interactions:
                row_id = ids[it.provider_id]
                seen = set()
                for p in it.participants:
                    key = (p.role, p.address)
                    if key in seen:
                        continue
                    seen.add(key)
                    copy.write_row((row_id, user_id, p.address, p.role, p.name, p.response))
    return len(interactions)


def write_interactions_or_split(
    conn,
    user_id: int,
    account_id: int,
    resource: str,
    interactions: list[Interaction],
    generation: int = 0,
    merge_copies: bool = False,
) -> tuple[int, list[Quarantined]]:
    """`write_interactions`, but items the database refuses are returned as Quarantined
    (with its reason) instead of failing the page; the rest are written."""
    refused: list[Quarantined] = []
    written = _write_part(conn, user_id, account_id, resource, _dedupe(interactions), generation, merge_copies, refused)
    return written, refused


def _write_part(conn, user_id, account_id, resource, part, generation, merge_copies, refused) -> int:
    if not part:
        return 0
    try:
        with conn.transaction():  # a savepoint: a refusal undoes only this part
            return write_interactions(conn, user_id, account_id, resource, part, generation, merge_copies)
    except ITEM_ERRORS as exc:
        if len(part) == 1:
            item = part[0]
            log.warning("item %s of %s could not be stored: %s", item.provider_id[:80], resource, type(exc).__name__)
            refused.append(
                Quarantined(item.provider_id, f"could not be stored: {_reason(exc)}", _item_excerpt(item), resource)
            )
            return 0
    half = len(part) // 2
    return _write_part(
        conn, user_id, account_id, resource, part[:half], generation, merge_copies, refused
    ) + _write_part(conn, user_id, account_id, resource, part[half:], generation, merge_copies, refused)


def _reason(exc: BaseException) -> str:
    # The database's first line names the problem; values it may quote stay out of the reason.
    if isinstance(exc, psycopg.Error) and exc.diag.message_primary:
        text = exc.diag.message_primary
    else:
        text = str(exc).split("\n", 1)[0]
    return f"{type(exc).__name__}: {text[:200]}"


def _item_excerpt(item: Interaction) -> str:
    lines = [f"Date: {item.occurred_at.isoformat()}"]
    lines += [f"{p.role.title()}: {p.address}" for p in item.participants[:10]]
    if item.message_id:
        lines.append(f"Message-ID: {item.message_id}")
    return "\n".join(lines)


def write_quarantine(conn, user_id: int, account_id: int | None, resource: str, items: list[Quarantined]) -> int:
    if not items:
        return 0
    rows = [(user_id, account_id, resource, q.ref, q.reason, q.excerpt[:MAX_EXCERPT]) for q in items]
    sql = (
        "INSERT INTO quarantine (user_id, account_id, resource, ref, reason, excerpt) "
        "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (account_id, resource, ref) "
        "DO UPDATE SET reason = EXCLUDED.reason, excerpt = EXCLUDED.excerpt, created_at = now()"
    )
    try:
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(sql, rows)
    except ITEM_ERRORS:
        # Rows are cleaned on construction, so this is a last line of defence: each row on
        # its own, and one that still fails is kept without its excerpt.
        for row in rows:
            try:
                with conn.transaction():
                    conn.execute(sql, row)
            except ITEM_ERRORS:
                with conn.transaction():
                    conn.execute(sql, row[:4] + ("could not be stored as read", ""))
    return len(items)


def remove_interactions(conn, account_id: int, provider_ids: list[str], resource: str | None = None) -> int:
    """Delete by provider id; with `resource`, only rows that resource holds: a Graph message
    moved between synced folders keeps its id, and the old folder's `@removed` must not
    delete the copy the new folder has already written."""
    if not provider_ids:
        return 0
    if resource is None:
        cur = conn.execute(
            "DELETE FROM interactions WHERE account_id = %s AND provider_id = ANY(%s)", (account_id, provider_ids)
        )
    else:
        cur = conn.execute(
            "DELETE FROM interactions WHERE account_id = %s AND provider_id = ANY(%s) AND resource = %s",
            (account_id, provider_ids, resource),
        )
    return cur.rowcount


def count_interactions(conn, user_id: int) -> int:
    return conn.execute("SELECT count(*) FROM interactions WHERE user_id = %s", (user_id,)).fetchone()[0]


def utc(dt: datetime) -> str:
    return dt.isoformat().replace("+00:00", "Z")
