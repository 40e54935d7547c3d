"""The synthetic world as Graph would show it: message and event JSON for one mailbox.

Only what Graph's `message` and `event` types hold; the world's bodies are never copied
(the emulator could not serve them under Mail.ReadBasic anyway).
"""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from tzlocal.windows_tz import tz_win

from .mailbox import Mailbox, graph_id

UTC = timezone.utc
RESPONSES = {
    "accepted": "accepted",
    "declined": "declined",
    "tentative": "tentativelyAccepted",
    "needsAction": "notResponded",
    "needs_action": "notResponded",
    "none": "none",
    "organizer": "organizer",
    "tentativelyAccepted": "tentativelyAccepted",
    "notResponded": "notResponded",
}


def graph_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def wall_time(moment: datetime, zone: str) -> dict:
    """A dateTimeTimeZone in `zone` (IANA or "UTC"), as Graph writes it (7 fractional digits)."""
    local = moment.astimezone(ZoneInfo("UTC" if zone == "UTC" else zone))
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.0000000"), "timeZone": zone}


def recipient(name: str | None, address: str | None) -> dict:
    email: dict = {}
    if name:
        email["name"] = name
    if address:
        email["address"] = address
    return {"emailAddress": email}


def message_json(
    mailbox: Mailbox,
    *,
    item_id: str,
    folder: str,
    sender,
    to=(),
    cc=(),
    bcc=(),
    date: datetime,
    conversation_id: str,
    message_id: str | None,
    is_draft: bool = False,
    subject: str = "",
) -> dict:
    folder_id = mailbox.folder_id(folder) or mailbox.add_folder(folder, folder.title())
    stamp = graph_time(date)
    return {
        "id": item_id,
        "createdDateTime": stamp,
        "lastModifiedDateTime": stamp,
        "changeKey": graph_id("change", f"{item_id}/{stamp}")[:40],
        "categories": [],
        "receivedDateTime": stamp,
        "sentDateTime": None if is_draft else stamp,
        "hasAttachments": False,
        "internetMessageId": f"<{message_id}>" if message_id else None,
        "subject": subject,
        "importance": "normal",
        "parentFolderId": folder_id,
        "conversationId": conversation_id,
        "isDeliveryReceiptRequested": False,
        "isReadReceiptRequested": False,
        "isRead": folder != "inbox",
        "isDraft": is_draft,
        "inferenceClassification": "focused",
        "from": recipient(*sender) if sender else None,
        "sender": recipient(*sender) if sender else None,
        "toRecipients": [recipient(*a) for a in to],
        "ccRecipients": [recipient(*a) for a in cc],
        "bccRecipients": [recipient(*a) for a in bcc],
        "replyTo": [],
    }


def event_json(
    *,
    item_id: str,
    ical_uid: str,
    subject: str,
    start: datetime,
    end: datetime,
    zone: str,
    all_day: bool,
    organizer,
    attendees,
    cancelled: bool,
    owner: str,
    series_master_id: str | None = None,
    show_as: str = "busy",
) -> dict:
    organizer_address = organizer[1] if organizer and organizer[1] else None
    is_organizer = bool(organizer_address) and organizer_address.lower() == owner.lower()
    stamp = graph_time(start)
    return {
        "id": item_id,
        "createdDateTime": stamp,
        "lastModifiedDateTime": stamp,
        "changeKey": graph_id("change", f"{item_id}/{stamp}")[:40],
        "categories": [],
        "iCalUId": ical_uid,
        "subject": subject,
        "start": wall_time(start, "UTC"),
        "end": wall_time(end, "UTC"),
        "originalStartTimeZone": tz_win.get(zone, zone),
        "originalEndTimeZone": tz_win.get(zone, zone),
        "isAllDay": all_day,
        "isCancelled": cancelled,
        "isOrganizer": is_organizer,
        "isDraft": False,
        "showAs": "free" if cancelled else show_as,
        "type": "occurrence" if series_master_id else "singleInstance",
        "seriesMasterId": series_master_id,
        "responseRequested": True,
        "sensitivity": "normal",
        "importance": "normal",
        "organizer": recipient(*organizer) if organizer_address else None,
        "attendees": [
            {
                "type": "required",
                "emailAddress": recipient(name, address)["emailAddress"],
                "status": {"response": RESPONSES.get(response, "none"), "time": "0001-01-01T00:00:00Z"},
            }
            for name, address, response in attendees
        ],
    }


def seed_mailbox(mailbox: Mailbox, world) -> None:
    """Load the world's Microsoft messages and (expanded) events into `mailbox`."""
    for m in world.messages_for("microsoft"):
        folder = m.folder or ("sentitems" if m.is_sent else "inbox")
        folder_id = mailbox.folder_id(folder) or mailbox.add_folder(folder, folder.title())
        mailbox.put(
            m.graph_id,
            f"mail:{folder_id}",
            message_json(
                mailbox,
                item_id=m.graph_id,
                folder=folder,
                sender=m.sender,
                to=m.to,
                cc=m.cc,
                bcc=m.bcc,
                date=m.date,
                conversation_id=m.conversation_id,
                message_id=m.message_id,
                is_draft=m.is_draft,
                subject=m.subject,
            ),
        )
    for event in world.events_for("microsoft"):
        for one in event.instances(until=world.as_of.replace(year=world.as_of.year + 1)):
            master = graph_id("event", event.graph_id) if one.recurring_event_id else None
            item_id = event.graph_id if not one.recurring_event_id else graph_id("event", one.id)
            mailbox.put(
                item_id,
                "calendar",
                event_json(
                    item_id=item_id,
                    ical_uid=one.ical_uid,
                    subject=one.summary,
                    start=one.start,
                    end=one.end,
                    zone=one.timezone,
                    all_day=one.all_day,
                    organizer=one.organizer,
                    attendees=one.attendees,
                    cancelled=one.status == "cancelled",
                    owner=mailbox.upn,
                    series_master_id=master,
                ),
            )
