"""The dashboard's word on the user's mail as a whole, for the partial `partials/mail.html.j2`:

- a mailbox that ended long ago (ties scored as of its end: service.ties.horizon);
- mail none of which the user sent (the wrong own address: service.people.senders);
- the as-of control: a date (`?as_of=YYYY-MM-DD` on the home page) and the strongest ties
  as they stood then, read the way `GET /v1/ties?as_of=` reads them (a snapshot taken at
  that moment, else computed from the data before it).

`mail_panel` is the one call the home view makes; it only reads.
"""

from __future__ import annotations

from datetime import datetime, timezone

from ..people import senders
from ..ties.as_of import BadMoment, to_utc
from ..ties.horizon import horizon, long_date
from ..ties.snapshots import list_ties

SHOWN = 10
FLAG_WORDS = {
    "cooling": "cooling",
    "dormant": "gone quiet",
    "one_sided_you": "one-sided: you reach out",
    "one_sided_them": "one-sided: they reach out",
}


def _tie(t: dict) -> dict:
    return {
        "person_id": t.get("person_id"),
        "name": t.get("name") or t.get("contact") or "someone",
        "strength": int(round(float(t.get("strength") or 0))),
        "tier": t.get("tier") or "",
        "flags": [FLAG_WORDS[f] for f in t.get("flags") or () if f in FLAG_WORDS],
    }


def mail_panel(conn, user_id: int, as_of_text: str | None) -> dict:
    """Everything the partial shows, as plain values (never None where a person reads)."""
    seen = horizon(conn, user_id)
    check = senders.check(conn, user_id)
    today = datetime.now(timezone.utc).date()
    chosen, error, ties = None, None, []
    if as_of_text:
        try:
            chosen = to_utc(as_of_text[:40])
        except BadMoment:
            error = "That date could not be read: pick one with the date field (YYYY-MM-DD)."
    if chosen is not None:
        ties = [_tie(t) for t in list_ties(conn, user_id, as_of=chosen)[:SHOWN]]
    default = seen.as_of.date() if seen.ended else today
    return {
        "notice": seen.notice(),
        "warning": check.warning(cli=False),
        "value": (chosen.date() if chosen else default).isoformat(),
        "max": today.isoformat(),
        "chosen": long_date(chosen) if chosen else None,
        "ties": ties,
        "error": error,
    }
