"""Rich tables for the terminal, and the one way text from mail reaches it.

Names, addresses, calendar ids and quarantine reasons come from other people's mail. Printed
raw, an ESC or C1 byte starts a terminal sequence (retitle the window, clear the screen, OSC 8
links, OSC 52 writes to the clipboard) and a `[link=...]` is Rich markup. `terminal_text`
removes the first and escapes the second; every print of such text goes through it.
"""

from __future__ import annotations

import re

from rich.markup import RE_TAGS, escape
from rich.table import Table

# C0 and C1 controls and DEL start terminal sequences; bidi overrides make a line read
# other than its bytes (a name that shows a different address).
_SPACING = re.compile(r"[\t\n\r\x0b\x0c\x85\u2028\u2029]+")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def terminal_text(value) -> str:
    """`value` as text safe to hand to Rich: no control characters, no live markup."""
    text = _CONTROL.sub("", _SPACING.sub(" ", "" if value is None else str(value)))
    markup = escape(text)
    # Outside tags Rich reads `\[` as an escaped `[` and drops the backslash, which `escape`
    # only guards before tag-like brackets: one more backslash keeps `a\[b` as it is.
    parts, at = [], 0
    for tag in RE_TAGS.finditer(markup):
        parts += [markup[at : tag.start()].replace("\\[", "\\\\["), tag.group(0)]
        at = tag.end()
    parts.append(markup[at:].replace("\\[", "\\\\["))
    markup = "".join(parts)
    # Trailing backslashes meet the caller's closing tag (`[/]`), which halves them: doubled.
    trailing = len(text) - len(text.rstrip("\\"))
    return markup.rstrip("\\") + "\\" * (2 * trailing) if trailing else markup


def _balance(value: int) -> str:
    if value > 15:
        return f"you give +{value}"
    if value < -15:
        return f"they give {value}"
    return f"even {value:+d}"


FLAG_WORDS = {
    "cooling": "cooling",
    "dormant": "gone quiet",
    "one_sided_you": "one-sided: you reach out",
    "one_sided_them": "one-sided: they reach out",
}


def _ago(iso: str | None) -> str:
    """`2026-10-02T14:03:00Z` as "3 days ago", "5 months ago"; empty when unknown."""
    from datetime import datetime, timezone

    if not iso:
        return ""
    try:
        then = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return ""
    days = (datetime.now(timezone.utc) - then).days
    if days <= 0:
        return "today"
    if days == 1:
        return "yesterday"
    if days < 60:
        return f"{days} days ago"
    if days < 730:
        return f"{round(days / 30.4)} months ago"
    return f"{round(days / 365.25)} years ago"


def _add_row(table: Table, *cells) -> None:
    table.add_row(*(terminal_text(cell) for cell in cells))


def ties_table(console, ties, title="Ties"):
    table = Table(
        title=terminal_text(title),
        caption="balance: -100 when they do all the reaching out, +100 when you do",
    )
    for col in ("strength", "tier", "contact", "name", "balance", "flags", "last contact"):
        table.add_column(col, justify="right" if col == "strength" else "left")
    for t in ties:
        _add_row(
            table,
            t["strength"],
            t["tier"],
            t["contact"],
            t.get("name"),
            _balance(t["reciprocity"]),
            ", ".join(FLAG_WORDS.get(f, f) for f in t["flags"]),
            _ago(t.get("last_interaction")),
        )
    console.print(table)


def deepen_table(console, ties):
    table = Table(title="Ties to deepen this week")
    for col in ("#", "who", "strength", "why", "suggested"):
        table.add_column(col, overflow="fold")
    for t in ties:
        flags = ", ".join(FLAG_WORDS.get(f, f) for f in t.get("flags", []))
        # "Gone quiet. No messages to them ...": the flags, then the first reason, each a sentence.
        parts = ([flags[:1].upper() + flags[1:]] if flags else []) + list(t.get("explanation", [])[:1])
        why = ". ".join(p.rstrip(".") for p in parts)
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
