"""The introduction a teammate may send from their own mail (pure: Kith never sends it).

The draft names both sides and carries the asker's note; `mailto` opens it in the
teammate's own mail program, addressed to the contact with the asker in copy.
"""

from __future__ import annotations

from urllib.parse import quote

NOTE_MAX = 1000


def clean_note(note: str) -> str:
    """A note kept as plain text: control characters out (newlines kept), bounded."""
    text = "".join(c if c.isprintable() or c == "\n" else " " for c in (note or "").replace("\r\n", "\n"))
    text = "\n".join(line.rstrip() for line in text.strip().split("\n"))
    if len(text) > NOTE_MAX:
        raise ValueError(f"A note holds at most {NOTE_MAX} characters.")
    return text


def first_name(name: str) -> str:
    words = name.split()
    return words[0] if words else name


def introduction(
    *, holder: str, asker: str, asker_email: str, contact: str, contact_name: str | None, note: str
) -> dict:
    """Subject, body and a mailto: link for the holder to introduce `asker` to `contact`."""
    who = contact_name or contact
    subject = f"Introduction: {who} <> {asker}"
    lines = [
        f"Hi {first_name(who)},",
        "",
        f"I'd like to introduce you to {asker} ({asker_email}), who works with me.",
    ]
    if note:
        lines += ["", f"In {first_name(asker)}'s words:", *[f"> {line}" for line in note.split("\n")]]
    lines += ["", "I'll let you two take it from here.", "", "Best,", first_name(holder)]
    body = "\n".join(lines)
    mailto = (
        f"mailto:{quote(contact, safe='@')}?cc={quote(asker_email, safe='@')}"
        f"&subject={quote(subject)}&body={quote(body)}"
    )
    return {"to": contact, "cc": asker_email, "subject": subject, "body": body, "mailto": mailto}
