"""Mail as the world delivers it: ids, threads, labels, replies with real latencies.

`Mailer` owns the random source and the id spaces, so every message of a world gets
unique Gmail and Graph ids and threads that hold together (In-Reply-To, References,
one thread id per mailbox). Relationship threads follow their `Tie`; noise is in
`noise`.
"""

from __future__ import annotations

import base64
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from .records import BODY_MARKER, UTC, WORK_DOMAIN, WorldMessage
from .cast import Tie

GOOGLE_ID_CHARS = "abcdefghijklmnopqrstuv0123456789"
SUBJECTS = {
    "contact": [
        "Dinner next week?",
        "Photos from the trip",
        "Quick question",
        "That book",
        "Weekend plans",
        "Re-reading your draft",
        "Birthday ideas",
        "Moving boxes",
        "Concert tickets",
        "Long time!",
        "Recipe you asked for",
        "Advice needed",
        "Running club",
        "Article you might like",
        "Are you around Saturday?",
    ],
    "colleague": [
        "Q3 roadmap",
        "Budget review",
        "Customer escalation",
        "Hiring loop",
        "Design doc comments",
        "Launch checklist",
        "Offsite agenda",
        "Vendor contract",
        "Metrics for Monday",
        "Retro notes",
        "Slides for the board",
        "On-call handover",
        "Migration plan",
        "Pricing proposal",
    ],
}
LINES = [
    "Let me know what you think.",
    "Sounds good to me.",
    "Can we move it to Thursday?",
    "Attached the notes from earlier.",
    "Thanks again for yesterday!",
    "I'll check and get back to you.",
    "Does the new version work for you?",
    "Happy to help, just say when.",
]


@dataclass
class Thread:
    subject: str
    ids: dict = field(default_factory=dict)  # account -> (thread_id, conversation_id)
    last: WorldMessage | None = None


