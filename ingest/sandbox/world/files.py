"""Writes a world's mailboxes as mbox (Google Takeout style) and its calendars as .ics.

The Google mbox looks like a Takeout export: a ``From <msgid>@xxx <date>`` separator,
``X-GM-THRID`` and ``X-Gmail-Labels`` with Takeout's display names ("Inbox", "Sent",
"Category Promotions", "Opened", "Archived", user label names), full headers with Date in
the sender's own offset, and a quoted-printable body. The Microsoft mbox is what a
desktop client exports: no Gmail headers, Exchange DNs already resolved to SMTP.
"""

from __future__ import annotations

import quopri
import re
from datetime import datetime, timedelta
from email.header import Header
from email.utils import format_datetime, formataddr
from pathlib import Path
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vRecur

from .records import World, WorldEvent, WorldMessage

TAKEOUT_NAMES = {
    "INBOX": "Inbox",
    "SENT": "Sent",
    "UNREAD": "Unread",
    "IMPORTANT": "Important",
    "DRAFT": "Drafts",
    "STARRED": "Starred",
    "SPAM": "Spam",
    "TRASH": "Trash",
    "CATEGORY_PERSONAL": "Category Personal",
    "CATEGORY_PROMOTIONS": "Category Promotions",
    "CATEGORY_SOCIAL": "Category Social",
    "CATEGORY_UPDATES": "Category Updates",
    "CATEGORY_FORUMS": "Category Forums",
}
PARTSTAT = {"accepted": "ACCEPTED", "declined": "DECLINED", "tentative": "TENTATIVE", "needsAction": "NEEDS-ACTION"}
_FROM_LINE = re.compile(r"^(>*From )", re.M)


def takeout_labels(message: WorldMessage, names: dict[str, str]) -> str:
    """X-Gmail-Labels as Takeout writes them: display names, comma separated."""
    labels = message.labels
    out = []
    if "INBOX" in labels:
        out.append("Inbox")
    elif not {"SENT", "DRAFT"} & set(labels):
        out.append("Archived")
    for label in ("SENT", "DRAFT", "IMPORTANT"):
        if label in labels:
            out.append(TAKEOUT_NAMES[label])
    out.append("Unread" if "UNREAD" in labels else "Opened")
    for label in labels:
        if label.startswith("CATEGORY_"):
            out.append(TAKEOUT_NAMES[label])
        elif label.startswith("Label_"):
            out.append(names.get(label, label))
    return ",".join(out)


class _Renderer:
    def __init__(self, world: World, account: str):
        self.world = world
        self.account = account
        self.zone: dict[str, ZoneInfo] = {}
        self.smtp: dict[str, str] = {}
        user_zone = ZoneInfo(world.timezone)
        for address in world.own_addresses:
            self.zone[address] = user_zone
        for person in world.people:
            smtp = next((a for a in person.addresses if not a.startswith("/")), person.address)
            for address in person.addresses:
                self.zone.setdefault(address, ZoneInfo(person.timezone))
                self.smtp[address] = smtp
        own_smtp = world.work_email
        for address in world.user_aliases:
            if address.startswith("/"):
                self.smtp[address] = own_smtp

    def addr(self, pair: tuple[str, str]) -> str:
        name, address = pair
        return formataddr((name, self.smtp.get(address, address)), charset="utf-8")

    def addresses(self, field: str, pairs) -> str:
        return f"{field}: " + ",\n ".join(self.addr(p) for p in pairs) + "\n"

    def render(self, m: WorldMessage) -> bytes:
        world = self.world
        sent_zone = self.zone.get(m.sender[1], ZoneInfo("UTC"))
        lines = []
        if self.account == "google":
            lines.append(f"From {int(m.gmail_id, 16)}@xxx {m.date:%a %b %d %H:%M:%S +0000 %Y}\n")
            lines.append(f"X-GM-THRID: {int(m.thread_id, 16)}\n")
            lines.append(f"X-Gmail-Labels: {takeout_labels(m, world.label_names)}\n")
        else:
            lines.append(f"From MAILER-DAEMON {m.date:%a %b %d %H:%M:%S %Y}\n")
        if not m.is_sent and not m.is_draft:
            own = world.account_address(self.account)
            lines.append(f"Delivered-To: {own}\n")
            lines.append(
                f"Received: by 2002:a05:6a10:{int(m.gmail_id[-4:], 16):x} with SMTP id "
                f"{m.gmail_id}; {format_datetime(m.date)}\n"
            )
        lines.append("MIME-Version: 1.0\n")
        lines.append(f"Date: {format_datetime(m.date.astimezone(sent_zone))}\n")
        lines.append(f"Message-ID: <{m.message_id}>\n")
        if m.in_reply_to:
            lines.append(f"In-Reply-To: <{m.in_reply_to}>\n")
        if m.references:
            lines.append("References: " + "\n ".join(f"<{r}>" for r in m.references) + "\n")
        subject = m.subject if m.subject.isascii() else Header(m.subject, "utf-8").encode()
        lines.append(f"Subject: {subject}\n")
        lines.append(self.addresses("From", [m.sender]))
        if m.to:
            lines.append(self.addresses("To", m.to))
        if m.cc:
            lines.append(self.addresses("Cc", m.cc))
        if m.bcc:
            lines.append(self.addresses("Bcc", m.bcc))
        for name, value in m.extra_headers:
            lines.append(f"{name}: {value}\n")
        lines.append('Content-Type: text/plain; charset="UTF-8"\n')
        lines.append("Content-Transfer-Encoding: quoted-printable\n\n")
        body = quopri.encodestring(m.body.encode("utf-8")).decode("ascii")
        body = _FROM_LINE.sub(r">\1", body)
        if not body.endswith("\n"):
            body += "\n"
        return ("".join(lines) + body + "\n").encode("utf-8")


