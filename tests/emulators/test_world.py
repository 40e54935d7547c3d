"""The synthetic world: deterministic, internally consistent, and true to its own truth.

Everything downstream (importers, emulators, filters, the model) is measured against
this world, so these tests check that what was generated matches what the truth says.
"""

from __future__ import annotations

import email.utils
import mailbox
import os
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
from dateutil.rrule import rrulestr
from hypothesis import HealthCheck, example, given, settings, strategies as st

from ingest.sandbox.world import (
    ARCHETYPES,
    BODY_MARKER,
    DEFAULT_AS_OF,
    FLAGS,
    KINDS,
    WorldEvent,
    generate_world,
    strength_from_rate,
    write_ics,
    write_mbox,
)

UTC = timezone.utc
ROOT = Path(__file__).resolve().parents[2]
HEX16 = re.compile(r"^[0-9a-f]{16}$")


@pytest.fixture(scope="module")
def world():
    return generate_world(7)


def involving(world, address):
    """Non-draft messages a person sent, or received alongside the user."""
    addresses = set(world.truth[address].addresses)
    return [
        m
        for m in world.messages
        if not m.is_draft and (m.sender[1] in addresses or any(a in addresses for _, a in m.recipients))
    ]


def involving_account(world, tie, account):
    addresses = set(tie.addresses)
    return [m for m in world.messages_for(account) if m.sender[1] in addresses]


def written_share(world, address) -> tuple[float, int]:
    """Share of the messages between the user and a person that the user wrote."""
    addresses, own = set(world.truth[address].addresses), set(world.own_addresses)
    mine = theirs = 0
    for m in world.messages:
        if m.is_draft:
            continue
        recipients = {a for _, a in m.recipients}
        if m.sender[1] in own and recipients & addresses:
            mine += 1
        elif m.sender[1] in addresses and recipients & own:
            theirs += 1
    return mine / max(1, mine + theirs), mine + theirs


def test_same_seed_same_world_other_seed_other_world():
    # Given two worlds from the same seed and one from another
    a, b, c = generate_world(11, days=200), generate_world(11, days=200), generate_world(12, days=200)
    # Then the first two are identical, to the last id and truth, and the third is not
    assert a.messages == b.messages and a.events == b.events and a.truth == b.truth
    assert a.people == b.people
    assert [m.message_id for m in a.messages] != [m.message_id for m in c.messages]


DIGEST = """
import hashlib, sys, tempfile, pathlib
from ingest.sandbox.world import generate_world, write_ics, write_mbox
w = generate_world(3, days=150, contacts=20)
d = pathlib.Path(tempfile.mkdtemp())
write_mbox(w, d / "m"); write_ics(w, d / "g"); write_ics(w, d / "c", account="microsoft")
print(hashlib.sha256(repr((w.messages, w.events, sorted(w.truth.items()))).encode()
      + b"".join((d / n).read_bytes() for n in "mgc")).hexdigest())
"""