class Mailer:
    def __init__(
        self,
        rng: random.Random,
        *,
        user_name: str,
        user_email: str,
        work_email: str,
        aliases: tuple[str, ...],
        start: datetime,
        as_of: datetime,
        user_tz: str,
    ):
        self.rng = rng
        self.user_name, self.user_email, self.work_email = user_name, user_email, work_email
        # aliases: (+tag, old gmail the user still sends from, its dotted form, Exchange DN)
        self.plus_alias, self.old_address, self.dotted, self.user_dn = aliases
        self.start, self.as_of = start, as_of
        self.user_tz = ZoneInfo(user_tz)
        self.messages: list[WorldMessage] = []
        self._seen: set[str] = set()

    # -- ids -----------------------------------------------------------------------
    def gmail_id(self, at: datetime) -> str:
        # Gmail ids grow with time: milliseconds in the high bits, as the real ones do.
        while True:
            value = (int(at.timestamp() * 1000) << 20) | self.rng.getrandbits(20)
            text = f"{value & (2**64 - 1):016x}"
            if text not in self._seen:
                self._seen.add(text)
                return text

    def graph_id(self, prefix: str = "AAMkAD") -> str:
        while True:
            raw = self.rng.getrandbits(8 * 65).to_bytes(65, "big")
            text = prefix + base64.urlsafe_b64encode(raw).decode()
            if text not in self._seen:
                self._seen.add(text)
                return text

    def event_id(self) -> str:
        return "".join(self.rng.choice(GOOGLE_ID_CHARS) for _ in range(26))

    def message_id(self, sender: str, at: datetime) -> str:
        token = f"{self.rng.getrandbits(64):016x}"
        domain = sender.rsplit("@", 1)[-1] if "@" in sender else WORK_DOMAIN
        if domain in ("gmail.com", "googlemail.com"):
            return f"CA{token.upper()}{int(at.timestamp()):x}@mail.gmail.com"
        if domain == WORK_DOMAIN:
            return f"{token.upper()}@NW{token[:4].upper()}MB0{token[4]}.northwind.prod.outlook.com"
        return f"{int(at.timestamp())}.{token}@{domain}"

    # -- time ----------------------------------------------------------------------
    def clock(self, day: int, tz: ZoneInfo, work: bool) -> datetime:
        """A plausible local time on the given day of the span (work hours for work)."""
        when = (self.start + timedelta(days=day)).astimezone(tz)
        local = when.date()
        if work and local.weekday() >= 5 and self.rng.random() < 0.85:
            local += timedelta(days=7 - local.weekday())
        hours = range(8, 19) if work else (7, 8, 9, 12, 13, 18, 19, 20, 21, 22)
        hour = self.rng.choice(hours)
        at = datetime(
            local.year, local.month, local.day, hour, self.rng.randrange(60), self.rng.randrange(60), tzinfo=tz
        ).astimezone(UTC)
        if at < self.start:  # the first day of the span starts at noon
            at = self.start + timedelta(minutes=self.rng.randrange(30, 600))
        return at

    def latency(self, median_h: float, at: datetime, tz: ZoneInfo) -> datetime:
        hours = max(0.05, median_h * math.exp(self.rng.gauss(0.0, 1.1)))
        reply = at + timedelta(hours=hours)
        local = reply.astimezone(tz)
        if local.hour < 7:  # people sleep: night answers slide to the morning
            local = local.replace(hour=7 + self.rng.randrange(2), minute=self.rng.randrange(60))
            reply = local.astimezone(UTC)
        return reply

    # -- messages ------------------------------------------------------------------
    def emit(
        self,
        thread: Thread,
        account: str,
        sender,
        to,
        at: datetime,
        *,
        cc=(),
        bcc=(),
        labels=(),
        folder=None,
        headers=(),
        reply=True,
        message_id=None,
        draft=False,
        subject=None,
    ) -> WorldMessage:
        parent = thread.last if reply else None
        at = at.replace(microsecond=0)
        mid = message_id or self.message_id(sender[1], at)
        gid = self.gmail_id(at)
        if account not in thread.ids:
            thread.ids[account] = (gid, self.graph_id("AAQkAD"))
        thread_id, conversation_id = thread.ids[account]
        if subject is None:
            subject = thread.subject if parent is None else "Re: " + thread.subject
        first = sender[0].split()[0] if sender[0] else "there"
        body = f"Hi,\n\n{self.rng.choice(LINES)}\n\n[{BODY_MARKER}] private words stay here.\n-- \n{first}\n"
        recipients = len(to) + len(cc) + len(bcc)
        message = WorldMessage(
            gmail_id=gid,
            graph_id=self.graph_id(),
            account=account,
            thread_id=thread_id,
            conversation_id=conversation_id,
            message_id=mid,
            in_reply_to=parent.message_id if parent else None,
            references=(parent.references + (parent.message_id,)) if parent else (),
            sender=sender,
            to=tuple(to),
            cc=tuple(cc),
            bcc=tuple(bcc),
            date=at,
            labels=tuple(labels),
            folder=folder,
            extra_headers=tuple(headers),
            subject=subject,
            body=body,
            is_draft=draft,
            size_estimate=700 + len(body) + len(subject) + 48 * recipients + 40 * len(headers),
        )
        self.messages.append(message)
        if not draft:
            thread.last = message
        return message

    def received_labels(
        self, account: str, at: datetime, category: str = "CATEGORY_PERSONAL", extra=(), unread: float = 0.05
    ):
        """Google labels (or the Outlook folder) of a message the user received."""
        if account == "microsoft":
            return (), "inbox"
        age = (self.as_of - at).days
        labels = [] if age > 30 and self.rng.random() < 0.35 else ["INBOX"]  # archived
        if age < 3 or self.rng.random() < unread:
            labels.append("UNREAD")
        labels.append(category)
        labels.extend(extra)
        return tuple(labels), None

    def sent_labels(self, account: str):
        return ((), "sentitems") if account == "microsoft" else (("SENT",), None)

    def user_addresses(self, account: str) -> tuple[tuple[str, str], tuple[str, str]]:
        """(the address the user writes from, the address mail reaches them at) for a
        thread: the old Gmail both ways (sometimes written dotted), the work address
        (sometimes shown as the user's Exchange DN)."""
        name, r = self.user_name, self.rng.random()
        if account == "microsoft":
            return (name, self.work_email), (name, self.user_dn if r < 0.1 else self.work_email)
        if r < 0.15:
            return (name, self.old_address), (name, self.dotted if r < 0.07 else self.old_address)
        return (name, self.user_email), (name, self.user_email)


