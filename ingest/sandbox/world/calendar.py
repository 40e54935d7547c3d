"""Meetings as the world holds them: 1:1 series and singles, group meetings, all-hands,
focus time, all-day events, declined and cancelled ones, and the invitation mail they
cause (the mail a noise filter has to recognise as calendar traffic).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

import numpy as np

from .records import UTC, WorldEvent, WorldPerson
from .cast import INVITE_ANSWERS, Tie, spread
from .mail import Mailer, Thread

BIRTHDAYS = "addressbook#contacts@group.v.calendar.google.com"
HOLIDAYS = "en.spain#holiday@group.v.calendar.google.com"
CAL_NOTIFY = ("Google Calendar", "calendar-notification@google.com")
MS_INVITE = (
    ("Content-Class", "urn:content-classes:calendarmessage"),
    ("X-MS-Exchange-Calendar-Series-Instance-Id", "BAAAAA=="),
)


class Planner:
    def __init__(self, mailer: Mailer, days: int):
        self.m = mailer
        self.rng = mailer.rng
        self.days = days
        self.events: list[WorldEvent] = []

    # -- building blocks -------------------------------------------------------------
    def me(self, account: str) -> tuple[str, str]:
        return (self.m.user_name, self.m.work_email if account == "microsoft" else self.m.user_email)

    def local(self, day: int, tz: ZoneInfo, hour: float, work: bool = True) -> datetime:
        d = (self.m.start + timedelta(days=day)).astimezone(tz).date()
        if work and d.weekday() >= 5:
            d += timedelta(days=7 - d.weekday())
        return datetime(d.year, d.month, d.day, int(hour), int(round((hour % 1) * 60)) % 60, tzinfo=tz)

    def make(
        self,
        account: str,
        summary: str,
        start: datetime,
        minutes: int,
        organizer,
        attendees,
        *,
        calendar_id: str = "primary",
        recurrence: str | None = None,
        all_day: bool = False,
        status: str = "confirmed",
    ) -> WorldEvent:
        eid = self.m.event_id()
        uid = (
            f"{eid}@google.com"
            if account == "google"
            else "040000008200E00074C5B7101A82E008" + f"{self.rng.getrandbits(128):032X}"
        )
        event = WorldEvent(
            id=eid,
            graph_id=self.m.graph_id("AAMkAGE"),
            account=account,
            calendar_id=calendar_id,
            ical_uid=uid,
            summary=summary,
            start=start,
            end=start + timedelta(minutes=minutes),
            timezone=str(start.tzinfo),
            all_day=all_day,
            organizer=organizer,
            attendees=tuple(attendees),
            status=status,
            recurrence=recurrence,
            created=self._created(start),
        )
        return event

    def _created(self, start: datetime) -> datetime:
        created = start.astimezone(UTC) - timedelta(days=self.rng.uniform(1, 21))
        return min(max(created, self.m.start), self.m.as_of).replace(microsecond=0)

    def add(self, event: WorldEvent) -> WorldEvent:
        self.events.append(event)
        return event

    def series(
        self,
        account,
        summary,
        first: datetime,
        minutes,
        organizer,
        attendees,
        rule: str,
        count: int,
        *,
        exceptions: bool = True,
    ) -> list[WorldEvent]:
        """A recurring master, with a cancelled occurrence (EXDATE) and a moved one.
        DTSTART is moved onto the rule's first occurrence: RFC 5545 counts DTSTART as an
        instance, dateutil does not, and the two must agree."""
        naive = first.replace(tzinfo=None)
        first = next(iter(rrulestr(f"{rule};COUNT=1", dtstart=naive))).replace(tzinfo=first.tzinfo)
        master = self.make(account, summary, first, minutes, organizer, attendees, recurrence=f"{rule};COUNT={count}")
        out = []
        occurrences = master.instances()
        if exceptions and len(occurrences) > 3:
            if self.rng.random() < 0.7:
                gone = self.rng.choice(occurrences[1:-1])
                master = replace(master, exdates=(gone.start,))
            if self.rng.random() < 0.4:
                moved = self.rng.choice(occurrences[1:-1])
                if moved.start not in master.exdates:
                    master = replace(master, overridden=(moved.start,))
                    out.append(
                        replace(
                            moved,
                            start=moved.start + timedelta(days=1),
                            end=moved.end + timedelta(days=1),
                            sequence=1,
                            graph_id=self.m.graph_id("AAMkAGE"),
                        )
                    )
        return [master] + out

    def invitation(self, event: WorldEvent, sent: datetime) -> None:
        """The mail an invitation causes, as each provider sends it."""
        if sent >= self.m.as_of or sent < self.m.start:
            return
        account = event.account
        local = event.start.astimezone(ZoneInfo(event.timezone))
        when = local.strftime("%a %b %d, %Y %H:%M") + f" ({event.timezone})"
        me = self.me(account)
        if account == "google":
            headers = (("Sender", f"{CAL_NOTIFY[0]} <{CAL_NOTIFY[1]}>"), ("Reply-To", event.organizer[1]))
            subject = f"Invitation: {event.summary} @ {when} ({me[1]})"
        else:
            headers = MS_INVITE
            subject = event.summary
        labels, folder = self.m.received_labels(account, sent)
        self.m.emit(
            Thread(subject),
            account,
            event.organizer,
            (me,),
            sent,
            labels=labels,
            folder=folder,
            headers=headers,
            subject=subject,
        )

    def response(self, event: WorldEvent, who, verb: str, sent: datetime) -> None:
        if sent >= self.m.as_of or sent < self.m.start:
            return
        account = event.account
        headers = MS_INVITE if account == "microsoft" else (("Sender", f"{CAL_NOTIFY[0]} <{CAL_NOTIFY[1]}>"),)
        subject = f"{verb}: {event.summary}"
        labels, folder = self.m.received_labels(account, sent)
        self.m.emit(
            Thread(subject),
            account,
            who,
            (self.me(account),),
            sent,
            labels=labels,
            folder=folder,
            headers=headers,
            subject=subject,
        )

    # -- relationships -----------------------------------------------------------------
    def one_on_one_series(self, tie: Tie, end_day: int) -> list[WorldEvent]:
        """Weekly 1:1 (colleagues) or fortnightly coffee (friends), in half-year masters."""
        colleague = tie.account == "microsoft"
        interval, full = (1, 26) if colleague else (2, 13)
        rule = "FREQ=WEEKLY" if interval == 1 else "FREQ=WEEKLY;INTERVAL=2"
        tz = self.m.user_tz
        summary = (
            f"1:1 {self.m.user_name.split()[0]} / {tie.person.name.split()[0]}"
            if colleague
            else f"Coffee with {tie.person.name.split()[0]}"
        )
        them = (tie.person.name, tie.person.address)
        me = self.me(tie.account)
        day = 7 + self.rng.randrange(7)
        hour = self.rng.choice([9.5, 10, 11, 15, 16.5]) if colleague else self.rng.choice([8.5, 18, 19])
        out: list[WorldEvent] = []
        while day < end_day:
            left = int(np.ceil((end_day - day) / (7 * interval)))
            count = max(1, min(full, left))
            first = self.local(day, tz, hour)
            attendees = ((me[0], me[1], "accepted"), (them[0], them[1], "accepted"))
            out += self.series(tie.account, summary, first, 30 if colleague else 60, me, attendees, rule, count)
            day += 7 * interval * count
        return out

    def meetings(self, tie: Tie, nrng: np.random.Generator, future_days: int = 30) -> None:
        """Single 1:1 meetings and the one-sided invitations of a tie."""
        rate = np.concatenate([tie.meets, np.full(future_days, tie.meets[-1])])
        for day in spread(rate, nrng):
            self._single(tie, int(day), answered=True)
        for day in spread(tie.invites, nrng):
            self._single(tie, int(day), answered=False)

    def _single(self, tie: Tie, day: int, answered: bool) -> None:
        rng = self.rng
        colleague = tie.account == "microsoft"
        by_user = rng.random() < tie.user_init
        tz = self.m.user_tz if by_user else ZoneInfo(tie.person.timezone)
        hour = rng.choice([9, 10, 11.5, 14, 16]) if colleague else rng.choice([8.5, 13, 18.5, 19.5, 20])
        start = self.local(day, tz, hour, work=colleague)
        me = self.me(tie.account)
        them = (tie.person.name, tie.person.address)
        first = tie.person.name.split()[0]
        summary = (
            rng.choice([f"Sync with {first}", f"{first} / {me[0].split()[0]}", "Catch-up"])
            if colleague
            else rng.choice([f"Lunch with {first}", f"Call {first}", "Drinks", f"Walk with {first}"])
        )
        other = "accepted"  # a one-sided invitation counts in the truth unless declined
        if not answered:
            other = rng.choice(INVITE_ANSWERS)
        organizer = me if by_user else them
        mine = "accepted" if by_user or answered else other
        theirs = other if by_user else "accepted"
        attendees = ((me[0], me[1], mine), (them[0], them[1], theirs))
        event = self.add(self.make(tie.account, summary, start, rng.choice([30, 45, 60, 90]), organizer, attendees))
        sent = start.astimezone(UTC) - timedelta(days=rng.uniform(1, 14))
        if not by_user and rng.random() < 0.7:
            self.invitation(event, sent)
        elif by_user and answered and rng.random() < 0.3:
            self.response(event, them, "Accepted", sent + timedelta(hours=rng.uniform(1, 30)))
        if answered and rng.random() < 0.05:  # planned once, called off, then this one
            self.add(
                replace(
                    self.make(
                        tie.account, summary, start - timedelta(days=rng.randint(2, 9)), 45, organizer, attendees
                    ),
                    status="cancelled",
                )
            )


def group_events(p: Planner, ties: list[Tie], crowd: list[WorldPerson], days: int) -> None:
    """Meetings that are not ties: team syncs, all-hands, dinners, focus time, all-day."""
    rng, me_ms, me_g = p.rng, p.me("microsoft"), p.me("google")
    tz = p.m.user_tz
    steady = ("strong_steady", "medium_steady", "weak_occasional")
    team = [t for t in ties if t.account == "microsoft" and t.archetype in steady][:7]
    friends = [t for t in ties if t.account == "google" and t.archetype in steady[:2]]
    lead = team[0].person if team else crowd[1]
    people = [(t.person.name, t.person.address, "accepted") for t in team[1:]]
    for block in range(0, days + 60, 182):  # weekly team sync, renewed every half year
        first = p.local(block + 2, tz, 9.5)
        attendees = ((me_ms[0], me_ms[1], "accepted"), (lead.name, lead.address, "accepted"), *people)
        for e in p.series(
            "microsoft", "Team sync", first, 45, (lead.name, lead.address), attendees, "FREQ=WEEKLY;BYDAY=MO", 26
        ):
            p.add(e)
    ceo = crowd[0]
    everyone = [
        (c.name, c.address, rng.choice(["accepted", "accepted", "needsAction", "tentative"])) for c in crowd[1:80]
    ]
    for block in range(0, days + 30, 365):
        first = p.local(block + 3, tz, 17)
        attendees = ((me_ms[0], me_ms[1], "accepted"), (ceo.name, ceo.address, "accepted"), *everyone)
        for e in p.series(
            "microsoft",
            "Monthly all-hands",
            first,
            60,
            (ceo.name, ceo.address),
            attendees,
            "FREQ=MONTHLY;BYDAY=1TH",
            12,
            exceptions=False,
        ):
            p.add(e)
    for block in range(0, days + 60, 182):  # focus time: the user alone
        first = p.local(block + 4, tz, 14)
        for e in p.series(
            "microsoft", "Focus time", first, 120, me_ms, (), "FREQ=WEEKLY;BYDAY=WE", 26, exceptions=False
        ):
            p.add(e)
    for day in range(10, days, 45):  # project meetings, some declined, some cancelled
        org = rng.choice(team).person if team else ceo
        invited = rng.sample(crowd[1:], rng.randint(3, 8))
        mine = rng.choice(["accepted"] * 6 + ["declined"] * 2 + ["tentative"])
        attendees = (
            (me_ms[0], me_ms[1], mine),
            (org.name, org.address, "accepted"),
            *((c.name, c.address, "accepted") for c in invited),
        )
        status = "cancelled" if rng.random() < 0.15 else "confirmed"
        e = p.add(
            p.make(
                "microsoft",
                rng.choice(["Project review", "Roadmap workshop", "Incident review"]),
                p.local(day, tz, rng.choice([10, 12, 15])),
                60,
                (org.name, org.address),
                attendees,
                status=status,
            )
        )
        p.invitation(e, e.start.astimezone(UTC) - timedelta(days=rng.uniform(1, 7)))
    for day in range(40, days, 120):  # the 65+ person kickoff
        big = ((me_ms[0], me_ms[1], "accepted"),) + tuple((c.name, c.address, "needsAction") for c in crowd[1:70])
        e = p.add(p.make("microsoft", "Quarterly kickoff", p.local(day, tz, 16), 90, (ceo.name, ceo.address), big))
        p.invitation(e, e.start.astimezone(UTC) - timedelta(days=10))
    for day in range(25, days, 40):  # dinners with friends
        if len(friends) < 3:
            break
        guests = rng.sample(friends, rng.randint(3, min(5, len(friends))))
        guests = [g for g in guests if g.threads[min(day, days - 1)] > 0]
        host = guests[0].person if guests and rng.random() < 0.5 else None
        organizer = (host.name, host.address) if host else me_g
        mine = "declined" if host and rng.random() < 0.2 else "accepted"
        attendees = ((me_g[0], me_g[1], mine),) + tuple((g.person.name, g.person.address, "accepted") for g in guests)
        e = p.add(p.make("google", "Dinner", p.local(day, tz, 20.5, work=False), 150, organizer, attendees))
        if host:
            p.invitation(e, e.start.astimezone(UTC) - timedelta(days=rng.uniform(2, 9)))
    for day in range(0, days + 30, 61):  # the gym, alone
        for e in p.series(
            "google", "Gym", p.local(day, tz, 7.5), 60, me_g, (), "FREQ=WEEKLY;BYDAY=TU,TH", 16, exceptions=False
        ):
            p.add(e)
    for t in friends[:5]:  # birthdays from the contacts calendar
        first = p.local(rng.randrange(365), tz, 0, work=False)
        p.add(
            p.make(
                "google",
                f"{t.person.name}'s birthday",
                first,
                24 * 60,
                ("Contacts", BIRTHDAYS),
                (),
                calendar_id=BIRTHDAYS,
                recurrence=f"FREQ=YEARLY;COUNT={days // 365 + 2}",
                all_day=True,
            )
        )
    for day in range(3, days, 33):  # errands: the user alone, listed as the only attendee
        when = p.local(day, tz, rng.choice([8, 12.5, 17]))
        p.add(
            p.make(
                "google",
                rng.choice(["Dentist", "Haircut", "Call the bank"]),
                when,
                45,
                me_g,
                ((me_g[0], me_g[1], "accepted"),),
            )
        )
    for day in range(5, days, 60):  # public holidays
        p.add(
            p.make(
                "google",
                "Public holiday",
                p.local(day, tz, 0, work=False),
                24 * 60,
                ("Holidays in Spain", HOLIDAYS),
                (),
                calendar_id=HOLIDAYS,
                all_day=True,
            )
        )
    for day in range(100, days, 180):  # vacations and out-of-office, all day, several days
        p.add(p.make("google", "Vacation", p.local(day, tz, 0, work=False), 7 * 24 * 60, me_g, (), all_day=True))
        p.add(
            p.make("microsoft", "Out of office", p.local(day, tz, 0, work=False), 5 * 24 * 60, me_ms, (), all_day=True)
        )
