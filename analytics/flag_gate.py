"""A flag that cannot clear its bar is not shown (issue 15, item 3).

Each flag Kith can raise about a tie makes a claim about the next 90 days, with a bar:

- cooling: active ties flagged cooling are in two-way touch at most half as often as
  active ties not flagged (ratio <= 0.5);
- dormant: ties flagged dormant revive (two-way touch) at most a fifth as often as the
  user's average tie (ratio <= 0.2).

The gate is a shipped constant: the figures measured on the development backtest
(analytics/flag_study.py: 108 Enron employees taken in turn as the user, 19 monthly dates,
the lockbox never read), checked by tests/unit/test_enron_backtest.py, which measures them
again and fails when they drift from what is written here or miss their bar. A flag is
shown when its measured ratio clears the bar on at least MIN_FLAGGED flagged ties (and,
for a ratio against an expected count, MIN_EXPECTED expected events).

Why not per-user evidence (analytics/evidence.py): a person rarely has enough flagged ties
to measure. With the shipped cooling, 8 of 1,719 (person, date) pairs on the development
data held 5 or more active flagged ties (the most: 6); no pair held 5 dormant ones (the
most: 2); a ratio over a handful of ties
is noise, and a gate on noise would switch flags on and off at random. What generalises is
the criterion (the silence ratio over 8x comes from published work on tie decay, not from
Enron), so the evidence the user sees (`kith backtest`) reports how the shown flags fared
on their own mail, and the gate stays the measured constant. The synthetic world is not
used for the gate: its cooling ties keep writing at a fifth of their pace (30 of the 31 the
rate test flagged 90 days before its end were in two-way touch again, a ratio of 1.15 to
active unflagged ties), so the world's own evidence would hide the rate test too.

One-sided flags make no claim about future contact and are not gated.

A deployment's own users, pooled. The constant is Enron's: on another organisation's mail
a flag may fail its bar (in a synthetic organisation where no tie ever ends, active ties
flagged cooling were back in touch at 0.99x the rate of the rest). One user has too few
flagged ties to measure, but a deployment's users together can have enough. Each scoring
counts the user's *raw* flags (the criteria, shown or not) on the first of each month and
what came of them in the 90 days after (`counts_at`, kept by service/ties/flag_pool.py).
`decide` pools the months whose outcome ended in the last POOL_DAYS (one moment a month,
as the development figures count one date a month; a user's months summed, so the interval
is over users). Where the pool holds enough (MIN_USERS users, MIN_FLAGGED flagged ties; for
dormant also MIN_EXPECTED expected revivals) and the 95% interval of its ratio lies wholly
on one side of the bar, it decides: the flag is hidden when the whole interval is above the
bar, shown when it is at or below it. Otherwise the shipped constant decides: a borderline
month does not switch a flag off that the development figures support (in a replay on the
78 other development people, deciding on the estimate alone hid cooling at one date, and
the flags shown were in touch at 0.35x the rest instead of the criterion's 0.31x). Raw
flags are counted, so a hidden flag is still measured and comes back when its criterion
starts to predict. The yardstick applies the same rule (analytics/yardstick.py,
`gate_by_date`), with the people of the run as the deployment's users, who bring their
history: at its first date the months before are already counted, as a new user's first
scoring counts the months of their mail in the pool's window.

An organisation's own users, pooled first. One deployment may serve several organisations
whose mail differs (one where a quiet tie has ended, one where silence means nothing), so
a user's organisation (service/ties/flag_pool.py: the domain of their address, never a
free-mail one) is pooled on its own, by the same rule, and decides a flag for its users
where it settles it. Everyone else is decided by the pool of the users outside such
organisations (where they are MIN_USERS or more; else by every user's), then the shipped
constant (`decide_for`). Replayed on a deployment of the 78 other Enron development people
and 30 of the stationary organisation (analytics/STATUS.md, session 16), the deployment's
pool alone hid cooling from everyone at 8 of 10 dates, where the Enron people's flags were
in touch at 0.31 times the rate of their other active ties, and showed it to everyone at
the other two; by organisation, cooling is shown to the Enron people at all 10 (their own
pool never settles, and the shipped constant decides) and hidden from the synthetic
organisation's at all 10, on its own evidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields

import numpy as np

from analytics.features import two_way_between
from analytics.frame import DAY, build_frame, seen_before
from analytics.records import Exchange
from analytics.rhythm import rhythm
from analytics.timeline import HORIZON  # the claims' window

ACTIVE = 180 * DAY  # active: two-way touch in this long before
MIN_HISTORY = 90 * DAY  # mail needed before a moment for its flags to be counted

MIN_FLAGGED = 20
MIN_USERS = 5  # a pool of fewer users does not decide (nor could its interval over users be read)
POOL_DAYS = 180  # months pooled: those whose 90-day outcome ended in the last POOL_DAYS
MIN_EXPECTED = 5.0
GATED = ("cooling", "dormant")
FLAG_STUDY = ".venv/bin/python -m analytics.flag_study --data ../shared/data/enron-igraph --boot 200"


@dataclass(frozen=True)
class Evidence:
    """One flag's measured ratio on the development backtest (estimate, 95% interval over
    people), the flagged rows it rests on and, for dormant, revivals against expected."""

    bar: float
    estimate: float
    low: float
    high: float
    flagged: int
    expected: float | None = None  # events expected at the reference rate (dormant)
    # or "deployment": this deployment's users, pooled; "organisation": those of the user's
    # organisation among them
    source: str = "development backtest"
    users: int | None = None  # deployment: how many users the pool holds

    def cleared(self) -> bool:
        return enough(self) and self.estimate <= self.bar


# Measured with FLAG_STUDY (rhythm.py's criteria as shipped); tests/unit/test_enron_backtest.py
# measures them again.
MEASURED: dict[str, Evidence] = {
    "cooling": Evidence(bar=0.5, estimate=0.250, low=0.162, high=0.379, flagged=284),
    "dormant": Evidence(bar=0.2, estimate=0.0, low=0.0, high=0.0, flagged=80, expected=5.8),
}


@dataclass(frozen=True)
class Counts:
    """One user's raw flags at a past moment and what came of them in the 90 days after
    (two-way touch: features.two_way_between). Active: two-way touch in the 180 days before."""

    cooling: int = 0  # active ties flagged cooling
    cooling_touched: int = 0  # ... in two-way touch after
    clear: int = 0  # active ties flagged neither cooling nor dormant
    clear_touched: int = 0
    dormant: int = 0  # ties flagged dormant
    dormant_revived: int = 0  # ... in two-way touch after
    dormant_expected: float = 0.0  # revivals expected at the rate of the user's average tie

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(getattr(self, f.name) + getattr(other, f.name) for f in fields(Counts)))

    def as_json(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Counts:
        """The counts kept in `data`; ValueError when a field is missing or not a count."""
        values: list[float] = []
        for f in fields(cls):
            v = data.get(f.name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not 0 <= v < float("inf"):
                raise ValueError(f"flag counts: {f.name} is {v!r}, not a count")
            if f.name != "dormant_expected" and v != int(v):
                raise ValueError(f"flag counts: {f.name} is {v!r}, not a whole count")
            values.append(v)
        c, ct, k, kt, d, dr, de = values
        if ct > c or kt > k or dr > d:
            raise ValueError("flag counts: more ties in touch than ties counted")
        return cls(int(c), int(ct), int(k), int(kt), int(d), int(dr), float(de))


def count(flags: dict[str, np.ndarray], active: np.ndarray, touched: np.ndarray) -> Counts:
    """Counts of one user's ties (one entry per tie seen before the moment): `flags` the raw
    "cooling" and "dormant" criteria, `active` two-way in the 180 days before, `touched`
    two-way in the 90 days after."""
    cool, dorm = flags["cooling"] & active, flags["dormant"]
    clear = active & ~flags["cooling"] & ~dorm
    average = float(touched.mean()) if len(touched) else 0.0
    return Counts(
        cooling=int(cool.sum()),
        cooling_touched=int((cool & touched).sum()),
        clear=int(clear.sum()),
        clear_touched=int((clear & touched).sum()),
        dormant=int(dorm.sum()),
        dormant_revived=int((dorm & touched).sum()),
        dormant_expected=float(dorm.sum()) * average,
    )


def counts_at(exchanges: Sequence[Exchange], moment: float, horizon: float = HORIZON) -> Counts | None:
    """One user's raw flags at `moment` (from the mail before it; shown or not) against the
    two-way touch of the `horizon` after it. None: no tie before `moment`, or mail
    beginning less than MIN_HISTORY before it."""
    return counts_by_moment(exchanges, [moment], horizon).get(moment)


def counts_by_moment(
    exchanges: Sequence[Exchange], moments: Sequence[float], horizon: float = HORIZON
) -> dict[float, Counts]:
    """`counts_at` for each of `moments`, from one frame of the mail (the moments with no
    count left out)."""
    if not exchanges or not moments:
        return {}
    start = min(x.at for x in exchanges)
    frame = build_frame(exchanges, max(moments) + horizon)
    out: dict[float, Counts] = {}
    for moment in moments:
        if start > moment - MIN_HISTORY:
            continue
        present = seen_before(frame, moment)
        idx = np.flatnonzero(present)
        if not len(idx):
            continue
        rh = rhythm(frame, moment, present)
        touched = two_way_between(frame, moment, moment + horizon)[idx]
        active = two_way_between(frame, moment - ACTIVE, moment)[idx]
        out[moment] = count({"cooling": rh.cooling[idx], "dormant": rh.dormant[idx]}, active, touched)
    return out


def check_months(as_of: float) -> list[float]:
    """The months (their first day, UTC) whose flags a pool at `as_of` holds: those whose
    HORIZON-day outcome ended in the POOL_DAYS before `as_of`."""
    lo, hi = as_of - POOL_DAYS * DAY - HORIZON, as_of - HORIZON
    first = np.datetime64(int(lo), "s").astype("datetime64[M]")
    last = np.datetime64(int(hi), "s").astype("datetime64[M]")
    months = [float(m.astype("datetime64[s]").astype(np.int64)) for m in np.arange(first, last + 1)]
    return [m for m in months if in_pool(m, as_of)]


def in_pool(month: float, as_of: float) -> bool:
    """Whether the flags of `month` are pooled at `as_of` (check_months' rule)."""
    return as_of - POOL_DAYS * DAY < month + HORIZON <= as_of


DRAWS = 200


def _ratios(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cooling and dormant ratios of summed counts (rows: draws; columns: Counts' fields)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        cooling = (m[:, 1] / m[:, 0]) / (m[:, 3] / m[:, 2])
        dormant = m[:, 5] / m[:, 6]
    return cooling, dormant


def pooled(
    pool: Sequence[Counts], *, draws: int = DRAWS, seed: int = 15, source: str = "deployment"
) -> dict[str, Evidence]:
    """Each gated flag's ratio over the pooled counts of `pool`, with a 95% interval from a
    bootstrap over its users (NaN where nothing was flagged or the reference is empty)."""
    m = np.array([[float(getattr(c, f.name)) for f in fields(Counts)] for c in pool]).reshape(-1, len(fields(Counts)))
    total = m.sum(axis=0, keepdims=True)
    cooling, dormant = (float(v[0]) for v in _ratios(total))
    rng = np.random.default_rng(seed)
    boot = m[rng.integers(0, len(m), (draws, len(m)))].sum(axis=1) if len(m) else np.zeros((0, m.shape[1]))
    bc, bd = _ratios(boot)

    def interval(values: np.ndarray) -> tuple[float, float]:
        values = values[np.isfinite(values)]
        if not len(values):
            return float("nan"), float("nan")
        lo, hi = np.quantile(values, [0.025, 0.975])
        return float(lo), float(hi)

    t = total[0]
    return {
        "cooling": Evidence(
            MEASURED["cooling"].bar, cooling, *interval(bc), flagged=int(t[0]), source=source, users=len(pool)
        ),
        "dormant": Evidence(
            MEASURED["dormant"].bar,
            dormant,
            *interval(bd),
            flagged=int(t[4]),
            expected=float(t[6]),
            source=source,
            users=len(pool),
        ),
    }


def enough(evidence: Evidence) -> bool:
    """Whether a measurement rests on enough flagged ties (and, pooled, users) to decide a
    gate either way."""
    if evidence.flagged < MIN_FLAGGED or evidence.estimate != evidence.estimate:
        return False
    if evidence.users is not None and evidence.users < MIN_USERS:
        return False
    return evidence.expected is None or evidence.expected >= MIN_EXPECTED


def settles(evidence: Evidence) -> bool:
    """Whether a deployment's pooled evidence overrides the shipped constant: enough of it,
    and its 95% interval wholly on one side of the bar."""
    return enough(evidence) and (evidence.low > evidence.bar or evidence.high <= evidence.bar)


def decide(pool: Sequence[Counts]) -> dict[str, Evidence]:
    """The evidence each gated flag is shown on, given the deployment's counts (`choose`)."""
    return choose(pooled(pool))


def choose(mine: Mapping[str, Evidence]) -> dict[str, Evidence]:
    """The evidence each gated flag is shown on, given the pool's evidence (`pooled`): the
    pool's where it settles the question (`settles`), the shipped constant (MEASURED) where
    it does not."""
    return {flag: mine[flag] if settles(mine[flag]) else MEASURED[flag] for flag in GATED}


def decide_for(organisation: str | None, pools: Mapping[str | None, Sequence[Counts]]) -> dict[str, Evidence]:
    """The evidence each gated flag is shown on for a user of `organisation` (None: of
    none), given every user's counts by organisation (`pools`; the key None: the users of
    no organisation). An organisation whose own users' pool settles a flag (`settles`)
    decides it for them. Everyone else is decided by `others_pool`: the users outside such
    organisations where they are a pool of their own (MIN_USERS), else every user (`choose`:
    where the pool settles, else the shipped constant)."""
    own = organisations_pooled(pools)
    out: dict[str, Evidence] = {}
    for flag in GATED:
        if organisation is not None and organisation in own and settles(own[organisation][flag]):
            out[flag] = own[organisation][flag]
        else:
            out[flag] = choose(pooled(others_pool(flag, pools, own)))[flag]
    return out


def organisations_pooled(pools: Mapping[str | None, Sequence[Counts]]) -> dict[str, dict[str, Evidence]]:
    """Each organisation's own users' evidence (`pooled(..., source="organisation")`), for
    those of MIN_USERS users or more: a smaller one settles nothing (`enough`)."""
    return {o: pooled(c, source="organisation") for o, c in pools.items() if o is not None and len(c) >= MIN_USERS}


def others_pool(
    flag: str, pools: Mapping[str | None, Sequence[Counts]], own: Mapping[str, Mapping[str, Evidence]]
) -> list[Counts]:
    """The counts that decide `flag` for users whose organisation does not settle it: those
    of the users outside the organisations that do, when they are MIN_USERS or more (an
    organisation that decides for itself does not decide for others: one whose mail says
    silence means nothing does not hide a flag from another too small to measure); else
    every user's, so a few users outside a deployment's one organisation follow it."""
    decides = {o for o, ev in own.items() if settles(ev[flag])}
    rest = [c for o, cs in pools.items() if o not in decides for c in cs]
    return rest if len(rest) >= MIN_USERS else [c for cs in pools.values() for c in cs]


def shown(flag: str, measured: Mapping[str, Evidence] | None = None) -> bool:
    """Whether `flag` may be shown: ungated flags always; gated ones when their measured
    ratio clears the bar (no measurement: not shown)."""
    if flag not in GATED:
        return True
    evidence = (MEASURED if measured is None else measured).get(flag)
    return evidence is not None and evidence.cleared()
