"""`as_of`: the moment ties are looked at, as one UTC datetime, and the bounds it must lie in.

The CLI (`--as-of`), the API (`?as_of=`, and the moment a cursor pins), the digest, the
snapshot reads and the dashboard all turn a date, a date-time or its ISO text into the
same aware UTC datetime here: a date means its midnight UTC, a time without an offset is
UTC. Each caller words the refusal for its own surface (a 422, a CLI error, a 400 for a
cursor). `iso` writes a moment back the way the API reports it.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

from ingest.errors import InputError

# Before the epoch's first full day, or past what any mail could mean: refused, so that a
# typo never reaches SQL or date arithmetic (a year 1 minus 90 days overflows).
EARLIEST = datetime(1970, 1, 2, tzinfo=timezone.utc)
LATEST = datetime(2200, 1, 1, tzinfo=timezone.utc)


class BadMoment(InputError, ValueError):
    """Not a date or date-time, or outside EARLIEST..LATEST; the message says which."""


def to_utc(value: str | date | datetime | None) -> datetime | None:
    """`value` as an aware UTC-based datetime (None stays None), or BadMoment.

    Text is ISO 8601 (`2026-10-01`, `2026-10-01T12:00`, `...Z`, `...+02:00`, a space for
    the `T`). A given offset is kept: the instant is the same, and it is what was asked.
    """
    if value is None or value == "":
        return None
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace(" ", "T").replace("Z", "+00:00"))
        except (ValueError, OverflowError):
            raise BadMoment(f"{value!r} is not a valid date or date-time.") from None
    if not isinstance(value, date):  # a cursor's moment is whatever JSON the client sent
        raise BadMoment(f"{value!r} is not a valid date or date-time.")
    if not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    try:
        inside = EARLIEST <= moment <= LATEST
    except OverflowError:  # an offset that moves year 1 or 9999 out of range
        inside = False
    if not inside:
        raise BadMoment(f"must lie between {EARLIEST.year} and {LATEST.year}.")
    return moment


def iso(moment: datetime | None) -> str | None:
    """The moment as the API writes it: UTC, `Z` for the offset."""
    return moment.astimezone(timezone.utc).isoformat().replace("+00:00", "Z") if moment else None