def write_mbox(world: World, path, account: str = "google") -> int:
    """Write one account's mailbox; returns the number of messages written."""
    renderer = _Renderer(world, account)
    messages = world.messages_for(account)
    with open(Path(path), "wb") as out:
        for message in messages:
            out.write(renderer.render(message))
    return len(messages)


def _vevent(e: WorldEvent, stamp: datetime) -> Event:
    ev = Event()
    ev.add("uid", e.ical_uid)
    ev.add("dtstamp", stamp)
    ev.add("summary", e.summary)
    if e.all_day:
        ev.add("dtstart", e.start.date())
        ev.add("dtend", e.end.date())
        ev.add("transp", "TRANSPARENT")
    else:
        ev.add("dtstart", e.start.astimezone(ZoneInfo(e.timezone)))
        ev.add("dtend", e.end.astimezone(ZoneInfo(e.timezone)))
    if e.recurrence:
        ev.add("rrule", vRecur.from_ical(e.recurrence))
    for gone in e.exdates:
        ev.add("exdate", gone.astimezone(ZoneInfo(e.timezone)))
    if e.recurring_event_id and e.original_start is not None:
        ev.add("recurrence-id", e.original_start.astimezone(ZoneInfo(e.timezone)))
    ev.add("status", e.status.upper())
    ev.add("sequence", e.sequence)
    organizer = vCalAddress(f"mailto:{e.organizer[1]}")
    if e.organizer[0]:
        organizer.params["CN"] = e.organizer[0]
    ev.add("organizer", organizer)
    for name, address, response in e.attendees:
        attendee = vCalAddress(f"mailto:{address}")
        if name:
            attendee.params["CN"] = name
        attendee.params["ROLE"] = "REQ-PARTICIPANT"
        attendee.params["PARTSTAT"] = PARTSTAT[response]
        ev.add("attendee", attendee)
    return ev


def write_ics(world: World, path, account: str = "google", calendar_id: str | None = None) -> int:
    """Write one account's calendars (or one calendar) as a VCALENDAR with VTIMEZONEs;
    series stay RRULE masters with EXDATEs and RECURRENCE-ID exceptions. Returns the
    number of VEVENTs written."""
    cal = Calendar()
    cal.add("prodid", "-//Kith//Synthetic world//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", world.account_address(account))
    cal.add("x-wr-timezone", world.timezone)
    count = 0
    for event in world.events_for(account):
        if calendar_id is None or event.calendar_id == calendar_id:
            cal.add_component(_vevent(event, world.as_of))
            count += 1
    cal.add_missing_timezones(
        first_date=world.start.date() - timedelta(days=400), last_date=world.as_of.date() + timedelta(days=800)
    )
    # icalendar collects zones in a set: put them in a fixed order so output is stable
    zones = sorted((c for c in cal.subcomponents if c.name == "VTIMEZONE"), key=lambda c: str(c["TZID"]))
    cal.subcomponents = zones + [c for c in cal.subcomponents if c.name != "VTIMEZONE"]
    Path(path).write_bytes(cal.to_ical())
    return count
