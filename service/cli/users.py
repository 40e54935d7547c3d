"""`kith user list` and `kith user revoke-token`: who has an account here, and ending a token.

A token's secret is shown once, by `kith user add`; here only its id, name and prefix
(the first characters, enough to recognise it) ever appear.
"""

from __future__ import annotations

from datetime import datetime, timezone

import typer
from rich.table import Table

from ingest.errors import KithError

from ..output import terminal_text
from .runtime import Runtime, err, out


def _when(moment: datetime | None) -> str:
    if moment is None:
        return "never"
    days = (datetime.now(timezone.utc) - moment).days
    if days <= 0:
        return "today"
    if days == 1:
        return "yesterday"
    return f"{days} days ago"


def user_list(tokens: bool = typer.Option(False, "--tokens", help="Also list each user's API tokens.")):
    """List users: email, name, time zone, live tokens; with --tokens, each token too."""
    from .. import auth

    rt = Runtime()
    with rt.db.tx() as conn:
        users = conn.execute(
            "SELECT u.id, u.email, u.name, u.timezone, "
            "(SELECT count(*) FROM api_tokens t WHERE t.user_id = u.id AND t.revoked_at IS NULL) "
            "FROM users u ORDER BY u.email"
        ).fetchall()
        listed = {u[0]: auth.list_tokens(conn, u[0]) for u in users} if tokens else {}
    if not users:
        err.print("no users yet: add one with `kith user add EMAIL`")
        return
    table = Table(title="Users")
    for col in ("email", "name", "time zone", "live tokens"):
        table.add_column(col)
    for _user_id, email, name, tz, live in users:
        table.add_row(terminal_text(email), terminal_text(name or ""), terminal_text(tz), str(live))
    out.print(table)
    for user_id, email, *_ in users if tokens else ():
        rows = Table(title=f"Tokens of {terminal_text(email)}")
        for col in ("id", "name", "starts with", "created", "last used", "revoked"):
            rows.add_column(col)
        for t in listed[user_id]:
            rows.add_row(
                str(t["id"]),
                terminal_text(t["name"]),
                terminal_text(t["prefix"]) + "…",
                _when(t["created_at"]),
                _when(t["last_used_at"]),
                _when(t["revoked_at"]) if t["revoked_at"] else "no",
            )
        out.print(rows)


def revoke_token(
    token_id: int = typer.Argument(..., help="The token's id, from `kith user list --tokens`."),
    user: str = typer.Option(..., "--user", help="Email of the token's owner."),
):
    """Revoke one API token of a user: requests with it are refused from now on."""
    from .. import auth

    rt = Runtime()
    user_id = rt.user_id(user)
    with rt.db.tx() as conn:
        revoked = auth.revoke_token(conn, user_id, token_id)
    if revoked is None:
        raise KithError(f"{user} has no token {token_id} (see `kith user list --tokens`)")
    err.print(f"token {token_id} of {terminal_text(user)} is revoked (since {revoked:%Y-%m-%d %H:%M} UTC)")
