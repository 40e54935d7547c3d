"""Rich tables for the terminal, and the one way text from mail reaches it.

Names, addresses, calendar ids and quarantine reasons come from other people's mail. Printed
raw, an ESC or C1 byte starts a terminal sequence (retitle the window, clear the screen, OSC 8
links, OSC 52 writes to the clipboard) and a `[link=...]` is Rich markup. `terminal_text`
removes the first and escapes the second; every print of such text goes through it.
"""

from __future__ import annotations

import re

from rich.markup import escape
from rich.table import Table

# C0 and C1 controls and DEL start terminal sequences; bidi overrides make a line read
# other than its bytes (a name that shows a different address).
_SPACING = re.compile(r"[\t\n\r\x0b\x0c\x85\u2028\u2029]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def terminal_text(value) -> str:
    """`value` as text safe to hand to Rich: no control characters, no live markup."""
    text = "" if value is None else str(value)
    return escape(_CONTROL.sub("", _SPACING.sub(" ", text)))


def _balance(value: int) -> str:
    if value > 15:
        return f"you give +{value}"
    if value < -15:
        return f"they give {value}"
    return f"even {value:+d}"


def _add_row(table: Table, *cells) -> None:
    table.add_row(*(terminal_text(cell) for cell in cells))


def ties_table(console, ties, title="Ties"):
    table = Table(title=terminal_text(title))
    for col in ("strength", "tier", "contact", "name", "balance", "flags", "last"):
        table.add_column(col, justify="right" if col == "strength" else "left")
    for t in ties:
        _add_row(
            table,
            t["strength"],
            t["tier"],
            t["contact"],
            t.get("name"),
            _balance(t["reciprocity"]),
            ", ".join(t["flags"]),
            (t.get("last_interaction") or "")[:10],
        )
    console.print(table)


def deepen_table(console, ties):
    table = Table(title="Ties to deepen this week")
    for col in ("#", "who", "strength", "why", "suggested"):
        table.add_column(col, overflow="fold")
    for t in ties:
        flags = ", ".join(f.replace("_", " ") for f in t.get("flags", []))
        why = "; ".join(([flags] if flags else []) + list(t.get("explanation", [])[:1]))
        _add_row(
            table,
            t.get("deepen_rank"),
            f"{t.get('name') or ''} <{t['contact']}>",
            t["strength"],
            why,
            t.get("suggestion"),
        )
    console.print(table)


def exclusions_table(console, rows):
    table = Table(title="Left out, and why")
    for col in ("address", "reason", "count"):
        table.add_column(col)
    for r in rows:
        _add_row(table, r["address"], r["reason"], r.get("count", ""))
    console.print(table)


def quarantine_table(console, rows):
    table = Table(title="Quarantined items")
    for col in ("resource", "ref", "reason"):
        table.add_column(col, overflow="fold")
    for resource, ref, reason in rows:
        _add_row(table, resource, ref, reason)
    console.print(table)
