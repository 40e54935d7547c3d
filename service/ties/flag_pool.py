"""The deployment's flag gate: whether cooling and dormant are shown, decided on the mail
of this deployment's users, pooled (analytics/flag_gate.py says why and how).

`record`, at each scoring, counts the user's raw flags on the first of each month whose
90-day outcome ended in the POOL_DAYS before the scoring, and what came of them
(flag_gate.counts_at), into `flag_checks`, one row per (user, month); a new user's first
scoring so brings the months of their history. `gate` pools the rows of every user whose
outcome ended in the POOL_DAYS before a scoring (a user's months summed) and returns the
evidence each flag is shown on; with too little, the shipped constant decides. A user's
organisation (the domain of their address; none for a free-mail or academic one) is pooled
first, on its own users' rows: where it settles a flag it decides for them, so one
organisation's mail does not decide for another's in a deployment serving several
(flag_gate.choose_for). Only the decision reaches a user (their flags, shown or not); no
other user's counts do.
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
    domain = _domain(row[0] if row else None)
    return None if not domain or identity.is_shared_domain(domain) else domain


def counts(conn, as_of: datetime, domain: str | None = None) -> list[flag_gate.Counts]:
    """Each user's flag counts pooled at `as_of`: the months whose 90-day outcome ended in
    the POOL_DAYS before it, summed. `domain`: only the users whose address is at it."""
    return list(_counts_by_user(conn, as_of, domain).values())


def _counts_by_user(conn, as_of: datetime, domain: str | None = None) -> dict[int, flag_gate.Counts]:
    months = flag_gate.check_months(as_of.timestamp())
    rows = conn.execute(
        "SELECT f.user_id, u.email, f.flags_at, f.counts FROM flag_checks f JOIN users u ON u.id = f.user_id"
        " WHERE f.flags_at = ANY(%s) ORDER BY f.user_id, f.flags_at",
        ([datetime.fromtimestamp(m, timezone.utc) for m in months],),
    ).fetchall()
    users: dict[int, flag_gate.Counts] = {}
    for user_id, email, flags_at, data in rows:
        if domain is not None and _domain(email) != domain:
            continue
        try:
            c = flag_gate.Counts.from_json(data if isinstance(data, dict) else {})
        except ValueError as exc:  # a row this code did not write: left out, and said
            log.warning("flag counts of user %s for %s left out of the pool: %s", user_id, flags_at, exc)
            continue
        users[user_id] = users.get(user_id, flag_gate.Counts()) + c
    return users


def _domain(email: str | None) -> str:
    return identity.domain_of((email or "").strip().lower())


def _organisations(conn, as_of: datetime) -> list[str]:
    """The organisations of the users counted at `as_of`, in order."""
    rows = conn.execute(
        "SELECT DISTINCT u.email FROM flag_checks f JOIN users u ON u.id = f.user_id WHERE f.flags_at = ANY(%s)",
        ([datetime.fromtimestamp(m, timezone.utc) for m in flag_gate.check_months(as_of.timestamp())],),
    ).fetchall()
    domains = {_domain(email) for (email,) in rows}
    return sorted(d for d in domains if d and not identity.is_shared_domain(d))


def gate(conn, as_of: datetime, user_id: int | None = None) -> dict[str, flag_gate.Evidence]:
    """The evidence each gated flag is shown on at `as_of` for `user_id` (None: for a user
    of no organisation): their organisation's pool where it settles a flag, else the
    deployment's, else the shipped constant (flag_gate.choose_for)."""
    deployment = flag_gate.pooled(counts(conn, as_of))
    domain = organisation(conn, user_id) if user_id is not None else None
    own = flag_gate.pooled(counts(conn, as_of, domain), source="organisation") if domain else None
    return flag_gate.choose_for(own, deployment)


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
    """For the operator (`kith flags`): each gated flag, shown or not, what decided it, and
    the deployment's pooled evidence (totals over its users only); then each organisation
    whose own users' evidence decides the flag for them instead."""
    pool = counts(conn, as_of)
    mine = flag_gate.pooled(pool)
    decided = flag_gate.choose(mine)
    out: list[dict[str, Any]] = []
    for flag in flag_gate.GATED:
        ev, own = decided[flag], mine[flag]
        shown = flag_gate.shown(flag, decided)
        state = "shown" if shown else "not shown"
        if ev.source == "deployment":
            words = (
                f"{flag.capitalize()}: {state}. On the mail of {_n(len(pool), 'user')} counted in the last {POOL_DAYS} days, "
                f"{_what(flag, own.flagged, ev)}; the bar is at most {ev.bar:g} times."
            )
        else:
            there = (
                f"{flag.capitalize()}: {state}, as measured on the development backtest: there, "
                f"{_what(flag, ev.flagged, ev)}; the bar is at most {ev.bar:g} times."
            )
            words = f"{there} This deployment's evidence does not decide yet: {_why_not(own)}."
        out.append(
            {
                "flag": flag,
                "shown": shown,
                "decided_by": ev.source,
                "ratio": None if ev.estimate != ev.estimate else round(ev.estimate, 3),
                "low": None if ev.low != ev.low else round(ev.low, 3),
                "high": None if ev.high != ev.high else round(ev.high, 3),
                "flagged": ev.flagged,
                "bar": ev.bar,
                "deployment": {"users": len(pool), "flagged": own.flagged, "expected": own.expected},
                "organisations": [],
                "summary": words,
            }
        )
    # An organisation whose own pool settles a flag decides it for its users (`gate`); one
    # that holds every user counted is the deployment, said above.
    for domain in _organisations(conn, as_of):
        members = counts(conn, as_of, domain)
        n = len(members)
        if n == len(pool):
            continue
        theirs = flag_gate.pooled(members, source="organisation")
        for item in out:
            ev = theirs[item["flag"]]
            if not flag_gate.settles(ev):
                continue
            shown = ev.cleared()
            item["organisations"].append(
                {
                    "domain": domain,
                    "users": n,
                    "shown": shown,
                    "ratio": round(ev.estimate, 3),
                    "low": round(ev.low, 3),
                    "high": round(ev.high, 3),
                    "flagged": ev.flagged,
                }
            )
            item["summary"] += (
                f" For the {_n(n, 'user')} at {domain}: {'shown' if shown else 'not shown'}. On their mail, "
                f"{_what(item['flag'], ev.flagged, ev)}."
            )
    return out
