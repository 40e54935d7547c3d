"""The deployment's flag gate: whether cooling and dormant are shown, decided on the mail
of this deployment's users, pooled (analytics/flag_gate.py says why and how).

`record`, at each scoring, counts the user's raw flags on the first of each month whose
90-day outcome ended in the POOL_DAYS before the scoring, and what came of them
(flag_gate.counts_at), into `flag_checks`, one row per (user, month); a new user's first
scoring so brings the months of their history. `gate` pools the rows of every user whose
outcome ended in the POOL_DAYS before a scoring (a user's months summed) and returns the
evidence each flag is shown on; with too little, the shipped constant decides. A user's
organisation (the domain of their address; none for a free-mail or academic one) is pooled
on its own users' rows: where it settles a flag it decides for them, and everyone else is
decided by the users outside it (flag_gate.decide_for), so one organisation's mail does not
decide for another's in a deployment serving several. Only the decision reaches a user
(their flags, shown or not); no other user's counts do.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timezone
from typing import Any

from psycopg.types.json import Jsonb

from analytics import Exchange, flag_gate

from ingest import identity

from .. import coverage, people

log = logging.getLogger(__name__)

POOL_DAYS = flag_gate.POOL_DAYS


def record(conn, user_id: int, as_of: datetime, exchanges: Sequence[Exchange] | None = None) -> int:
    """Count the user's flags of each month a pool at `as_of` holds, replacing what was
    counted before (people and mail may have changed since). `exchanges`: the user's mail
    before `as_of` as people.load_exchanges reads it, when the caller has it (None: read
    here). While a first sync is still reading older mail nothing is counted: the months'
    history is not whole. Returns the months counted."""
    if coverage.live(conn, user_id).whole_since is not None:
        return 0
    if exchanges is None:
        exchanges, _ = people.load_exchanges(conn, user_id, as_of)
    counted_by_month = flag_gate.counts_by_moment(exchanges, flag_gate.check_months(as_of.timestamp()))
    for month, counted in counted_by_month.items():
        conn.execute(
            "INSERT INTO flag_checks (user_id, flags_at, counts) VALUES (%s, %s, %s)"
            " ON CONFLICT (user_id, flags_at) DO UPDATE SET counts = excluded.counts, computed_at = now()",
            (user_id, datetime.fromtimestamp(month, timezone.utc), Jsonb(counted.as_json())),
        )
    return len(counted_by_month)


def organisation(conn, user_id: int) -> str | None:
    """The user's organisation: the domain of their address, unless it is a free-mail or
    academic one (identity.is_shared_domain), which holds people of many."""
    row = conn.execute("SELECT email FROM users WHERE id = %s", (user_id,)).fetchone()
    return _organisation_of(_domain(row[0] if row else None))


def counts(conn, as_of: datetime) -> list[flag_gate.Counts]:
    """Each user's flag counts pooled at `as_of`: the months whose 90-day outcome ended in
    the POOL_DAYS before it, summed."""
    return list(_counts_by_user(conn, as_of).values())


def by_organisation(conn, as_of: datetime) -> dict[str | None, list[flag_gate.Counts]]:
    """The users' counts pooled at `as_of` (`counts`), by organisation (None: of none)."""
    out: dict[str | None, list[flag_gate.Counts]] = {}
    for (_, domain), c in _counts_by_user(conn, as_of).items():
        out.setdefault(_organisation_of(domain), []).append(c)
    return out


def _counts_by_user(conn, as_of: datetime) -> dict[tuple[int, str], flag_gate.Counts]:
    """(user id, the domain of their address) -> their counts pooled at `as_of`."""
    months = flag_gate.check_months(as_of.timestamp())
    rows = conn.execute(
        "SELECT f.user_id, u.email, f.flags_at, f.counts FROM flag_checks f JOIN users u ON u.id = f.user_id"
        " WHERE f.flags_at = ANY(%s) ORDER BY f.user_id, f.flags_at",
        ([datetime.fromtimestamp(m, timezone.utc) for m in months],),
    ).fetchall()
    users: dict[tuple[int, str], flag_gate.Counts] = {}
    for user_id, email, flags_at, data in rows:
        try:
            c = flag_gate.Counts.from_json(data if isinstance(data, dict) else {})
        except ValueError as exc:  # a row this code did not write: left out, and said
            log.warning("flag counts of user %s for %s left out of the pool: %s", user_id, flags_at, exc)
            continue
        key = (user_id, _domain(email))
        users[key] = users.get(key, flag_gate.Counts()) + c
    return users


def _domain(email: str | None) -> str:
    return identity.domain_of((email or "").strip().lower())


def _organisation_of(domain: str) -> str | None:
    return None if not domain or identity.is_shared_domain(domain) else domain


def gate(conn, as_of: datetime, user_id: int | None = None) -> dict[str, flag_gate.Evidence]:
    """The evidence each gated flag is shown on at `as_of` for `user_id` (None: for a user
    of no organisation): their organisation's pool where it settles a flag, else the pool
    of the users outside organisations that decide for themselves, else the shipped
    constant (flag_gate.decide_for)."""
    domain = organisation(conn, user_id) if user_id is not None else None
    return flag_gate.decide_for(domain, by_organisation(conn, as_of))


