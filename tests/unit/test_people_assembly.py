"""The assembly of the analytics input without a database: rows and a Directory in,
exchanges, people and exclusions out (service/people/assembly.py)."""

from __future__ import annotations

import ast
from pathlib import Path

from analytics.records import USER
from ingest import noise
from service.people.assembly import assemble
from service.people.records import Directory, InteractionRow

ME = "me@home.example"
ANA, BOB, CARL = 1, 2, 3
T = 1_772_440_000.0  # seconds since the epoch; only the order matters here


def mail(at, frm, to=(), *, sent=False, mid=None, headers=None, irt=None):
    return InteractionRow(
        kind="email",
        at=T + at * 3600,
        message_id=mid or f"m{at}@x",
        reply_to=irt,
        thread_id=None,
        duration_s=None,
        status=None,
        labels=None,
        is_sent=sent,
        is_draft=False,
        headers=headers,
        first=frm,
        rcpt="\x1f".join(to) or None,
        attendees=None,
        n_participants=1 + len(to),
    )


def meeting(at, organizer, attendees):
    joined = "\x1f".join(f"{a}\x1e{r}" for a, r in attendees)
    return InteractionRow(
        kind="meeting",
        at=T + at * 3600,
        message_id=f"ev{at}",
        reply_to=None,
        thread_id=None,
        duration_s=1800,
        status="confirmed",
        labels=None,
        is_sent=None,
        is_draft=None,
        headers=None,
        first=organizer,
        rcpt=None,
        attendees=joined,
        n_participants=1 + len(attendees),
    )


def directory(**overrides):
    base = dict(
        own={ME},
        person_of={"ana@example.org": ANA, "bob@example.org": BOB, "carl@work.example": CARL},
        addresses={ANA: ["ana@example.org"], BOB: ["bob@example.org"], CARL: ["carl@work.example"]},
        names={ANA: "Ana Ruiz", BOB: None, CARL: "Carl"},
        used={"ana@example.org": 3, "bob@example.org": 1, "carl@work.example": 2},
    )
    base.update(overrides)
    return Directory(**base)


def reasons(result):
    return {(r["address"], r["reason"]) for r in result.exclusions}


def test_a_conversation_becomes_exchanges_between_the_person_and_the_user():
    # Given Ana writes to the user and the user answers
    rows = [mail(0, "ana@example.org", [ME]), mail(1, ME, ["ana@example.org"], sent=True, irt="m0@x")]
    # When assembled
    result = assemble(rows, directory())
    # Then both mails are exchanges between Ana (person 1) and the user (0), in order
    assert [(x.sender, x.recipients) for x in result.exchanges] == [(ANA, (USER,)), (USER, (ANA,))]
    assert result.exchanges[1].reply_to == "m0@x"
    # And Ana is described by what is stored about her
    assert result.info == {
        ANA: {"name": "Ana Ruiz", "addresses": ["ana@example.org"], "primary": "ana@example.org", "colleague": False}
    }
    assert result.exclusions == [] and result.unknown == frozenset()


def test_the_same_mail_in_two_mailboxes_counts_once():
    # Given one message seen in two of the user's mailboxes
    rows = [
        mail(0, "ana@example.org", [ME], mid="same@x"),
        mail(0, "ana@example.org", [ME], mid="same@x"),
        mail(1, ME, ["ana@example.org"], sent=True),
    ]
    # When assembled, Then it is one exchange
    assert len(assemble(rows, directory()).exchanges) == 2


def test_mailing_list_mail_is_left_out_with_its_reason():
    # Given a list mail from Bob with a List-Id header (stored lower-case), and a real conversation with Ana
    rows = [
        mail(0, "bob@example.org", [ME], headers={"list-id": "<team.lists.example>"}),
        mail(1, "ana@example.org", [ME]),
        mail(2, ME, ["ana@example.org"], sent=True),
    ]
    # When assembled
    result = assemble(rows, directory())
    # Then Bob is no tie, and the reason says why
    assert {x.sender for x in result.exchanges} == {ANA, USER}
    assert ("bob@example.org", noise.LIST_ID) in reasons(result)
    assert BOB not in result.info


def test_someone_who_only_writes_and_never_gets_an_answer_is_no_tie():
    # Given Bob writes twice and the user never answers him, while the user answers Ana
    rows = [
        mail(0, "bob@example.org", [ME]),
        mail(1, "bob@example.org", [ME]),
        mail(2, "ana@example.org", [ME]),
        mail(3, ME, ["ana@example.org"], sent=True),
    ]
    # When assembled
    result = assemble(rows, directory())
    # Then Bob's mail is left out as one-way, counted per mail
    assert BOB not in result.info and ANA in result.info
    assert {r["count"] for r in result.exclusions if r["reason"] == noise.ONE_WAY} == {2}


