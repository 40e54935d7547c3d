"""A message to 100,000 addresses (issue 13, item 5): counted, not stored, and cheap to read.

The attack is replayed through each mail parser and, for mbox, through the importer into
PostgreSQL and a scoring run: the record keeps the true count and the user's own role,
stores at most a handful of participant rows, and makes no people of the strangers.
"""

from __future__ import annotations

import time
import tracemalloc
from datetime import datetime, timezone

from hypothesis import given, settings, strategies as st

from ingest.audience import AUDIENCE_CAP, bound_audience
from ingest.google.gmail import parse_message as gmail_message
from ingest.mbox import RawMessage, message_item
from ingest.microsoft.mail import parse_message as graph_message
from ingest.records import Interaction, Participant
from service import people, store
from service.imports import import_file

ME = "me@home.example"
CROWD = 100_000  # distinct addresses on the attack message, the sender and the user included
LATEST = datetime(2030, 1, 1, tzinfo=timezone.utc)


def crowd(n: int) -> list[str]:
    return [f"p{k}@crowd.example" for k in range(n)]


# ------------------------------------------------------------------ the one function

addresses = st.sampled_from([f"a{i}@x.example" for i in range(80)] + [ME, "Me@Home.Example", "me+tag@home.example"])
lines = st.lists(st.tuples(addresses, st.sampled_from(["from", "to", "cc", "bcc"])), max_size=200)


@settings(max_examples=200, deadline=None)
@given(lines, st.integers(min_value=1, max_value=60))
def test_the_audience_is_kept_whole_under_the_cap_and_counted_over_it(pairs, cap):
    # Given any participant lines and any cap
    given_lines = [Participant(a.lower(), role) for a, role in pairs]
    distinct = {p.address for p in given_lines}
    # When bounded
    kept = bound_audience(iter(given_lines), own=[ME], cap=cap)
    unique = list(dict.fromkeys((p.address, p.role) for p in given_lines))
    if len(distinct) <= cap:
        # Then at or under the cap every line is kept once, in order, and nothing is counted apart
        assert [(p.address, p.role) for p in kept.participants] == unique and kept.count is None
    else:
        # Then over it the true count travels, and only authors and the user's lines are kept
        assert kept.count == len(distinct)
        own_lines = [k for k in unique if k[0] in (ME, "me+tag@home.example")]
        assert [k for k in ((p.address, p.role) for p in kept.participants) if k[1] != "from"] == [
            k for k in own_lines if k[1] != "from"
        ]
        assert all(p.role == "from" or p.address in (ME, "me+tag@home.example") for p in kept.participants)


def test_the_cap_is_the_noise_filters_broadcast_line():
    # Given the noise filter's cap on recipients (a mail to more is left out as a broadcast)
    from ingest import noise

    # Then a message is cut only when it has more addresses than an author and that many recipients
    assert AUDIENCE_CAP == noise.RECIPIENT_CAP + 1
    one_over = [Participant("boss@x.example", "from")] + [Participant(a, "to") for a in crowd(noise.RECIPIENT_CAP)]
    assert bound_audience(one_over).count is None
    assert bound_audience(one_over + [Participant("one.more@x.example", "to")]).count == AUDIENCE_CAP + 1


# ------------------------------------------------------------------ each parser