def test_world_and_files_do_not_depend_on_the_hash_seed():
    # Given two interpreters with different string-hash seeds
    def digest(hash_seed):
        env = dict(os.environ, PYTHONHASHSEED=hash_seed)
        return subprocess.run(
            [sys.executable, "-c", DIGEST], env=env, cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout.strip()

    # Then the world, its mbox and its .ics come out byte for byte the same
    assert digest("1") == digest("2") == digest("3")


def test_default_world_is_small_fast_and_fixed_in_time():
    # When the default world is generated
    t0 = time.perf_counter()
    w = generate_world()
    elapsed = time.perf_counter() - t0
    # Then it has the documented size and span, ends at the fixed as_of, and was quick
    assert elapsed < 4.0, elapsed  # ~0.3 s on the dev box; leaves room for a shared CPU
    assert 3000 <= len(w.messages) <= 6500
    assert 200 <= len(w.events) <= 900
    assert w.as_of == DEFAULT_AS_OF and w.start == DEFAULT_AS_OF - timedelta(days=730)
    assert all(w.start <= m.date < w.as_of for m in w.messages)
    assert [m.date for m in w.messages] == sorted(m.date for m in w.messages)
    assert all(m.date.utcoffset() == timedelta(0) for m in w.messages)


def test_ids_are_unique_and_shaped_like_the_providers(world):
    messages = world.messages
    assert all(HEX16.match(m.gmail_id) and HEX16.match(m.thread_id) for m in messages)
    assert len({m.gmail_id for m in messages}) == len(messages)
    assert len({m.graph_id for m in messages}) == len(messages)
    for account in ("google", "microsoft"):
        ids = [m.message_id for m in world.messages_for(account)]
        assert len(ids) == len(set(ids)), account
    assert all("<" not in m.message_id and "@" in m.message_id for m in messages)
    assert len({e.id for e in world.events}) == len(world.events)
    assert len({e.graph_id for e in world.events}) == len(world.events)
    occurrences = [i for e in world.events for i in e.instances()]
    assert len({i.id for i in occurrences}) == len({i.graph_id for i in occurrences}) == len(occurrences)
    assert {m.account for m in messages} == {"google", "microsoft"}
    assert len(world.messages_for("google")) + len(world.messages_for("microsoft")) == len(messages)
    assert len(world.events_for("google")) + len(world.events_for("microsoft")) == len(world.events)


def test_replies_point_at_real_parents_in_the_same_thread(world):
    for account in ("google", "microsoft"):
        by_id = {m.message_id: m for m in world.messages_for(account)}
        replies = [m for m in by_id.values() if m.in_reply_to]
        assert len(replies) > 300
        for reply in replies:
            parent = by_id[reply.in_reply_to]
            assert reply.thread_id == parent.thread_id
            assert reply.conversation_id == parent.conversation_id
            assert reply.references == parent.references + (parent.message_id,)
            assert reply.date > parent.date
            assert reply.subject.startswith("Re: ")


def test_reply_latencies_run_from_minutes_to_days(world):
    by_id = {m.message_id: m for m in world.messages_for("google")}
    waits = sorted((m.date - by_id[m.in_reply_to].date).total_seconds() / 3600 for m in by_id.values() if m.in_reply_to)
    assert waits[0] < 0.5 and waits[-1] > 72
    assert 0.5 < waits[len(waits) // 2] < 24  # median: hours, not seconds or weeks


def test_strong_ties_answer_within_hours_weak_ones_take_longer(world):
    by_id = {m.message_id: m for m in world.messages}
    waits: dict = {}
    for m in world.messages:
        if m.in_reply_to and not m.is_sent:
            tie = world.truth_for(m.sender[1])
            if tie and tie.is_relationship:
                hours = (m.date - by_id[m.in_reply_to].date).total_seconds() / 3600
                waits.setdefault(tie.archetype, []).append(hours)
    median = {k: sorted(v)[len(v) // 2] for k, v in waits.items()}
    assert median["strong_steady"] < 8 < median["weak_occasional"]


@given(st.floats(0, 1000), st.floats(0, 1000))
def test_strength_is_monotone_and_bounded(a, b):
    low, high = sorted((a, b))
    assert 0 <= strength_from_rate(low) <= strength_from_rate(high) <= 100


def test_every_body_carries_the_marker(world):
    assert all(BODY_MARKER in m.body for m in world.messages)


def test_truth_covers_everyone_with_known_archetypes(world):
    assert set(world.truth) == {p.address for p in world.people}
    assert {t.archetype for t in world.truth.values()} == set(ARCHETYPES)
    assert {p.kind for p in world.people} == set(KINDS)
    counts = Counter(t.archetype for t in world.truth.values() if t.is_relationship)
    assert counts["strong_steady"] == 6 and counts["cooling"] == 5 and counts["dormant"] == 4
    assert counts["one_sided_you"] == 4 and counts["one_sided_them"] == 4
    assert counts["new_rising"] == 2 and sum(counts.values()) == 60
    for tie in world.truth.values():
        assert tie.flags <= set(FLAGS)
        assert 0 <= tie.true_strength <= 100
        assert tie.true_strength == strength_from_rate(tie.rate)
        assert tie.monthly_strength[-1][0] <= world.as_of
        assert tie.is_relationship == (tie.archetype != "noise")
        if not tie.is_relationship:
            assert tie.true_strength == 0 and not tie.flags


def test_archetypes_order_strength(world):
    def mean(archetype):
        values = [t.true_strength for t in world.truth.values() if t.archetype == archetype]
        return sum(values) / len(values)

    assert mean("strong_steady") > 75 > mean("medium_steady") > mean("weak_occasional")
    assert mean("new_rising") > mean("medium_steady")
    assert mean("dormant") == 0
    assert all(
        t.flags == {t.archetype}
        for t in world.truth.values()
        if t.archetype in ("cooling", "dormant", "one_sided_you", "one_sided_them")
    )
    assert all(
        not t.flags for t in world.truth.values() if t.archetype in ("strong_steady", "medium_steady", "new_rising")
    )


def test_dormant_ties_peaked_then_went_silent_in_mail_and_calendar(world):
    cutoff = world.as_of - timedelta(days=365)
    for tie in (t for t in world.truth.values() if t.archetype == "dormant"):
        messages = involving(world, tie.address)
        assert len(messages) > 20
        assert max(m.date for m in messages) < world.as_of - timedelta(days=400)
        assert max(s for _, s in tie.monthly_strength) >= 50
        addresses = set(tie.addresses)
        for event in world.events:
            if addresses & ({a for _, a, _ in event.attendees} | {event.organizer[1]}):
                assert all(i.start < cutoff for i in event.instances())


def test_cooling_ties_fell_below_40_percent_of_their_earlier_rate(world):
    recent_from = world.as_of - timedelta(days=90)
    early_until = world.start + timedelta(days=int(730 * 0.6))
    still_there = 0
    for tie in (t for t in world.truth.values() if t.archetype == "cooling"):
        opened = {}  # small conversations (not all-hands mail), by the date they started
        for m in involving(world, tie.address):
            if len(m.recipients) > 3:
                continue
            opened[m.thread_id] = min(m.date, opened.get(m.thread_id, m.date))
        early = sum(d < early_until for d in opened.values()) / (730 * 0.6)
        recent = sum(d >= recent_from for d in opened.values()) / 90
        assert early > 0.05 and recent < 0.4 * early, (tie.address, early, recent)
        assert tie.rate > 0
        still_there += recent > 0
    assert still_there >= 3  # cooling, not gone: most still write now and then


@pytest.mark.parametrize("archetype, low, high", [("one_sided_you", 0.8, 1.0), ("one_sided_them", 0.0, 0.2)])
def test_one_sided_ties_are_written_mostly_by_one_side(world, archetype, low, high):
    for tie in (t for t in world.truth.values() if t.archetype == archetype):
        share, count = written_share(world, tie.address)
        assert count >= 20 and low <= share <= high, (tie.address, share)


def test_balanced_ties_are_two_way(world):
    for tie in (t for t in world.truth.values() if t.archetype in ("strong_steady", "medium_steady")):
        share, count = written_share(world, tie.address)
        assert count >= 20 and 0.25 < share < 0.75, (tie.address, share)


def test_realised_recent_exchanges_follow_true_strength(world):
    # Given the last 90 days of answered 1:1 threads and 1:1 meetings per relationship
    since = world.as_of - timedelta(days=90)
    answered: Counter = Counter()
    threads: dict = {}
    for m in world.messages:
        if m.date >= since and not m.is_draft and len(m.recipients) <= 3:
            threads.setdefault((m.account, m.thread_id), set()).add(m.sender[1])
    owner = {a: t.address for t in world.truth.values() if t.is_relationship for a in t.addresses}
    own = set(world.own_addresses)
    for senders in threads.values():
        if senders & own:
            for s in senders - own:
                if s in owner:
                    answered[owner[s]] += 1
    for event in world.events:
        people = {a for _, a, r in event.attendees if r == "accepted"}
        if event.status == "confirmed" and len(event.attendees) == 2 and people & own:
            for i in event.instances(until=world.as_of):
                if i.start >= since:
                    for a in people - own:
                        if a in owner:
                            answered[owner[a]] += 1
    # Then ranking ties by what happened agrees with ranking them by their truth
    ties = [t for t in world.truth.values() if t.is_relationship]
    pairs = [(t.true_strength, answered[t.address]) for t in ties]
    concordant = discordant = 0
    for i, (s1, a1) in enumerate(pairs):
        for s2, a2 in pairs[i + 1 :]:
            product = (s1 - s2) * (a1 - a2)
            concordant += product > 0
            discordant += product < 0
    tau = (concordant - discordant) / (concordant + discordant)
    assert tau > 0.6, tau


def test_split_identities_and_exchange_dns(world):
    people = [p for p in world.people if p.kind in ("contact", "colleague")]
    smtp_multi = [p for p in people if len([a for a in p.addresses if not a.startswith("/")]) >= 2]
    assert len(smtp_multi) >= 5
    assert any(any(a.endswith("@googlemail.com") for a in p.addresses) for p in smtp_multi)
    dotted = [
        p
        for p in smtp_multi
        if len({a.replace(".", "") for a in p.addresses if a.endswith("@gmail.com")}) == 1
        and sum(a.endswith("@gmail.com") for a in p.addresses) >= 2
    ]
    assert dotted
    assert any(len(p.addresses) >= 3 for p in people)
    every = [a.lower() for p in world.people for a in p.addresses] + [a.lower() for a in world.own_addresses]
    assert len(every) == len(set(every))  # one address, one person
    colleagues = [
        p for p in people if p.address.endswith("@northwind.example") and world.truth[p.address].is_relationship
    ]
    assert colleagues and all(
        any(a.startswith("/O=NORTHWIND/OU=EXCHANGE ADMINISTRATIVE GROUP/CN=RECIPIENTS/CN=") for a in p.addresses)
        for p in colleagues
    )
    dn_accounts = {m.account for m in world.messages for _, a in (m.sender, *m.recipients) if a.startswith("/O=")}
    assert dn_accounts == {"microsoft"}
    # every non-canonical address of a split person is really used somewhere
    used = {a for m in world.messages for _, a in (m.sender, *m.recipients)}
    for p in smtp_multi:
        assert set(p.addresses) <= used, p


def test_the_user_sends_from_aliases_and_appears_in_both_mailboxes(world):
    assert len(world.user_aliases) >= 3
    senders = Counter(m.sender[1] for m in world.messages if m.is_sent)
    assert senders[world.user_email] > 100 and senders[world.work_email] > 100
    assert any(senders[a] > 10 for a in world.user_aliases)
    reached = Counter(a for m in world.messages if not m.is_sent for _, a in m.recipients)
    assert all(reached[a] > 0 for a in world.user_aliases), reached  # +tag, old, dotted, DN
    assert world.person(world.truth[next(iter(world.truth))].addresses[-1].upper()) is not None
    google = {m.message_id for m in world.messages_for("google")}
    both = [m for m in world.messages_for("microsoft") if m.message_id in google]
    assert both and all(m.folder == "inbox" for m in both)
    personal = [
        t for t in world.truth.values() if t.kind == "colleague" and any(a.endswith("@gmail.com") for a in t.addresses)
    ]
    assert personal and any(involving_account(world, personal[0], "google"))


def test_noise_looks_like_noise(world):
    kinds = {p.address: p.kind for p in world.people}
    by_kind: dict = {}
    for m in world.messages:
        by_kind.setdefault(kinds.get(m.sender[1]), []).append(m)
    assert all(
        m.header("List-Unsubscribe") for m in by_kind["newsletter"] if not m.sender[1].endswith("googlegroups.com")
    )
    assert all(m.header("List-Id") for m in by_kind["newsletter"])
    assert any("CATEGORY_PROMOTIONS" in m.labels for m in by_kind["newsletter"])
    robots = [m for m in by_kind["notifier"] if m.header("Auto-Submitted") == "auto-generated"]
    assert len(robots) > 100 and any("CATEGORY_UPDATES" in m.labels for m in robots)
    assert len(by_kind["noreply"]) > 20
    cold = by_kind["cold_sender"]
    cold_threads = {m.thread_id for m in cold}
    assert cold and not any(m.is_sent for m in world.messages if m.thread_id in cold_threads)
    assert max(len(m.recipients) for m in world.messages) >= 300
    invites = [
        m
        for m in world.messages
        if m.subject.startswith("Invitation: ") or m.header("Content-Class") == "urn:content-classes:calendarmessage"
    ]
    assert len(invites) > 20
    assert any(m.header("Sender") and "calendar-notification@google.com" in m.header("Sender") for m in invites)
    assert any(m.is_draft for m in world.messages)


def test_calendar_has_every_kind_of_meeting(world):
    events = world.events
    assert max(len(e.attendees) for e in events) >= 60
    assert any(e.status == "cancelled" for e in events)
    assert any(r == "declined" for e in events for _, a, r in e.attendees if a in world.own_addresses)
    assert any(len(e.attendees) <= 1 and not e.all_day for e in events)
    assert any(e.all_day for e in events)
    assert any(e.recurrence and "FREQ=WEEKLY" in e.recurrence for e in events)
    assert any(e.exdates for e in events)
    assert any(e.recurring_event_id for e in events)
    assert any(e.calendar_id != "primary" for e in events)
    assert all(e.end > e.start for e in events)
    assert all(r in ("accepted", "declined", "tentative", "needsAction") for e in events for _, _, r in e.attendees)


def test_instances_keep_local_wall_time_across_dst():
    # Given a weekly 10:00 Madrid meeting that crosses the March 2026 DST change
    madrid = ZoneInfo("Europe/Madrid")
    event = WorldEvent(
        id="abc",
        graph_id="g",
        account="microsoft",
        calendar_id="primary",
        ical_uid="abc@x",
        summary="1:1",
        start=datetime(2026, 3, 16, 10, tzinfo=madrid),
        end=datetime(2026, 3, 16, 10, 30, tzinfo=madrid),
        timezone="Europe/Madrid",
        all_day=False,
        organizer=("A", "a@x"),
        attendees=(),
        recurrence="FREQ=WEEKLY;COUNT=4",
        exdates=(datetime(2026, 3, 23, 9, tzinfo=UTC),),
    )
    # When it is expanded
    instances = event.instances()
    # Then the cancelled one is gone, local time stays 10:00, UTC moves from 09:00 to 08:00
    assert [i.start.astimezone(madrid).hour for i in instances] == [10, 10, 10]
    assert [i.start.astimezone(UTC).hour for i in instances] == [9, 8, 8]
    assert all(i.end - i.start == timedelta(minutes=30) for i in instances)
    assert all(i.recurring_event_id == "abc" and i.recurrence is None for i in instances)
    assert event.instances(until=datetime(2026, 3, 31, tzinfo=UTC))[-1].start.day == 30


def test_all_day_series_expand_by_local_date(world):
    birthdays = [e for e in world.events if e.all_day and e.recurrence]
    assert birthdays
    for event in birthdays:
        instances = event.instances()
        assert len(instances) == int(event.recurrence.split("COUNT=")[1])
        assert all(i.start.hour == 0 and i.id.endswith(i.start.strftime("_%Y%m%d")) for i in instances)
    assert all(world.start <= e.created <= world.as_of for e in world.events)


def test_world_series_keep_their_wall_time_and_start_on_their_rule(world):
    series = [e for e in world.events if e.recurrence and not e.all_day]
    assert series
    for event in series:
        assert event.instances()[0].start == event.start  # DTSTART is an occurrence
        hours = {
            (i.start.astimezone(ZoneInfo(event.timezone)).hour, i.start.astimezone(ZoneInfo(event.timezone)).minute)
            for i in event.instances()
        }
        assert len(hours) == 1, event.summary


def test_mbox_parses_with_the_right_count_and_takeout_headers(world, tmp_path):
    path = tmp_path / "google.mbox"
    written = write_mbox(world, path, account="google")
    google = world.messages_for("google")
    box = mailbox.mbox(path)
    parsed = list(box)
    assert written == len(google) == len(parsed)
    by_id = {m.message_id: m for m in google}
    for message in parsed:
        original = by_id[message["Message-ID"].strip("<>")]
        assert int(message["X-GM-THRID"]) == int(original.thread_id, 16)
        assert message["X-Gmail-Labels"]
        assert email.utils.parsedate_to_datetime(message["Date"]) == original.date
        assert BODY_MARKER in message.get_payload(decode=True).decode()
        if original.in_reply_to:
            assert message["In-Reply-To"] == f"<{original.in_reply_to}>"
    labels = Counter(l for m in parsed for l in m["X-Gmail-Labels"].split(","))
    assert labels["Sent"] and labels["Inbox"] and labels["Category Promotions"]
    huge = max(parsed, key=lambda m: len(m.get_all("To", [])))
    assert huge is not None


def test_microsoft_mbox_resolves_dns_to_smtp(world, tmp_path):
    path = tmp_path / "work.mbox"
    assert write_mbox(world, path, account="microsoft") == len(world.messages_for("microsoft"))
    parsed = list(mailbox.mbox(path))
    addresses = [a for m in parsed for _, a in email.utils.getaddresses(m.get_all("To", []) + m.get_all("From", []))]
    assert len(parsed) == len(world.messages_for("microsoft"))
    assert all("@" in a for a in addresses)
    assert max(len(email.utils.getaddresses(m.get_all("To", []))) for m in parsed) >= 300


def test_ics_parses_with_series_exceptions_and_timezones(world, tmp_path):
    for account in ("google", "microsoft"):
        path = tmp_path / f"{account}.ics"
        written = write_ics(world, path, account=account)
        cal = icalendar.Calendar.from_ical(path.read_bytes())
        vevents = cal.walk("VEVENT")
        assert written == len(vevents) == len(world.events_for(account))
        assert "Europe/Madrid" in {str(tz["TZID"]) for tz in cal.walk("VTIMEZONE")}
        assert any("RRULE" in v for v in vevents)
        assert any("EXDATE" in v for v in vevents)
        assert any("RECURRENCE-ID" in v for v in vevents)
        uids = {str(v["UID"]) for v in vevents if "RRULE" in v}
        assert all(str(v["UID"]) in uids for v in vevents if "RECURRENCE-ID" in v)


def test_ics_series_expand_to_the_same_occurrences(world, tmp_path):
    # Given the .ics of the work calendar, read back by another implementation
    path = tmp_path / "work.ics"
    write_ics(world, path, account="microsoft")
    masters = {e.ical_uid: e for e in world.events_for("microsoft") if e.recurrence}
    checked = 0
    for vevent in icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT"):
        if "RRULE" not in vevent:
            continue
        start = vevent.decoded("DTSTART")
        gone = vevent.get("EXDATE")
        gone = gone if isinstance(gone, list) else [gone] if gone else []
        skip = {d.dt for g in gone for d in g.dts}
        rule = rrulestr(vevent["RRULE"].to_ical().decode(), dtstart=start)
        occurrences = [d for d in rule if d not in skip]
        # Then dateutil over the file agrees with instances() (moved ones count apart)
        master = masters[str(vevent["UID"])]
        assert [o.astimezone(UTC) for o in occurrences if o not in master.overridden] == [
            i.start.astimezone(UTC) for i in master.instances()
        ]
        checked += 1
    assert checked == len(masters) > 5


def test_scale_multiplies_volume():
    small = generate_world(5, days=180, contacts=30)
    big = generate_world(5, days=180, contacts=30, scale=3.0)
    assert 2.4 < len(big.messages) / len(small.messages) < 3.6


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), days=st.integers(60, 500), contacts=st.integers(5, 40))
# found by the search: a colleague's reply-all to the last announcement landed after as_of
@example(seed=1622, days=256, contacts=39)
def test_any_world_holds_together(seed, days, contacts):
    w = generate_world(seed, days=days, contacts=contacts)
    assert sum(t.is_relationship for t in w.truth.values()) == contacts
    ids = {m.message_id: m for m in w.messages_for("google")}
    assert all(ids[m.in_reply_to].thread_id == m.thread_id for m in ids.values() if m.in_reply_to)
    assert all(w.start <= m.date < w.as_of for m in w.messages)
    assert len({m.gmail_id for m in w.messages}) == len(w.messages)
    for t in w.truth.values():
        assert len(t.monthly_strength) >= days // 31
