"""Scoring a user's ties, and keeping the result as a snapshot.

The one path from stored interactions to the tie of DESIGN.md: people and noise
(`service.people.load_exchanges`) -> `analytics.score_ties` -> tie dicts (shape.py),
kept as snapshots in score_snapshots so trends can be shown. Snapshots are read back by
snapshots.py (whole), pages.py (a page at a time) and detail.py (one tie).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

from psycopg.types.json import Jsonb

import analytics

from .. import coverage, people
from ..teams import shares as team_shares
from ..db import Database
from . import evidence, flag_pool, horizon
from .feedback import domains_of, latest_words
from .shape import exact_strength, tie_dict

log = logging.getLogger(__name__)


def compute_ties(conn, user_id: int, as_of: datetime | None = None, *, include_colleagues: bool = True) -> list[dict]:
    as_of = as_of or horizon.scoring_moment(conn, user_id)
    exchanges, info = people.load_exchanges(conn, user_id, as_of, include_colleagues=include_colleagues)
    return _ties(conn, user_id, as_of, exchanges, info)


def _ties(
    conn, user_id: int, as_of: datetime, exchanges: list[analytics.Exchange], info: dict[int, dict]
) -> list[dict]:
    """The tie dicts of `exchanges` and `info` (people.load_exchanges) scored at `as_of`."""
    feedback = latest_words(conn, user_id, as_of)
    # While a first sync is still reading older mail, the mail is whole only since some
    # moment (the calendars are read whole first): the model learns from no snapshot before
    # it, whose features would lack the mail its label counts (analytics/training.py).
    since = coverage.live(conn, user_id).whole_since
    # Cooling and dormant are shown as the outcomes of the users of the user's organisation
    # say, else those of this deployment's other users (flag_pool.py).
    gate = flag_pool.gate(conn, as_of, user_id)
    scores = analytics.score_ties(exchanges, as_of, feedback=feedback, domains=domains_of(info), since=since, gate=gate)
    ties: list[dict] = [tie_dict(s, info.get(s.contact, {})) for s in scores if s.contact in info]
    # The order snapshots are read back in: the model's strength (which also orders ties
    # that show the same whole number), then a stable key.
    ties.sort(key=lambda t: (-exact_strength(t), t["person_id"]))
    return ties


def score_user(db: Database, user_id: int, as_of: datetime | None = None) -> list[dict]:
    """Refresh people, score every tie and keep the result as a snapshot at `as_of`.

    Without `as_of`: now, or the day the user's mail ended when it ended long ago
    (horizon.py); snapshots taken past that end (all silence) are then replaced by it,
    so the latest snapshot is the one that says something.
    While a first sync is still reading older mail the snapshot is marked provisional
    (service.coverage).
    """
    with db.tx() as conn:
        people.refresh_people(conn, user_id)
    with db.tx() as conn:
        ended = False
        if as_of is None:
            seen = horizon.horizon(conn, user_id, datetime.now(timezone.utc).replace(microsecond=0))
            as_of, ended = seen.as_of, seen.ended
        # Read once: the flag counts below read the same mail.
        exchanges, info = people.load_exchanges(conn, user_id, as_of)
        ties = _ties(conn, user_id, as_of, exchanges, info)
        past = ">=" if ended else "="
        conn.execute(f"DELETE FROM score_snapshots WHERE user_id = %s AND as_of {past} %s", (user_id, as_of))
        write_snapshot(conn, user_id, as_of, ties)
        team_shares.refresh_user(conn, user_id)  # teams the user shares with see this snapshot
        coverage.remember(conn, user_id, as_of, coverage.live(conn, user_id))
    # The flags of the months before, against what came of them: the deployment's flag gate
    # pools them (flag_pool.py). Like the check below, the scoring stands without them.
    try:
        with db.tx() as conn:
            flag_pool.record(conn, user_id, as_of, exchanges)
    except Exception as exc:
        log.warning("flag counts for user %s at %s failed (%s)", user_id, as_of, type(exc).__name__)
    # "How right Kith has been on your mail" as of this scoring, measured now so that the
    # dashboard only reads it. The snapshot above is already committed: a failure here
    # leaves the panel to be measured when it is first read.
    try:
        with db.tx() as conn:
            evidence.record(conn, user_id, as_of)
    except Exception as exc:  # the scoring stands without its accuracy check
        log.warning(
            "accuracy check for user %s at %s failed (%s); it will be measured on read",
            user_id,
            as_of,
            type(exc).__name__,
        )
    return ties


def write_snapshot(conn, user_id: int, as_of: datetime, ties: list[dict]) -> None:
    """Keep tie dicts as the snapshot at `as_of` (the payload is the whole tie; the strength
    column the unrounded one, which orders the snapshot's reads)."""
    with conn.cursor() as cur:
        with cur.copy(
            "COPY score_snapshots (user_id, person_id, as_of, strength, tier, reciprocity, flags, payload) FROM STDIN"
        ) as copy:
            for t in ties:
                copy.write_row(
                    (
                        user_id,
                        t["person_id"],
                        as_of,
                        exact_strength(t),
                        t["tier"],
                        t["reciprocity"],
                        t["flags"],
                        Jsonb(t),
                    )
                )
