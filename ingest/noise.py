"""What is not a relationship, and why: pure classifiers with a reason for every exclusion.

Two kinds of noise, kept apart because they are undone differently:

- an *interaction* that is not a human exchange (mailing list, bulk, auto-submitted,
  promotions, a calendar invitation notification, a broadcast beyond the recipient cap, a
  cancelled or declined or single-attendee meeting) is left out, whoever sent it;
- an *address* that is not a person (no-reply robots, mailer-daemon, bounces) or not a
  relationship (only ever writes to the user, never answered) is left out everywhere.

The user's allow and block rules on an address or a domain win: a block removes the
address everywhere; an allow keeps the address whatever the *who* filters say (robot-like
name, list headers on its mail, one-way). Facts about the interaction itself (cancelled,
declined, a broadcast, a draft) stay: an allowed newsletter author is still not met by a
cancelled meeting. Below the caps nothing is dropped for size; the model weighs by audience.
"""

from __future__ import annotations

import re
from typing import TypeVar
from collections.abc import Collection, Hashable, Iterable, Mapping

from .identity import canonical, domain_of, local_of
from .records import Interaction

RECIPIENT_CAP = 50
ATTENDEE_CAP = 25

# Reasons are stable strings: exclusions are counted per (address, reason).
LIST_UNSUBSCRIBE = "mailing list or newsletter (List-Unsubscribe header)"
LIST_ID = "mailing list (List-Id header)"
PRECEDENCE = "bulk mail (Precedence: {value})"
AUTO_SUBMITTED = "automatic message (Auto-Submitted: {value})"
CATEGORY = "Gmail category {value}"
CALENDAR_NOTIFICATION = "calendar invitation notification (the meeting itself counts)"
AUTO_REPLY = "automatic reply (out of office)"
NO_REPLY = "no-reply or robot address"
RESOURCE = "meeting room or resource calendar"
LIST_ADDRESS = "mailing list address"
BYSTANDER = "only seen in others' group mail or in meetings of {n}+ people"
RECIPIENT_CAP_REASON = "message to more than {cap} recipients"
ATTENDEE_CAP_REASON = "meeting with more than {cap} attendees"
CANCELLED = "meeting cancelled"
DECLINED = "you declined the meeting"
SINGLE_ATTENDEE = "event with no one but you"
DRAFT = "draft, never sent"
SPAM = "in the spam or junk folder"
ONE_WAY = "only ever writes to you and never got an answer"
BLOCKED = "blocked by your rule on {kind} {value}"
ONLY_ON = "only on mail or meetings left out: {reason}"

NOISY_CATEGORIES = {
    "CATEGORY_PROMOTIONS": "Promotions",
    "CATEGORY_SOCIAL": "Social",
    "CATEGORY_UPDATES": "Updates",
    "CATEGORY_FORUMS": "Forums",
}

# Local parts of robots, compared with ".", "_" and "-" removed.
_ROBOT_EXACT = frozenset(
    {
        "notifications",
        "notification",
        "notify",
        "notifier",
        "mailerdaemon",
        "postmaster",
        "bounce",
        "bounces",
        "newsletter",
        "newsletters",
        "alerts",
        "alert",
        "digest",
        "calendarnotification",
        "automated",
        "autoconfirm",
        "autoreply",
        "mailer",
        "daemon",
        "nobody",
        "root",
        "listserv",
        "majordomo",
        "unsubscribe",
    }
)
_ROBOT_INFIX = ("noreply", "donotreply", "dontreply", "mailerdaemon", "calendarnotification")
_ROBOT_PREFIX = ("bounce", "notification", "reply+", "noreply", "mailer")
_ROBOT_DOMAIN_LABELS = frozenset({"bounce", "bounces", "noreply", "no-reply", "mailer-daemon"})
# Meeting rooms, equipment and subscribed calendars (birthdays, holidays) are not people.
_RESOURCE_DOMAINS = (
    "resource.calendar.google.com",
    "group.v.calendar.google.com",
    "group.calendar.google.com",
    "import.calendar.google.com",
)
# Mailing-list servers: mail to them is a post to everyone on the list.
_LIST_DOMAINS = ("googlegroups.com", "groups.io", "yahoogroups.com", "freelists.org")


