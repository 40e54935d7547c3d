"""What the dashboard says about a tie or an account, in plain sentences.

Pure functions from a tie's or an account's fields to text: never `None`, `0.0` or a raw
key. Dates are written in UTC here and rewritten in the browser's own time zone by
static/app.js (each sits in a <time datetime=...> element); relative times ("3 days ago")
are the same in every zone.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timezone

from .. import providers

FLAG_TEXT = {
    "cooling": "cooling: less contact than usual",
    "dormant": "gone quiet",
    "one_sided_you": "one-sided: you do the reaching out",
    "one_sided_them": "one-sided: they do the reaching out",
}
TIER_TEXT = {"strong": "strong", "medium": "medium", "weak": "weak", "fading": "fading"}
SOURCE_TEXT = {"mbox": "Mail file (mbox)", "ics": "Calendar file (.ics)"}
FEEDBACK_TEXT = {"matters": "You said this tie matters", "not_relationship": "You said this is not a relationship"}


def _moment(value) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def relative(value, now: datetime | None = None) -> str:
    """'today', 'yesterday', '5 days ago', '3 weeks ago', '4 months ago', '2 years ago'."""
    moment = _moment(value)
    if moment is None:
        return "never"
    now = now or datetime.now(timezone.utc)
    seconds = (now - moment).total_seconds()
    if seconds < 0:
        return "just now" if seconds > -3600 else "in the future"
    if seconds < 3600:
        return "just now"
    if seconds < 86400:
        hours = int(seconds // 3600)
        return f"{hours} hour{'s' if hours != 1 else ''} ago"
    return days_ago(int(seconds // 86400))


def days_ago(days: int) -> str:
    """A whole number of days, as `relative` and the weekly email say it: 'yesterday',
    '5 days ago', '3 weeks ago', '17 months ago', '2 years ago'."""
    if days == 1:
        return "yesterday"
    if days < 14:
        return f"{days} days ago"
    if days < 60:
        return f"{days // 7} weeks ago"
    if days < 730:
        return f"{days // 30} months ago"
    return f"{days // 365} years ago"


def iso_utc(value) -> str:
    """The moment as ISO 8601 in UTC (for <time datetime>), '' when there is none."""
    moment = _moment(value)
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if moment else ""


def day(value) -> str:
    """'2 July 2026' (UTC; the browser rewrites it in its own zone)."""
    moment = _moment(value)
    if moment is None:
        return "no date"
    moment = moment.astimezone(timezone.utc)
    return f"{moment.day} {moment.strftime('%B %Y')}"


def balance(reciprocity: int | None, name: str = "they", ledger: Mapping | None = None) -> str:
    """The balance (-100..100, positive: the user gives more) in words. An even balance of a
    tie with no mail either way in the ledger's window is silence, not give and take."""
    r = int(reciprocity or 0)
    if abs(r) < 15:
        if ledger is not None and "messages_to_them" in ledger:
            exchanged = sum(float(ledger.get(k) or 0) for k in ("messages_to_them", "messages_from_them"))
            if exchanged == 0:
                return "no recent mail either way to weigh"
        return "even: you both reach out"
    if r > 0:
        who = "you give"
    else:
        who = "they give" if name == "they" else f"{name} gives"
    size = "a little more" if abs(r) < 40 else "clearly more" if abs(r) < 70 else "almost all of it"
    return f"{who} {size}"


def flags(values) -> list[str]:
    return [FLAG_TEXT.get(f, str(f).replace("_", " ")) for f in values or ()]


def is_exchange_dn(text: str | None) -> bool:
    return bool(text) and str(text).lstrip().lower().startswith("/o=")


def address(tie: Mapping) -> str:
    """The person's mail address: the contact, or the first address that is one, never an
    Exchange DN (/o=.../cn=...) when a real address is known."""
    candidates = [tie.get("contact"), *(tie.get("addresses") or ()), tie.get("name")]
    for value in candidates:
        if value and "@" in str(value) and not is_exchange_dn(value):
            return str(value)
    for value in candidates:
        if value and is_exchange_dn(value):
            # Only the DN is known: its last cn= is the mailbox's name.
            return str(value).rsplit("cn=", 1)[-1] or str(value)
    return str(candidates[0] or "unknown address")


def name(tie: Mapping) -> str:
    given = tie.get("name")
    if given and str(given).strip() and not is_exchange_dn(given):
        return str(given)
    return address(tie)


def first_name(tie: Mapping) -> str:
    given = tie.get("name")
    if given and str(given).strip() and not is_exchange_dn(given) and "@" not in str(given):
        return str(given).split()[0]
    return "they"