def _attack_header(own_at: int = CROWD // 2) -> bytes:
    others = crowd(CROWD - 2)  # + the sender + the user = CROWD
    others.insert(own_at, ME)
    to = ", ".join(f"Person {i} <{a}>" for i, a in enumerate(others))
    return (
        f"Message-ID: <big@x>\nDate: Mon, 05 Jan 2026 10:00:00 +0000\nFrom: Boss <boss@crowd.example>\n"
        f"To: {to}\nBcc: {ME}\nSubject: everyone\n\n"
    ).encode()


def _assert_attack_record(item, roles=("to", "bcc")):
    assert isinstance(item, Interaction)
    assert item.audience == CROWD
    assert [(p.address, p.role) for p in item.participants] == [("boss@crowd.example", "from")] + [
        (ME, role) for role in roles
    ]


def test_mbox_parser_counts_the_crowd_in_bounded_memory():
    # Given the attack's header block (3.7 MB, the user in the middle of To and on Bcc)
    header = _attack_header()
    raw = RawMessage(0, len(header), header)
    # When parsed with memory traced
    tracemalloc.start()
    try:
        item = message_item(raw, "mbox", LATEST, own=[ME])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # Then the record is the count, the sender and the user's two lines
    _assert_attack_record(item)
    # And the peak stays a few copies of the header (materialising every address took ~35 MB)
    assert peak < 5 * len(header), f"peak {peak / 1e6:.1f} MB for a {len(header) / 1e6:.1f} MB header"


def test_gmail_parser_counts_the_crowd_and_finds_the_user_past_the_stdlib_limit():
    # Given the attack as Gmail's metadata JSON (one 3.7 MB To header, the user near its end)
    others = crowd(CROWD - 2) + [ME]
    message = {
        "id": "g1",
        "threadId": "t1",
        "labelIds": ["INBOX"],
        "payload": {
            "headers": [
                {"name": "From", "value": "Boss <boss@crowd.example>"},
                {"name": "To", "value": ", ".join(others)},
                {"name": "Date", "value": "Mon, 05 Jan 2026 10:00:00 +0000"},
            ]
        },
    }
    # When parsed
    started = time.perf_counter()
    item = gmail_message(message, own=[ME])
    elapsed = time.perf_counter() - started
    # Then the whole crowd is counted and only the sender and the user's line are kept, quickly
    _assert_attack_record(item, roles=("to",))
    assert elapsed < 10, elapsed  # the stdlib parser on the whole value takes minutes


def test_graph_parser_counts_the_crowd_and_keeps_the_users_lines():
    # Given the attack as a Graph delta entry, the user on To and Cc
    def who(address):
        return {"emailAddress": {"address": address, "name": address.split("@")[0]}}

    message = {
        "id": "AAMk1",
        "sentDateTime": "2026-01-05T10:00:00Z",
        "isDraft": False,
        "from": who("Boss@Crowd.example"),
        "toRecipients": [who(a) for a in crowd(CROWD - 2)] + [who(ME)],
        "ccRecipients": [who(ME.upper())],
        "bccRecipients": [],
    }
    # When parsed for the mailbox's owner
    item = graph_message(message, "mail:inbox", own=[ME])
    # Then
    _assert_attack_record(item, roles=("to", "cc"))


# ------------------------------------------------------------------ through the importer


def test_the_attack_imported_into_postgres_leaves_a_count_not_a_crowd(database, tmp_path):
    # Given a user and an mbox of two ordinary messages and the one to 100,000 addresses
    with database.tx() as conn:
        user_id = store.create_user(conn, ME)
    path = tmp_path / "attack.mbox"
    with open(path, "wb") as f:
        for n, (frm, to) in enumerate(((ME, "ana@pals.example"), ("ana@pals.example", ME))):
            f.write(
                f"From {n}@xxx Mon Jan 05 09:0{n}:00 +0000 2026\nX-Gmail-Labels: {'Sent' if frm == ME else 'Inbox'}\n"
                f"Message-ID: <m{n}@x>\nDate: Mon, 05 Jan 2026 09:0{n}:00 +0000\nFrom: {frm}\nTo: {to}\n\nhi\n\n".encode()
            )
        f.write(b"From 9@xxx Mon Jan 05 10:00:00 +0000 2026\n" + _attack_header() + b"body\n")
    # When imported (as `kith import mbox`) and people refreshed as scoring does
    started = time.perf_counter()
    import_file(database, user_id, "mbox", path)
    elapsed = time.perf_counter() - started
    with database.tx() as conn:
        people.refresh_people(conn, user_id)
        n_participants, rows = conn.execute(
            "SELECT i.n_participants, count(p.*) FROM interactions i JOIN participants p ON p.interaction_id = i.id"
            " WHERE i.message_id = 'big@x' GROUP BY i.id"
        ).fetchone()
        roles = {
            r
            for (r,) in conn.execute(
                "SELECT p.role FROM participants p JOIN interactions i ON i.id = p.interaction_id"
                " WHERE i.message_id = 'big@x' AND p.address = %s",
                (ME,),
            )
        }
        n_people = conn.execute("SELECT count(*) FROM people WHERE user_id = %s", (user_id,)).fetchone()[0]
        left_out = people.exclusions(conn, user_id)
        ties, _info = people.load_exchanges(conn, user_id)
    # Then the interaction keeps its true size and the user's roles, in a handful of rows
    assert n_participants == CROWD
    assert roles == {"to", "bcc"}
    assert rows <= AUDIENCE_CAP
    # And no person was made of the crowd (ana and the sender only), and the broadcast is left out
    assert n_people <= 2
    assert [(r["address"], r["reason"]) for r in left_out] == [
        ("boss@crowd.example", f"message to more than {AUDIENCE_CAP - 1} recipients")
    ]
    assert len(ties) == 2
    # And the import took seconds, not the half minute storing every address took (loose: shared CPUs)
    assert elapsed < 20, elapsed
