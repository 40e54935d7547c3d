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
"""

from __future__ import annotations

from dataclasses import dataclass

MIN_FLAGGED = 20
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

    def cleared(self) -> bool:
        if self.flagged < MIN_FLAGGED or self.estimate != self.estimate:  # NaN: not measured
            return False
        if self.expected is not None and self.expected < MIN_EXPECTED:
            return False
        return self.estimate <= self.bar


# Measured with FLAG_STUDY (rhythm.py's criteria as shipped); tests/unit/test_enron_backtest.py
# measures them again.
MEASURED: dict[str, Evidence] = {
    "cooling": Evidence(bar=0.5, estimate=0.250, low=0.162, high=0.379, flagged=284),
    "dormant": Evidence(bar=0.2, estimate=0.0, low=0.0, high=0.0, flagged=80, expected=5.8),
}


def shown(flag: str, measured: dict[str, Evidence] | None = None) -> bool:
    """Whether `flag` may be shown: ungated flags always; gated ones when their measured
    ratio clears the bar (no measurement: not shown)."""
    if flag not in GATED:
        return True
    evidence = (MEASURED if measured is None else measured).get(flag)
    return evidence is not None and evidence.cleared()
