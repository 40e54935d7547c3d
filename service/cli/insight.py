"""`kith backtest`: how right Kith has been on a user's own mail (service/ties/evidence.py).
Registered on the app in service.cli."""

from __future__ import annotations

import json

import typer

from .runtime import Runtime, out, parse_as_of


def backtest(
    user: str = typer.Option(..., "--user"),
    as_of: str | None = typer.Option(None, "--as-of", help="Check as of this moment instead of now."),
    as_json: bool = typer.Option(False, "--json"),
):
    """Kith's calls of 90 days ago, made from the mail before then, checked against what came since."""
    from ..ties import evidence

    rt = Runtime()
    user_id = rt.user_id(user)
    moment = parse_as_of(as_of)
    with rt.db.tx() as conn:
        result = evidence.accuracy(conn, user_id, moment)
    if as_json:
        print(json.dumps(evidence.as_json(result)))
        return
    out.print("How right Kith has been on your mail", style="bold", markup=False)
    for sentence in result.sentences:
        out.print(sentence, markup=False, highlight=False)


def flags(
    as_of: str | None = typer.Option(None, "--as-of", help="Decide as of this moment instead of now."),
    as_json: bool = typer.Option(False, "--json"),
):
    """Whether cooling and dormant are shown, and the evidence that decides it: this
    deployment's users' flags on the first of each month against the 90 days after,
    pooled over the months whose 90 days ended in the last 180; then each organisation
    whose own users' pool decides a flag for them."""
    from datetime import datetime, timezone

    from ..ties import flag_pool

    rt = Runtime()
    moment = parse_as_of(as_of) or datetime.now(timezone.utc)
    with rt.db.tx() as conn:
        result = flag_pool.report(conn, moment)
    if as_json:
        print(json.dumps(result))
        return
    from ..output import terminal_text

    for item in result:  # the organisations' domains come from the users' addresses: printed inert
        out.print(terminal_text(item["summary"]), highlight=False)