def address_of(mailer: Mailer, tie: Tie, account: str) -> tuple[str, str]:
    """Which of a person's addresses this message shows."""
    person, rng = tie.person, mailer.rng
    smtp = [a for a in person.addresses if not a.startswith("/")]
    if account == "microsoft":
        dn = [a for a in person.addresses if a.startswith("/")]
        if dn and rng.random() < 0.2:
            return (person.name, dn[0])
        return (person.name, smtp[0])
    if tie.personal:
        return (person.name, tie.personal)
    if len(smtp) > 1 and rng.random() < 0.4:
        return (person.name, rng.choice(smtp[1:]))
    return (person.name, smtp[0])


def relationship_thread(mailer: Mailer, tie: Tie, day: int, cc_pool: list[Tie]) -> None:
    """One conversation with a tie: opener, answers with latencies, maybe a nudge."""
    rng = mailer.rng
    account = tie.account
    if tie.personal and rng.random() < 0.12:
        account = "google"
    from_user = rng.random() < tie.user_init
    person_tz = ZoneInfo(tie.person.timezone)
    at = mailer.clock(day, mailer.user_tz if from_user else person_tz, account == "microsoft")
    if at >= mailer.as_of:
        return
    kind = "colleague" if account == "microsoft" else "contact"
    thread = Thread(rng.choice(SUBJECTS[kind]))
    me, me_in = mailer.user_addresses(account)
    them = address_of(mailer, tie, account)
    cc = ()
    if cc_pool and rng.random() < (0.25 if account == "microsoft" else 0.1):
        # a few candidates drawn first keeps big worlds linear; only people active then
        drawn = rng.sample(cc_pool, min(len(cc_pool), 6))
        active = [t for t in drawn if t is not tie and t.threads[day] > 0][: rng.randint(1, 2)]
        cc = tuple(address_of(mailer, t, account) for t in active)
    count, nudged = 0, False
    while True:
        if from_user:
            labels, folder = mailer.sent_labels(account)
            bcc = ()
            if cc_pool and rng.random() < 0.02:  # a blind copy to a friend, seen only here
                bcc = (address_of(mailer, rng.choice(cc_pool), account),)
            mailer.emit(thread, account, me, (them,), at, cc=cc, bcc=bcc, labels=labels, folder=folder)
        else:
            to = (me_in,)
            dual = tie.dual and count == 0 and account == "google" and rng.random() < 0.25
            if dual:
                to = (me_in, (mailer.user_name, mailer.work_email))
            extra = ("IMPORTANT",) if tie.archetype in ("strong_steady", "cooling", "dormant") else ()
            extra += tie.labels
            labels, folder = mailer.received_labels(account, at, extra=extra)
            message = mailer.emit(thread, account, them, to, at, cc=cc, labels=labels, folder=folder)
            if dual:  # the same message delivered to the work mailbox too
                copy = Thread(thread.subject)
                copy.last = None
                mailer.emit(
                    copy,
                    "microsoft",
                    them,
                    to,
                    at,
                    cc=cc,
                    labels=(),
                    folder="inbox",
                    reply=False,
                    message_id=message.message_id,
                    subject=message.subject,
                )
        count += 1
        responder_user = not from_user
        p = tie.user_reply if responder_user else tie.them_reply
        if count > 1:
            p *= tie.cont
        if count < 8 and rng.random() < p:
            median = tie.latency_h * (4.0 if tie.change is not None and day >= tie.change else 1.0)
            at = mailer.latency(median, at, mailer.user_tz if responder_user else person_tz)
            from_user = responder_user
        elif count == 1 and not nudged and rng.random() < tie.nudge:
            at = at + timedelta(days=rng.uniform(3, 10))  # "just bumping this up"
            nudged = True
        else:
            return
        if at >= mailer.as_of:
            return
