"""What the weekly digest says, decided from tie dicts alone (pure: no database, no I/O).

Input: the ties as they are now and as they were at last week's snapshot (DESIGN tie
dicts, with the model's `suggestion` and `deepen_rank`), the accounts that lost their
authorisation, and the ties the user snoozed. Output: a `Digest` with

- at most three ties to deepen, in the model's order, each with a reason and an action;
- the strongest ties at a glance;
- where the user gives more (reciprocity > 0) and where others do;
- what changed since last week: strength moves and flags that are new;
- accounts to reconnect;
- a subject that names the most important item, and whether the week is quiet.

Order of importance for the subject: an account to reconnect (without it every other line
goes stale), then the first tie to deepen, then the largest change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from collections.abc import Iterable, Mapping

from .. import providers
from ..dashboard.words import days_ago
from ..ties.as_of import BadMoment, to_utc

MAX_DEEPEN = 3
MAX_STRONGEST = 5
MAX_BALANCE = 3
MAX_CHANGES = 5
BALANCE_THRESHOLD = 30  # |reciprocity| at which a tie is clearly lopsided
BALANCE_MIN_STRENGTH = 15  # lopsided drive-by contacts are not worth a line
DELTA_THRESHOLD = 8  # strength points that make a move worth mentioning
SUBJECT_MAX = 90

FLAG_TEXT = {
    "cooling": "cooling",
    "dormant": "gone quiet",
    "one_sided_you": "one-sided: you do the reaching out",
    "one_sided_them": "one-sided: they do the reaching out",
}


@dataclass(frozen=True, slots=True)
class TieLine:
    key: str
    person_id: int | None
    name: str
    contact: str
    strength: int
    tier: str
    reciprocity: int
    flags: tuple[str, ...]
    reason: str
    suggestion: str | None = None
    previous_strength: int | None = None
    days_since: int | None = None

    @property
    def delta(self) -> int | None:
        if self.previous_strength is None:
            return None
        return self.strength - self.previous_strength


@dataclass(frozen=True, slots=True)
class Change:
    tie: TieLine
    kind: str  # "up" | "down" | "flag" | "new"
    text: str
    weight: float


@dataclass(frozen=True, slots=True)
class Account:
    provider: str
    address: str

    @property
    def label(self) -> str:
        return f"{providers.label(self.provider)} ({self.address})"


@dataclass(frozen=True, slots=True)
class Digest:
    user_id: int
    user_name: str
    user_email: str
    week: date
    deepen: tuple[TieLine, ...] = ()
    strongest: tuple[TieLine, ...] = ()
    you_give: tuple[TieLine, ...] = ()
    they_give: tuple[TieLine, ...] = ()
    changes: tuple[Change, ...] = ()
    reconnect: tuple[Account, ...] = ()
    has_history: bool = False
    subject: str = ""
    headline: str = ""
    quiet: bool = True
    chart: tuple[TieLine, ...] = field(default=())
    notice: str | None = None  # the mail ended long ago: scored as of its end (ties.horizon)
    team_line: str = ""  # introductions asked of the user (team_line.py), at most one line


def tie_key(tie: Mapping) -> str:
    """Identity of a tie across weeks: the person when known, else the contact address."""
    if tie.get("person_id") is not None:
        return f"p{int(tie['person_id'])}"
    return f"c{(tie.get('contact') or '').lower()}"


def _parse_time(value) -> datetime | None:
    """A tie's time as a UTC datetime; none when the payload holds no usable time."""
    try:
        return to_utc(value)
    except BadMoment:
        return None


def _reason(tie: Mapping, days_since: int | None) -> str:
    flags = [FLAG_TEXT[f] for f in tie.get("flags") or () if f in FLAG_TEXT]
    explanation = [str(e) for e in tie.get("explanation") or () if e]
    parts: list[str] = []
    if flags:
        parts.append(flags[0][:1].upper() + flags[0][1:])
    if explanation:
        parts.append(explanation[0])
    if days_since is not None and days_since >= 14:
        parts.append(f"last in touch {days_ago(days_since)}")
    return " · ".join(parts) if parts else "A tie worth keeping warm"


def tie_line(tie: Mapping, previous: Mapping | None, as_of: datetime) -> TieLine:
    last = _parse_time(tie.get("last_interaction"))
    days = max(0, (as_of - last).days) if last else None
    prev_strength = round(float(previous["strength"])) if previous else None
    return TieLine(
        key=tie_key(tie),
        person_id=int(tie["person_id"]) if tie.get("person_id") is not None else None,
        name=(tie.get("name") or tie.get("contact") or "someone").strip(),
        contact=tie.get("contact") or "",
        strength=round(float(tie.get("strength") or 0)),
        tier=tie.get("tier") or "",
        reciprocity=int(round(float(tie.get("reciprocity") or 0))),
        flags=tuple(tie.get("flags") or ()),
        reason=_reason(tie, days),
        suggestion=(tie.get("suggestion") or None),
        previous_strength=prev_strength,
        days_since=days,
    )