def address_reason(address: str) -> str | None:
    """Why this address is a robot rather than a person, or None."""
    addr = canonical(address)
    if "@" not in addr:
        return None
    local = local_of(addr)
    squeezed = re.sub(r"[._-]", "", local)
    if (
        squeezed in _ROBOT_EXACT
        or any(t in squeezed for t in _ROBOT_INFIX)
        or any(local.startswith(p) or squeezed.startswith(p) for p in _ROBOT_PREFIX)
    ):
        return NO_REPLY
    domain = domain_of(addr)
    if _ROBOT_DOMAIN_LABELS & set(domain.split(".")):
        return NO_REPLY
    if any(domain == d or domain.endswith("." + d) for d in _RESOURCE_DOMAINS):
        return RESOURCE
    if domain.split(".")[0] in ("lists", "list") or any(domain == d or domain.endswith("." + d) for d in _LIST_DOMAINS):
        return LIST_ADDRESS
    return None


_SPAM_LABELS = frozenset({"SPAM", "JUNKEMAIL", "JUNK_EMAIL", "JUNK"})


def _category(label: str) -> str | None:
    # Gmail API ids ("CATEGORY_PROMOTIONS") and Takeout's names ("Category Promotions").
    key = re.sub(r"[\s-]+", "_", label.strip()).upper()
    return NOISY_CATEGORIES.get(key)


def is_calendar_notification(headers: Mapping[str, str], labels: Iterable[str] = ()) -> bool:
    """An invitation/update/response mail about a meeting (the meeting is counted itself)."""
    content_class = (headers.get("content-class") or "").lower()
    if "calendarmessage" in content_class:
        return True
    if "text/calendar" in (headers.get("content-type") or "").lower():
        return True
    if headers.get("x-ms-exchange-calendar-series-instance-id") or headers.get("x-google-calendar-content-type"):
        return True
    if (headers.get("meetingmessagetype") or "").lower() not in ("", "none"):
        return True
    sender = (headers.get("sender") or "").lower()
    return "calendar-notification@google.com" in sender


def header_reason(headers: Mapping[str, str], labels: Iterable[str] = ()) -> str | None:
    """Why a mail, by its headers and labels, is not a human exchange; None if it may be."""
    if headers.get("list-unsubscribe"):
        return LIST_UNSUBSCRIBE
    if headers.get("list-id"):
        return LIST_ID
    precedence = (headers.get("precedence") or "").strip().lower()
    if precedence in ("bulk", "list", "junk"):
        return PRECEDENCE.format(value=precedence)
    auto = (headers.get("auto-submitted") or "").strip().lower()
    if auto and auto != "no":
        return AUTO_SUBMITTED.format(value=auto.split(";")[0])
    suppress = (headers.get("x-auto-response-suppress") or "").lower()
    if "oof" in suppress or (headers.get("x-autoreply") or "").lower() == "yes":
        return AUTO_REPLY
    for label in labels:
        name = _category(label)
        if name:
            return CATEGORY.format(value=name)
        if re.sub(r"[\s-]+", "_", label.strip()).upper() in _SPAM_LABELS:
            return SPAM
    if is_calendar_notification(headers, labels):
        return CALENDAR_NOTIFICATION
    return None


def email_reason(
    headers: Mapping[str, str],
    labels: Iterable[str],
    n_recipients: int,
    *,
    is_draft: bool = False,
    recipient_cap: int = RECIPIENT_CAP,
) -> str | None:
    if is_draft:
        return DRAFT
    if n_recipients > recipient_cap:
        return RECIPIENT_CAP_REASON.format(cap=recipient_cap)
    return header_reason(headers, labels)


