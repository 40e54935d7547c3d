"""The team line of the weekly digest: the introductions teammates asked of the user, in
at most one line (a hook: inputs.load_digest attaches it, render prints it when set).

It reads service.teams.introductions.pending_for, which lists only requests for addresses
the user still shares with that team; so the line never names anything the user has not
shared, and is empty for a user in no team.
"""

from __future__ import annotations

from dataclasses import replace

from ..teams.introductions import pending_for
from .content import Digest


def team_line(requests: list[dict]) -> str:
    """One sentence for the open requests, or "" when there are none (pure)."""
    if not requests:
        return ""
    first = requests[0]
    line = f"Team: {first['asked_by']} asked you for an introduction to {first['contact']}"
    more = len(requests) - 1
    if more:
        line += f", and {more} more request{'s' if more > 1 else ''} {'are' if more > 1 else 'is'} waiting"
    return line + "."


def attach(conn, digest: Digest) -> Digest:
    return replace(digest, team_line=team_line(pending_for(conn, digest.user_id)))
