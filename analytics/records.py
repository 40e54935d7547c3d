"""What analytics reads: interactions from the user's point of view, people as integers.

The service resolves addresses to person ids (0 is always the user), drops noise and
hands these frozen records to the scorer with an explicit `as_of`. Nothing here knows
about addresses, databases or providers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

USER = 0


@dataclass(frozen=True, slots=True)
class Exchange:
    """One message or meeting that involves the user.

    email:   `sender` wrote to `recipients` (to/cc/bcc, those off the To line also in `cc`),
             one of them is USER or sender is.
    meeting: `sender` is the organiser; `recipients` are the attendees who did not decline.
    """

    at: float  # seconds since the epoch, UTC
    kind: str  # "email" | "meeting"
    sender: int
    recipients: tuple[int, ...]
    thread: str | None = None
    key: str | None = None  # Message-ID, to find replies
    reply_to: str | None = None  # In-Reply-To (or last of References)
    duration_s: float = 0.0
    audience: int = 0  # everyone on it except the user (0: computed from sender+recipients)
    # Recipients not on the To line (Cc, Bcc, or delivered without being named: an alias, a
    # forward); a subset of `recipients`. Empty when unknown: everyone is then taken as To.
    cc: tuple[int, ...] = ()

    def size(self) -> int:
        if self.audience:
            return self.audience
        people = set(self.recipients)
        people.add(self.sender)
        people.discard(USER)
        return max(1, len(people))


@dataclass(frozen=True, slots=True)
class TieScore:
    contact: int
    strength: float  # 0..100
    tier: str  # "strong" | "medium" | "weak" | "fading"
    reciprocity: int  # -100..100, positive: the user gives more
    flags: tuple[str, ...]  # subset of cooling, dormant, one_sided_you, one_sided_them
    last_interaction: float | None  # epoch seconds
    explanation: tuple[str, ...]
    # JSON-ready scalars: ints, 2-decimal floats, None where a figure is undefined.
    ledger: dict[str, float | None] = field(default_factory=dict)
    features: dict[str, float | None] = field(default_factory=dict)
    suggestion: str | None = None  # set when the tie is one to deepen
    deepen_rank: int | None = None
    last_two_way: float | None = None  # epoch seconds of the last two-way contact (None: none yet)
    # `strength` before its rounding to one decimal (None: not given; `strength` then stands
    # for it): orders ties that show the same strength (service/ties/shape.py).
    strength_exact: float | None = None
    # The chance (0-1) of two-way touch in the 90 days after the scoring (model.touch_proba,
    # moved as the user's marks move strength); the accuracy check sets it beside what came
    # true (analytics/evidence.py). None: not given.
    touch_chance: float | None = None
