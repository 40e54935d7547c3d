"""The bridge from stored interactions to the model's input: reads the rows and what is
known of the user's people, and hands them to the pure `assembly.assemble`.

    exchanges, info = load_exchanges(conn, user_id, as_of)   # for analytics.score_ties
    exclusions(conn, user_id, as_of)                         # what was left out, and why

Only reads: people are given to new addresses by `refresh.refresh_people`, which the
writers of interactions and `score_user` run first. Mail newer than the last refresh is
left out until then (`AnalyticsInput.unknown` names its addresses).
"""

from __future__ import annotations

from datetime import datetime

from analytics.records import Exchange

from ..db import rows as _rows
from .assembly import assemble
from .own import own_addresses
from .persons import people_addresses
from .records import AnalyticsInput, Directory
from .rules import org_domains

# One `records.InteractionRow` per interaction, in time order.
_FETCH = """
SELECT i.kind, extract(epoch FROM i.occurred_at)::float8, i.message_id,
       coalesce(i.in_reply_to, i.refs[cardinality(i.refs)]), i.thread_id, i.duration_s, i.status,
       array_to_string(i.labels, E'\\x1f'), i.is_sent, i.is_draft, nullif(i.headers, '{}'::jsonb),
       min(p.address) FILTER (WHERE p.role IN ('from', 'organizer')),
       string_agg(p.address, E'\\x1f') FILTER (WHERE p.role IN ('to', 'cc', 'bcc')),
       string_agg(p.address || E'\\x1e' || coalesce(p.response, ''), E'\\x1f') FILTER (WHERE p.role = 'attendee'),
       i.n_participants,
       string_agg(p.address, E'\\x1f') FILTER (WHERE p.role = 'to')
FROM interactions i JOIN participants p ON p.interaction_id = i.id
WHERE i.user_id = %s AND i.occurred_at < coalesce(%s::timestamptz, 'infinity'::timestamptz)
GROUP BY i.id
ORDER BY 2, i.id
"""


def load_directory(conn, user_id: int) -> Directory:
    """Everything stored about the user's people that the assembly needs."""
    return Directory(
        own=own_addresses(conn, user_id),
        person_of=dict(_rows(conn, "SELECT address, person_id FROM person_addresses WHERE user_id = %s", (user_id,))),
        rules=_rows(conn, "SELECT kind, value, action FROM rules WHERE user_id = %s", (user_id,)),
        addresses=people_addresses(conn, user_id),
        names=dict(_rows(conn, "SELECT id, display_name FROM people WHERE user_id = %s", (user_id,))),
        used=dict(_rows(conn, "SELECT address, count(*) FROM participants WHERE user_id = %s GROUP BY 1", (user_id,))),
        org_domains=org_domains(conn, user_id),
    )


def analytics_input(
    conn, user_id: int, as_of: datetime | None = None, *, include_colleagues: bool = True
) -> AnalyticsInput:
    """The assembled input from interactions before `as_of` (all of them when None)."""
    rows = _rows(conn, _FETCH, (user_id, as_of))
    return assemble(rows, load_directory(conn, user_id), include_colleagues=include_colleagues)


def load_exchanges(
    conn, user_id: int, as_of: datetime | None = None, *, include_colleagues: bool = True
) -> tuple[list[Exchange], dict[int, dict]]:
    """The model's input: every exchange with the user before `as_of`, noise left out, and
    {person_id: {"name", "addresses", "primary", "colleague"}} for everyone in them."""
    result = analytics_input(conn, user_id, as_of, include_colleagues=include_colleagues)
    return result.exchanges, result.info


def exclusions(conn, user_id: int, as_of: datetime | None = None) -> list[dict]:
    """What was left out and why: [{"address", "person_id", "reason", "count", "tie_kept"}],
    biggest first.
    `person_id` is 0 for the user's own mail (e.g. a draft, a cancelled meeting they organised)."""
    out = exclusion_rows(conn, user_id, as_of)
    out.sort(key=lambda r: (-r["count"], r["address"], r["reason"]))
    return out


def exclusion_rows(conn, user_id: int, as_of: datetime | None = None) -> list[dict]:
    """`exclusions` in no order: `exclusion_pages` picks a page out of them."""
    return analytics_input(conn, user_id, as_of).exclusions