def _changes(lines: Iterable[TieLine], now: Mapping[str, Mapping], before: Mapping[str, Mapping]) -> list[Change]:
    out: list[Change] = []
    for line in lines:
        prev = before.get(line.key)
        if prev is None:
            if line.tier == "strong":
                out.append(Change(line, "new", f"{line.name} is a new strong tie", 10.0))
            continue
        new_flags = [f for f in line.flags if f not in set(prev.get("flags") or ()) and f in FLAG_TEXT]
        delta = line.delta or 0
        if new_flags:
            text = f"{line.name} is now {', '.join(FLAG_TEXT[f] for f in new_flags)}"
            if abs(delta) >= DELTA_THRESHOLD:
                text += f" ({delta:+d})"
            out.append(Change(line, "flag", text, 20.0 + abs(delta)))
        elif delta >= DELTA_THRESHOLD:
            out.append(Change(line, "up", f"{line.name} grew stronger ({delta:+d})", float(delta)))
        elif delta <= -DELTA_THRESHOLD:
            out.append(Change(line, "down", f"{line.name} weakened ({delta:+d})", float(-delta)))
    out.sort(key=lambda c: (-c.weight, c.tie.name))
    return out[:MAX_CHANGES]


def _clip(text: str, limit: int = SUBJECT_MAX) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _count(n: int, one: str, many: str) -> str:
    return one if n == 1 else f"{n} {many}"


def _headline(digest_parts: dict) -> str:
    """The week in one line: what is below, counted, so it never repeats the first card."""
    reconnect: tuple[Account, ...] = digest_parts["reconnect"]
    deepen: tuple[TieLine, ...] = digest_parts["deepen"]
    changes: tuple[Change, ...] = digest_parts["changes"]
    parts = []
    if deepen:
        parts.append(_count(len(deepen), "one tie to deepen", "ties to deepen"))
    if changes:
        parts.append(_count(len(changes), "one change since last week", "changes since last week"))
    if reconnect:
        parts.append(_count(len(reconnect), "an account to reconnect", "accounts to reconnect"))
    if not parts:
        return "A quiet week for your relationships"
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"This week: {listed}"


def _lead(digest_parts: dict) -> str:
    """The subject: the most important item itself."""
    reconnect: tuple[Account, ...] = digest_parts["reconnect"]
    deepen: tuple[TieLine, ...] = digest_parts["deepen"]
    changes: tuple[Change, ...] = digest_parts["changes"]
    if reconnect:
        more = f" and {len(reconnect) - 1} more" if len(reconnect) > 1 else ""
        return f"Reconnect your {reconnect[0].label}{more}: Kith can no longer see it"
    if deepen:
        first = deepen[0]
        action = first.suggestion or first.reason
        return f"{first.name}: {action[:1].lower() + action[1:] if action else 'reach out'}"
    if changes:
        return changes[0].text
    return "A quiet week for your relationships"


def build_digest(
    *,
    user_id: int,
    user_name: str | None,
    user_email: str,
    week: date,
    ties: Iterable[Mapping],
    previous: Iterable[Mapping] | None,
    revoked: Iterable[Mapping] = (),
    hidden: Iterable[int] = (),
    as_of: datetime,
    notice: str | None = None,
) -> Digest:
    """Everything the digest says for one user and week.

    `previous` is None when there is no snapshot from a week ago (first digest): the
    "what changed" section is then left out rather than calling every tie new.
    `hidden` are person ids the user snoozed or said are no relationship: they are left
    out of this digest altogether (not suggested, not charted, no changes reported).
    """
    hidden_ids = {int(p) for p in hidden}
    before = {tie_key(t): t for t in previous} if previous is not None else {}
    visible = [t for t in ties if t.get("person_id") is None or int(t["person_id"]) not in hidden_ids]
    now = {tie_key(t): t for t in visible}
    lines = [tie_line(t, before.get(tie_key(t)), as_of) for t in visible]
    by_key = {line.key: line for line in lines}

    ranked = sorted(
        (t for t in visible if t.get("deepen_rank") is not None), key=lambda t: (int(t["deepen_rank"]), tie_key(t))
    )
    deepen = tuple(by_key[tie_key(t)] for t in ranked[:MAX_DEEPEN])
    # Ties come in the snapshot's order (the model's unrounded strength): a stable sort keeps
    # it among those that show the same whole strength.
    strongest = tuple(sorted(lines, key=lambda l: -l.strength)[:MAX_STRONGEST])
    balanced_pool = [l for l in lines if l.strength >= BALANCE_MIN_STRENGTH]
    you_give = tuple(
        sorted(
            (l for l in balanced_pool if l.reciprocity >= BALANCE_THRESHOLD),
            key=lambda l: (-l.reciprocity, -l.strength, l.name),
        )[:MAX_BALANCE]
    )
    they_give = tuple(
        sorted(
            (l for l in balanced_pool if l.reciprocity <= -BALANCE_THRESHOLD),
            key=lambda l: (l.reciprocity, -l.strength, l.name),
        )[:MAX_BALANCE]
    )
    changes = tuple(_changes(lines, now, before)) if previous is not None else ()
    reconnect = tuple(Account(a.get("provider", ""), a.get("address", "")) for a in revoked)

    parts = {"reconnect": reconnect, "deepen": deepen, "changes": changes}
    quiet = not (deepen or changes or reconnect)
    headline = _headline(parts)
    subject = _clip(_lead(parts) if not quiet else "Kith: a quiet week, nothing needs you")
    return Digest(
        user_id=user_id,
        user_name=(user_name or user_email.split("@")[0]),
        user_email=user_email,
        week=week,
        deepen=deepen,
        strongest=strongest,
        you_give=you_give,
        they_give=they_give,
        changes=changes,
        reconnect=reconnect,
        has_history=previous is not None,
        subject=subject,
        headline=headline,
        quiet=quiet,
        chart=strongest,
        notice=notice,
    )
