"""How right Kith has been on a user's mail: the reads behind `kith backtest`,
`GET /v1/insight/accuracy` and the dashboard's panel (the measuring is analytics.evidence).

Kith's calls are made from the interactions before `as_of - 90 days` alone (the people of
that mail assembled from it alone, feedback as it stood then), and checked against the
interactions up to `as_of`. Reads only: people are whatever the last refresh made them.

The dashboard's panel (`panel`) is checked as of the latest scoring, like the rest of the
page, and kept per (user, scoring) in this process: it costs about a scoring run, and a
page load must not pay that every time.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import datetime, timedelta, timezone

from analytics import evidence as ev

from .. import people
from .as_of import iso
from .feedback import latest_words

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
    return ev.measure(past, later, called.timestamp(), until.timestamp(), feedback=feedback)


def _share(share: ev.Share | None, hits: str) -> dict | None:
    if share is None:
        return None
    return {"ties": share.ties, hits: share.hits, "share": round(share.share, 3)}


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
            "kith": _share(e.strong, "in_touch"),
            "recency": _share(e.strong_recency, "in_touch"),
        },
        "cooling": {
            "called": e.called_cooling,
            "kith": _share(e.cooling, "went_quiet"),
            "recency": _share(e.cooling_recency, "went_quiet"),
        },
        "summary": list(e.sentences),
    }


def panel(conn, user_id: int, scored_at: datetime | None) -> dict:
    """`as_json(accuracy(...))` as of the user's latest scoring (`scored_at`; None: never
    scored, checked as of now and not kept)."""
    if scored_at is None:
        return as_json(accuracy(conn, user_id))
    key = (f"{conn.info.host}:{conn.info.port}/{conn.info.dbname}", user_id, scored_at)
    with _panels_lock:
        if key in _panels:
            _panels.move_to_end(key)
            return _panels[key]
    answer = as_json(accuracy(conn, user_id, scored_at))
    with _panels_lock:
        _panels[key] = answer
        while len(_panels) > PANELS_KEPT:
            _panels.popitem(last=False)
    return answer
