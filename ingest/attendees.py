"""The people of one meeting, bounded: organizers plus at most `MAX_ATTENDEES` attendees.

    kept, audience = bound_attendees(participants)

A calendar entry can name twenty thousand attendees, and a series repeats them on every
instance: stored whole, that is a million participant rows for one all-hands. Such a
meeting says nothing about any one tie (the noise filter already sets meetings of more
than 25 people aside), so only the first attendees in the entry's own order are kept and
the rest are counted: `audience` is the number of distinct addresses the meeting really
had (`Interaction.audience`, stored as n_participants), None when everyone was kept.
"""

from __future__ import annotations

from collections.abc import Iterable

from .records import Participant

__all__ = ["MAX_ATTENDEES", "bound_attendees", "over_cap_reason"]

MAX_ATTENDEES = 200


def bound_attendees(
    participants: Iterable[Participant], cap: int = MAX_ATTENDEES
) -> tuple[tuple[Participant, ...], int | None]:
    kept: list[Participant] = []
    everyone: set[str] = set()
    attendees = 0
    for person in participants:
        everyone.add(person.address)
        if person.role == "attendee":
            attendees += 1
            if attendees > cap:
                continue
        kept.append(person)
    if attendees <= cap:
        return tuple(kept), None
    return tuple(kept), len(everyone)


def over_cap_reason(audience: int, cap: int = MAX_ATTENDEES) -> str:
    return f"meeting has {audience} distinct people; kept the organizer and the first {cap} attendees"
