"""Pages of ties for the API and the dashboard: filtered, sorted, cursor-paginated.

Two sources, one contract. A stored snapshot (the common case, and the hot path) is paged
in SQL: Postgres filters, orders and renders each tie's JSON, so a page costs one statement
and no per-tie parsing in Python (`page_sql`); the API first checks the token and finds the
snapshot in one cheap statement (`authorized_snapshot_sql`), the key of its page cache. Ties
computed for an `as_of` without a snapshot (or for a user never scored) are paged in
Python with the same keys (`computed_page`), so both give the same order and cursors. A
cursor pins the snapshot it started on: a new scoring run in the middle of paging does
not shuffle the pages (the cursor itself: cursor.py; each tie's JSON: shape.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .. import auth
from .as_of import iso
from .cursor import NOT_OURS, BadCursor, Cursor
from .shape import TIE_TEXT, exact_strength, public

# sort name -> (SQL key expression, SQL type of a cursor value, Python key of a tie dict, its type)
# An empty name counts as none (as `name or contact` does in Python).
_NAME_SQL = "lower(coalesce(nullif(s.payload->>'name', ''), s.payload->>'contact', '')) COLLATE \"C\""
_LAST_SQL = "coalesce(s.payload->>'last_interaction', '')"
_RANK_SQL = "coalesce((s.payload->>'deepen_rank')::int, 2147483647)"
NO_RANK = 2147483647

SORTS = {
    "strength": ("s.strength", "float8", exact_strength, float),
    "reciprocity": ("s.reciprocity", "int", lambda t: int(t.get("reciprocity") or 0), int),
    "last_interaction": (_LAST_SQL, "text", lambda t: t.get("last_interaction") or "", str),
    "name": (_NAME_SQL, "text", lambda t: (t.get("name") or t.get("contact") or "").lower(), str),
    "deepen": (_RANK_SQL, "int", lambda t: t.get("deepen_rank") or NO_RANK, int),
}


@dataclass(frozen=True)
class Query:
    sort: str = "-strength"
    tiers: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    text: str | None = None
    limit: int = 50
    ranked_only: bool = False  # only ties with a deepen rank

    @property
    def key(self) -> str:
        return self.sort.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")


def _like(text: str) -> str:
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _checked(key: str, value) -> str:
    """The cursor value as text Postgres will cast without an error, or BadCursor."""
    kind = SORTS[key][3]
    try:
        text = str(kind(value))
    except (ValueError, OverflowError) as exc:
        raise BadCursor(NOT_OURS) from exc
    if "\x00" in text or (kind is int and not -(2**31) <= int(value) < 2**31) or text in ("nan", "inf", "-inf"):
        raise BadCursor(NOT_OURS)
    return text


def page_sql(
    user_id: int | None, as_of: datetime | None, query: Query, cursor: Cursor | None, user_sql: str = "%(u)s"
) -> tuple[str, dict]:
    """The statement for one page of the snapshot at `as_of` (None: the latest one).

    The latest snapshot is found inside the same statement: one round trip per page.
    `user_sql` names the user in SQL (a parameter, or a column of an enclosing query).
    """
    expr, sql_type, _, _ = SORTS[query.key]
    op, order = ("<", "DESC") if query.descending else (">", "ASC")
    latest = f"(SELECT max(as_of) FROM score_snapshots WHERE user_id = {user_sql})"
    where = [f"s.user_id = {user_sql}", f"s.as_of = {'%(a)s' if as_of is not None else latest}"]
    params: dict = {"u": user_id, "a": as_of, "n": query.limit + 1}
    if query.tiers:
        where.append("s.tier = ANY(%(tiers)s)")
        params["tiers"] = list(query.tiers)
    if query.flags:
        where.append("s.flags && %(flags)s::text[]")
        params["flags"] = list(query.flags)
    if query.ranked_only:
        where.append("(s.payload->>'deepen_rank') IS NOT NULL")
    if query.text:
        where.append(
            "(s.payload->>'name' ILIKE %(q)s OR s.payload->>'contact' ILIKE %(q)s"
            " OR (s.payload->'addresses')::text ILIKE %(q)s)"
        )
        params["q"] = _like(query.text)
    if cursor is not None:
        where.append(f"({expr}, s.person_id) {op} (%(cv)s::{sql_type}, %(cp)s)")
        params["cv"], params["cp"] = _checked(query.key, cursor.value), cursor.person_id
    sql = (
        f"SELECT {TIE_TEXT} AS t, ({expr})::text AS k, s.person_id, s.as_of FROM score_snapshots s"
        f" WHERE {' AND '.join(where)} ORDER BY {expr} {order}, s.person_id {order} LIMIT %(n)s"
    )
    return sql, params


def page_result(
    rows: list[tuple], query: Query, as_of: datetime | None
) -> tuple[list[str], str | None, datetime | None]:
    if rows:
        as_of = rows[0][3]
    next_cursor = None
    if len(rows) > query.limit:
        rows = rows[: query.limit]
        value, person_id = rows[-1][1], rows[-1][2]
        next_cursor = Cursor(query.sort, value, person_id, iso(as_of)).encode()
    return [r[0] for r in rows], next_cursor, as_of


def snapshot_page(
    conn, user_id: int, as_of: datetime | None, query: Query, cursor: Cursor | None
) -> tuple[list[str], str | None, datetime | None]:
    """One page of the snapshot at `as_of` (None: the latest) as JSON texts, the next cursor,
    and the snapshot's time (None when the page is empty and no time was given)."""
    sql, params = page_sql(user_id, as_of, query, cursor)
    return page_result(conn.execute(sql, params).fetchall(), query, as_of)


