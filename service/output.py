"""Rich tables for the terminal."""
from __future__ import annotations

from rich.table import Table

TIE_KEYS = ("contact", "name", "addresses", "strength", "tier", "reciprocity", "flags",
            "last_interaction", "explanation", "ledger")


def _balance(value: int) -> str:
    if value > 15:
        return f"you give +{value}"
    if value < -15:
        return f"they give {value}"
    return f"even {value:+d}"


def ties_table(console, ties, title="Ties"):
    table = Table(title=title)
    for col in ("strength", "tier", "contact", "name", "balance", "flags", "last"):
        table.add_column(col, justify="right" if col == "strength" else "left")
    for t in ties:
        table.add_row(str(t["strength"]), t["tier"], t["contact"], t.get("name") or "",
                      _balance(t["reciprocity"]), ", ".join(t["flags"]),
                      (t.get("last_interaction") or "")[:10])
    console.print(table)


def deepen_table(console, ties):
    table = Table(title="Ties to deepen this week")
    for col in ("#", "who", "strength", "why", "suggested"):
        table.add_column(col, overflow="fold")
    for t in ties:
        flags = ", ".join(f.replace("_", " ") for f in t.get("flags", []))
        why = "; ".join(([flags] if flags else []) + list(t.get("explanation", [])[:1]))
        table.add_row(str(t.get("deepen_rank")), f"{t.get('name') or ''} <{t['contact']}>",
                      str(t["strength"]), why, t.get("suggestion") or "")
    console.print(table)


def exclusions_table(console, rows):
    table = Table(title="Left out, and why")
    for col in ("address", "reason", "count"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["address"], r["reason"], str(r.get("count", "")))
    console.print(table)


def quarantine_table(console, rows):
    table = Table(title="Quarantined items")
    for col in ("resource", "ref", "reason"):
        table.add_column(col, overflow="fold")
    for resource, ref, reason in rows:
        table.add_row(resource, ref, reason)
    console.print(table)