def meeting_reason(
    status: str | None,
    others: int,
    user_response: str | None,
    *,
    attendee_cap: int = ATTENDEE_CAP,
    attendees: int | None = None,
) -> str | None:
    """`others`: attendees other than the user (organiser included); `user_response`:
    the user's own answer, None when the user is not on the attendee list; `attendees`:
    the length of the attendee list (0: an event nobody was invited to, whoever owns it)."""
    if (status or "").lower() == "cancelled":
        return CANCELLED
    if (user_response or "").lower() == "declined":
        return DECLINED
    if others <= 0 or attendees == 0:
        return SINGLE_ATTENDEE
    if others + 1 > attendee_cap:
        return ATTENDEE_CAP_REASON.format(cap=attendee_cap)
    return None


def interaction_reason(
    ix: Interaction, own: Collection[str] = (), *, recipient_cap: int = RECIPIENT_CAP, attendee_cap: int = ATTENDEE_CAP
) -> str | None:
    """Why this interaction is left out, or None. `own`: the user's canonical addresses.

    Robot addresses are an address-level matter (`address_reason`); here only a mail
    *from* a robot is dropped, since nobody answers it.
    """
    own = {canonical(a) for a in own}
    if ix.kind == "meeting":
        others: set[str] = set()
        user_response = None
        for p in ix.participants:
            addr = canonical(p.address)
            if addr in own:
                if p.role == "organizer":
                    user_response = user_response or "organizer"
                else:
                    user_response = p.response
            elif not (p.role == "attendee" and (p.response or "") == "declined"):
                others.add(addr)
        n_attendees = sum(p.role == "attendee" for p in ix.participants)
        # A big audience is counted, not stored (ingest.audience): the count decides.
        n_others = max(len(others), (ix.audience or 0) - 1)
        return meeting_reason(
            ix.status, n_others, user_response, attendee_cap=attendee_cap, attendees=max(n_attendees, ix.audience or 0)
        )
    headers = dict(ix.headers)
    recipients = {canonical(p.address) for p in ix.participants if p.role in ("to", "cc", "bcc")}
    n_recipients = max(len(recipients), (ix.audience or 0) - 1)
    reason = email_reason(headers, ix.labels, n_recipients, is_draft=ix.is_draft, recipient_cap=recipient_cap)
    if reason:
        return reason
    for p in ix.participants:
        if p.role == "from" and canonical(p.address) not in own:
            return address_reason(p.address)
    return None


_Who = TypeVar("_Who", bound=Hashable)  # an address or a person id: whatever the caller counts by


def one_way(received: Mapping[_Who, int], answered: Collection[_Who]) -> set[_Who]:
    """People who wrote to the user and never heard back (no mail from the user to them,
    no meeting with them): not a relationship, whoever they are."""
    return {who for who, n in received.items() if n > 0 and who not in answered}


class Rules:
    """The user's allow/block rules. The most specific rule wins: an address rule over a
    domain rule, a longer domain over its parent (block *.example.com, allow ana@...)."""

    def __init__(self, rules: Iterable[tuple[str, str, str]] = ()):
        self.addresses: dict[str, str] = {}
        self.domains: dict[str, str] = {}
        for kind, value, action in rules:
            if kind == "address":
                self.addresses[canonical(value)] = action
            elif kind == "domain":
                self.domains[value.strip().lower().lstrip("@").strip(".")] = action

    def __bool__(self) -> bool:
        return bool(self.addresses or self.domains)

    def verdict(self, address: str) -> tuple[str, str] | None:
        """("allow"|"block", reason text) for the rule that decides, or None."""
        addr = canonical(address)
        if addr in self.addresses:
            action = self.addresses[addr]
            return action, BLOCKED.format(
                kind="address", value=addr
            ) if action == "block" else f"allowed by your rule on address {addr}"
        labels = domain_of(addr).split(".")
        for i in range(len(labels)):
            dom = ".".join(labels[i:])
            if dom in self.domains:
                action = self.domains[dom]
                return action, BLOCKED.format(
                    kind="domain", value=dom
                ) if action == "block" else f"allowed by your rule on domain {dom}"
        return None