def _count(n: float, one: str, many: str | None = None) -> str:
    n = int(round(n))
    return f"{n} {one if n == 1 else many or one + 's'}"


def within(hours: float) -> str:
    """A reply time in words: 'within an hour', 'within 2 hours', 'within a day', 'in about 3 days'."""
    if hours <= 1:
        return "within an hour"
    if hours < 20:
        return f"within {math.ceil(hours)} hours"
    if hours <= 30:
        return "within a day"
    days = round(hours / 24)
    return f"in about {days} days" if days < 14 else f"in about {round(days / 7)} weeks"


def ledger(tie: Mapping) -> list[str]:
    """The ledger of the last 180 days in sentences; counts that are all zero say nothing."""
    led = tie.get("ledger") or {}
    who = first_name(tie)
    them = "they" if who == "they" else who
    window = int(led.get("window_days") or 180)
    out: list[str] = []

    def n(key: str) -> float:
        value = led.get(key)
        return float(value) if isinstance(value, (int, float)) and value == value else 0.0

    started = n("initiated_by_you") + n("initiated_by_them")
    if started:
        out.append(
            f"You started {int(n('initiated_by_you'))} of the last {_count(started, 'conversation')} "
            f"(in {window} days); {them} started {int(n('initiated_by_them'))}."
        )
    reply_you, reply_them = led.get("median_reply_hours_you"), led.get("median_reply_hours_them")
    parts = []
    if isinstance(reply_them, (int, float)) and reply_them == reply_them:
        parts.append(f"{them} usually {'reply' if them == 'they' else 'replies'} {within(reply_them)}")
    if isinstance(reply_you, (int, float)) and reply_you == reply_you:
        parts.append(f"you {within(reply_you)}" if parts else f"you usually reply {within(reply_you)}")
    if parts:
        sentence = ", ".join(parts) + "."
        out.append(sentence[0].upper() + sentence[1:])
    answered = n("replies_by_you") + n("replies_by_them")
    if answered:
        out.append(
            f"You answered {_count(n('replies_by_you'), 'message')} of theirs; "
            f"{them} answered {_count(n('replies_by_them'), 'message')} of yours."
        )
    meetings = n("meetings_you_organised") + n("meetings_they_organised")
    if meetings:
        out.append(
            f"You set up {int(n('meetings_you_organised'))} of the {_count(meetings, 'meeting')} "
            f"you had together; {them} set up {int(n('meetings_they_organised'))}."
        )
    if not out:
        out.append(f"No conversations or meetings with {them if them != 'they' else 'them'} in the last {window} days.")
    return out


def account_health(account: Mapping, now: datetime | None = None) -> tuple[str, str]:
    """The account's sync health in a sentence, and its tone: 'ok', 'busy', 'quiet' or 'bad'.

    A disconnected account (the demo's, once its emulators stop) is quiet, not an error:
    its mail stays in Kith, it is just not synced any more.
    """
    status = account.get("status")
    synced = account.get("last_synced_at") or account.get("cursor_advanced_at")
    when = f"last synced {relative(synced, now)}" if synced else "never synced"
    file_source = not providers.synced(account.get("provider") or "")
    if status == "auth_revoked":
        return "Access was withdrawn at the provider: reconnect to go on syncing.", "bad"
    if status == "disabled":
        reason = account.get("last_error") or ""
        tail = " (the demo's emulator has stopped)" if "demo" in reason else ""
        return f"Disconnected{tail}; {when}. Its mail stays in Kith.", "quiet"
    if file_source:
        if status == "incremental":
            return f"Imported from a file {relative(synced, now) if synced else 'earlier'}.", "ok"
        read = sum(int(r.get("items_seen") or 0) for r in account.get("resources") or ())
        if read:
            return f"Import under way or stopped part-way: {read} items read so far.", "busy"
        return "No import from a file has finished yet.", "quiet"
    if status in ("initial", "full_resync"):
        share = account.get("synced_share")
        done = f"{int(round(float(share) * 100))}% read so far" if share else "starting"
        return f"First sync under way: {done}.", "busy"
    error = account.get("last_error")
    if error:
        return f"Syncing, but the last attempt failed: {error}. Kith will try again.", "bad"
    return f"Up to date: {when}.", "ok"


__all__ = [
    "FLAG_TEXT",
    "relative",
    "iso_utc",
    "day",
    "balance",
    "flags",
    "address",
    "name",
    "first_name",
    "within",
    "ledger",
    "account_health",
]
