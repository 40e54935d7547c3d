"""How right Kith has been on a user's mail: the reads behind `kith backtest`,
`GET /v1/insight/accuracy` and the dashboard's panel (the measuring is analytics.evidence).

Kith's calls are made from the interactions before `as_of - 90 days` alone (the people of
that mail assembled from it alone, feedback as it stood then), and checked against the
interactions up to `as_of`. Reads only: people are whatever the last refresh made them.

The dashboard's panel (`panel`) is checked as of the latest scoring, like the rest of the
page. It costs about a scoring run, so a page load must not pay it: `record` measures it
when a scoring is written (service/ties/scoring.py) and keeps it in `accuracy_checks`, and
`panel` reads it from there. A scoring written before that table existed is measured on
first read and kept in this process only (reads do not write).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from psycopg.types.json import Jsonb

from analytics import evidence as ev

from .. import coverage, people
from . import flag_pool
from .as_of import iso
from .feedback import latest_words

log = logging.getLogger(__name__)

LOOKBACK = timedelta(seconds=ev.LOOKBACK)
PANELS_KEPT = 512
_panels: OrderedDict[tuple[str, int, datetime], dict] = OrderedDict()
_panels_lock = threading.Lock()


def accuracy(conn, user_id: int, as_of: datetime | None = None) -> ev.Evidence:
    """Kith's calls 90 days before `as_of` (default: now), checked against what came since."""
    until = as_of or datetime.now(timezone.utc).replace(microsecond=0)
    called = until - LOOKBACK
    past, _ = people.load_exchanges(conn, user_id, called)
    later, _ = people.load_exchanges(conn, user_id, until)
    feedback = latest_words(conn, user_id, called)
    # While a first sync still reads older mail, the calls are the provisional ones.
    since = coverage.live(conn, user_id).whole_since
    edge = since.timestamp() if since else None
    shown_on = flag_pool.gate(conn, called, user_id)  # the flags as the gate showed them to the user then
    result = ev.measure(
        past, later, called.timestamp(), until.timestamp(), feedback=feedback, since=edge, gate=shown_on
    )
    # And a flag the gate hides as of `until`, said, so that no one reads its absence as news.
    now = ev.hidden_now(flag_pool.gate(conn, until, user_id))
    return replace(result, sentences=result.sentences + now) if now else result


def _share(share: ev.Share | None, hits: str, expected: bool = False) -> dict | None:
    if share is None:
        return None
    out: dict = {"ties": share.ties, hits: share.hits, "share": round(share.share, 3)}
    if expected:
        out["expected"] = None if share.expected is None else round(share.expected, 1)
    return out


def as_json(e: ev.Evidence) -> dict:
    """The API's and `kith backtest --json`'s shape of an Evidence."""
    moment = lambda ts: iso(datetime.fromtimestamp(ts, timezone.utc))  # noqa: E731
    return {
        "as_of": moment(e.until),
        "calls_as_of": moment(e.as_of),
        "enough_history": e.verdict == ev.OK,
        "verdict": e.verdict,
        "history_days": e.history_days,
        "ties_scored": e.ties,
        "strong": {
            "called": e.called_strong,
            "kith": _share(e.strong, "in_touch", expected=True),
            "recency": _share(e.strong_recency, "in_touch"),
        },
        "cooling": {
            "called": e.called_cooling,
            "kith": _share(e.cooling, "went_quiet"),
            "recency": _share(e.cooling_recency, "went_quiet"),
        },
        "summary": list(e.sentences),
    }


def record(conn, user_id: int, scored_at: datetime) -> dict:
    """Measure the panel as of the scoring at `scored_at` and keep it with that scoring
    (replacing an earlier measure of the same scoring); checks of scorings no longer kept
    go. Returns the panel."""
    answer = as_json(accuracy(conn, user_id, scored_at))
    conn.execute(
        "INSERT INTO accuracy_checks (user_id, scored_at, payload) VALUES (%s, %s, %s)"
        " ON CONFLICT (user_id, scored_at) DO UPDATE SET payload = excluded.payload, computed_at = now()",
        (user_id, scored_at, Jsonb(answer)),
    )
    conn.execute(
        "DELETE FROM accuracy_checks a WHERE a.user_id = %s AND NOT EXISTS"
        " (SELECT 1 FROM score_snapshots s WHERE s.user_id = a.user_id AND s.as_of = a.scored_at)",
        (user_id,),
    )
    return answer


def panel(conn, user_id: int, scored_at: datetime | None) -> dict:
    """`as_json(accuracy(...))` as of the user's latest scoring (`scored_at`; None: never
    scored, checked as of now and not kept): the measure kept with that scoring, or, for a
    scoring that has none, measured now and kept in this process."""
    if scored_at is None:
        return as_json(accuracy(conn, user_id))
    row = conn.execute(
        "SELECT payload FROM accuracy_checks WHERE user_id = %s AND scored_at = %s", (user_id, scored_at)
    ).fetchone()
    if row is not None:
        return row[0]
    key = (f"{conn.info.host}:{conn.info.port}/{conn.info.dbname}", user_id, scored_at)
    with _panels_lock:
        if key in _panels:
            _panels.move_to_end(key)
            return _panels[key]
    log.info("no accuracy check kept for user %s's scoring at %s; measuring it for this process", user_id, scored_at)
    answer = as_json(accuracy(conn, user_id, scored_at))
    with _panels_lock:
        _panels[key] = answer
        while len(_panels) > PANELS_KEPT:
            _panels.popitem(last=False)
    return answer