def test_a_block_rule_leaves_the_domain_out_and_an_allow_rule_keeps_a_one_way_sender():
    # Given the user blocks example.org but allows Bob by address
    rules = [("domain", "example.org", "block"), ("address", "bob@example.org", "allow")]
    rows = [
        mail(0, "ana@example.org", [ME]),
        mail(1, ME, ["ana@example.org"], sent=True),
        mail(2, "bob@example.org", [ME]),
    ]
    # When assembled
    result = assemble(rows, directory(rules=rules))
    # Then Ana is blocked by the rule, Bob is kept although he only wrote
    assert ANA not in result.info and BOB in result.info
    assert ("ana@example.org", noise.BLOCKED.format(kind="domain", value="example.org")) in reasons(result)


def test_colleagues_are_left_out_on_request_and_marked_otherwise():
    # Given Carl shares the organisation's domain, and the user talks with Carl and Ana
    rows = [
        mail(0, "carl@work.example", [ME]),
        mail(1, ME, ["carl@work.example"], sent=True),
        mail(2, "ana@example.org", [ME]),
        mail(3, ME, ["ana@example.org"], sent=True),
    ]
    org = directory(org_domains=["work.example"])
    # When assembled with and without colleagues
    everyone = assemble(rows, org)
    outside = assemble(rows, org, include_colleagues=False)
    # Then Carl is a colleague in the first, absent from the second
    assert everyone.info[CARL]["colleague"] is True and everyone.info[ANA]["colleague"] is False
    assert set(outside.info) == {ANA}
    assert all(CARL not in (x.sender, *x.recipients) for x in outside.exchanges)


def test_an_address_without_a_person_is_left_out_and_named_never_created():
    # Given mail from an address no refresh has given a person yet
    rows = [mail(0, "dora@new.example", [ME]), mail(1, ME, ["dora@new.example", "ana@example.org"], sent=True)]
    # When assembled
    result = assemble(rows, directory())
    # Then the address is listed as unknown and nobody is made up for it
    assert result.unknown == frozenset({"dora@new.example"})
    assert [(x.sender, x.recipients) for x in result.exchanges] == [(USER, (ANA,))]
    assert set(result.info) == {ANA}


def test_a_meeting_goes_from_the_organiser_to_attendees_who_did_not_decline():
    # Given Ana organises a meeting with the user and Bob, who declines
    rows = [
        meeting(
            0, "ana@example.org", [("ana@example.org", "accepted"), (ME, "accepted"), ("bob@example.org", "declined")]
        )
    ]
    # When assembled
    (x,) = assemble(rows, directory()).exchanges
    # Then it is a meeting from Ana to the user alone, half an hour long
    assert (x.kind, x.sender, x.recipients, x.duration_s) == ("meeting", ANA, (USER,), 1800.0)


def test_a_meeting_the_user_declined_is_left_out():
    # Given a meeting the user declined
    rows = [meeting(0, "ana@example.org", [("ana@example.org", "accepted"), (ME, "declined")])]
    # When assembled, Then nothing is kept and the reason names the user's answer
    result = assemble(rows, directory())
    assert result.exchanges == [] and ("ana@example.org", noise.DECLINED) in reasons(result)


def test_the_user_s_sub_addresses_are_the_user():
    # Given mail to the user's tagged address me+news@home.example
    rows = [mail(0, "ana@example.org", ["me+news@home.example"]), mail(1, ME, ["ana@example.org"], sent=True)]
    # When assembled, Then the tagged address is the user, not a person
    result = assemble(rows, directory())
    assert result.exchanges[0].recipients == (USER,) and result.unknown == frozenset()


def test_the_assembly_reads_no_database():
    # Given the pure modules' source, Then they import neither psycopg nor a SQL module
    here = Path(__file__).resolve().parents[2] / "service" / "people"
    for name in ("assembly.py", "records.py"):
        tree = ast.parse((here / name).read_text())
        imported = {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not any(
            m.startswith("psycopg") or m in ("db", "own", "persons", "rules", "refresh", "suggestions", "exchanges")
            for m in imported
        ), name


def test_the_to_line_is_kept_so_awaiting_reply_can_tell_to_from_cc():
    # Given Ana writing to the user with Bob on Cc, Bob writing to Ana with the user on Cc,
    # and a row from before the To line was read (no `to` column)
    rows = [
        mail(1, "ana@example.org", ["me@home.example", "bob@example.org"])._replace(to="me@home.example"),
        mail(2, "bob@example.org", ["ana@example.org", "me@home.example"])._replace(to="ana@example.org"),
        mail(3, "me@home.example", ["ana@example.org", "bob@example.org"], sent=True)._replace(to="ana@example.org"),
        mail(4, "ana@example.org", ["me@home.example"]),
    ]
    # When they are assembled
    out = assemble(rows, directory()).exchanges
    # Then each exchange names who was off the To line, and an unknown line leaves it empty
    assert [x.cc for x in out] == [(BOB,), (USER,), (BOB,), ()]