WHAT = {
    "cooling": "active ties flagged cooling were in two-way touch afterwards at {r} the rate of other active ties",
    "dormant": "ties flagged dormant were back in two-way touch afterwards at {r} the rate of the user's average tie",
}
NONE = {
    "cooling": "of {n} active ties flagged cooling, none was in two-way touch afterwards",
    "dormant": "of {n} ties flagged dormant, none was back in two-way touch afterwards",
}


def _what(flag: str, n: int, ev: flag_gate.Evidence) -> str:
    """What the `n` flagged ties did, with the 95% interval where it has a width."""
    if ev.estimate == 0 and ev.high == 0:
        return NONE[flag].format(n=n)
    times = "an unmeasured share of" if ev.estimate != ev.estimate else f"{ev.estimate:.2f} times"
    interval = f" (95% interval {ev.low:.2f} to {ev.high:.2f})" if ev.low == ev.low else ""
    return f"{n} " + WHAT[flag].format(r=times) + interval


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _why_not(own: flag_gate.Evidence) -> str:
    """Why a deployment's pooled evidence left the decision to the shipped constant."""
    users = own.users or 0
    if users < flag_gate.MIN_USERS:
        return f"{_n(users, 'user')} counted in the last {POOL_DAYS} days, of the {flag_gate.MIN_USERS} needed"
    if own.flagged < flag_gate.MIN_FLAGGED:
        return f"{_n(own.flagged, 'flagged tie')}, of the {flag_gate.MIN_FLAGGED} needed"
    if own.expected is not None and own.expected < flag_gate.MIN_EXPECTED:
        return f"{own.expected:.1f} revivals expected, of the {flag_gate.MIN_EXPECTED:g} needed"
    return (
        f"its {own.flagged} flagged ties give {own.estimate:.2f} times (95% interval {own.low:.2f} to "
        f"{own.high:.2f}), on both sides of the bar"
    )


def report(conn, as_of: datetime) -> list[dict]:
    """For the operator (`kith flags`): each gated flag, shown or not, what decided it for
    the users of no organisation that decides for itself, and that pool's evidence (totals
    over its users only); then each organisation whose own users' evidence decides the flag
    for them (flag_gate.decide_for)."""
    pools = by_organisation(conn, as_of)
    everyone = [c for cs in pools.values() for c in cs]
    own = flag_gate.organisations_pooled(pools)
    out: list[dict[str, Any]] = []
    for flag in flag_gate.GATED:
        # An organisation that holds every counted user is the deployment: not said twice.
        settled = sorted(o for o in own if flag_gate.settles(own[o][flag]) and len(pools[o]) < len(everyone))
        base = flag_gate.others_pool(flag, pools, own)
        mine = flag_gate.pooled(base)
        ev = flag_gate.choose(mine)[flag]
        shown = flag_gate.shown(flag, {flag: ev})
        state = "shown" if shown else "not shown"
        outside = " outside the organisations below" if len(base) < len(everyone) else ""
        if ev.source == "deployment":
            words = (
                f"{flag.capitalize()}: {state}. On the mail of {_n(len(base), 'user')}{outside} counted in the last "
                f"{POOL_DAYS} days, {_what(flag, mine[flag].flagged, ev)}; the bar is at most {ev.bar:g} times."
            )
        else:
            there = (
                f"{flag.capitalize()}: {state}, as measured on the development backtest: there, "
                f"{_what(flag, ev.flagged, ev)}; the bar is at most {ev.bar:g} times."
            )
            whose = f"The evidence of the users{outside}" if outside else "This deployment's evidence"
            words = f"{there} {whose} does not decide yet: {_why_not(mine[flag])}."
        item: dict[str, Any] = {
            "flag": flag,
            "shown": shown,
            "decided_by": ev.source,
            "ratio": None if ev.estimate != ev.estimate else round(ev.estimate, 3),
            "low": None if ev.low != ev.low else round(ev.low, 3),
            "high": None if ev.high != ev.high else round(ev.high, 3),
            "flagged": ev.flagged,
            "bar": ev.bar,
            "deployment": {"users": len(base), "flagged": mine[flag].flagged, "expected": mine[flag].expected},
            "organisations": [],
            "summary": words,
        }
        for domain in settled:
            theirs, n = own[domain][flag], len(pools[domain])
            item["organisations"].append(
                {
                    "domain": domain,
                    "users": n,
                    "shown": theirs.cleared(),
                    "ratio": round(theirs.estimate, 3),
                    "low": round(theirs.low, 3),
                    "high": round(theirs.high, 3),
                    "flagged": theirs.flagged,
                }
            )
            item["summary"] += (
                f" For the {_n(n, 'user')} at {domain}: {'shown' if theirs.cleared() else 'not shown'}. On their "
                f"mail, {_what(flag, theirs.flagged, theirs)}."
            )
        out.append(item)
    return out