def authorized_snapshot_sql(token: dict, as_of: datetime | None) -> tuple[str, dict]:
    """Check a token and find the snapshot a page would come from, in one cheap statement
    (index lookups only): the key of GET /v1/ties's page cache (service/api/page_cache.py).

    No row: the token is not valid. Otherwise token_id, user_id, stale (see auth.TOKEN_CTE)
    and the snapshot's time: the latest one, or `as_of` if a snapshot was taken exactly
    then; NULL when there is none.
    """
    if as_of is None:
        snap = "(SELECT max(s.as_of) FROM score_snapshots s WHERE s.user_id = me.user_id)"
    else:
        snap = "(SELECT s.as_of FROM score_snapshots s WHERE s.user_id = me.user_id AND s.as_of = %(a)s LIMIT 1)"
    return f"WITH {auth.TOKEN_CTE} SELECT me.token_id, me.user_id, me.stale, {snap} FROM me", token | {"a": as_of}


def _matches(tie: dict, query: Query) -> bool:
    if query.ranked_only and tie.get("deepen_rank") is None:
        return False
    if query.tiers and tie.get("tier") not in query.tiers:
        return False
    if query.flags and not set(tie.get("flags") or ()) & set(query.flags):
        return False
    if query.text:
        needle = query.text.lower()
        haystack = [tie.get("name") or "", tie.get("contact") or "", *(tie.get("addresses") or ())]
        if not any(needle in h.lower() for h in haystack):
            return False
    return True


def computed_page(
    ties: list[dict], as_of: datetime | None, query: Query, cursor: Cursor | None
) -> tuple[list[dict], str | None]:
    """The same page as `snapshot_page`, over tie dicts computed in Python."""
    _, _, keyfn, kind = SORTS[query.key]
    rows = [t for t in ties if _matches(t, query)]
    rows.sort(key=lambda t: (keyfn(t), t["person_id"]), reverse=query.descending)
    if cursor is not None:
        try:
            mark = (kind(cursor.value), cursor.person_id)
        except ValueError as exc:
            raise BadCursor(NOT_OURS) from exc
        if query.descending:
            rows = [t for t in rows if (keyfn(t), t["person_id"]) < mark]
        else:
            rows = [t for t in rows if (keyfn(t), t["person_id"]) > mark]
    page = rows[: query.limit]
    next_cursor = None
    if len(rows) > query.limit:
        last = page[-1]
        next_cursor = Cursor(query.sort, keyfn(last), last["person_id"], iso(as_of)).encode()
    return [public(t) for t in page], next_cursor
