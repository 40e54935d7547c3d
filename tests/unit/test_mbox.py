"""The mbox importer: splitting, header parsing, quarantine, cursors, and what is never kept."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from email.utils import formataddr

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.addresses import decode_words, parse_address_list
from ingest.audience import AUDIENCE_CAP
from ingest.errors import CursorExpired, InputError
from ingest.mbox import MboxConnector, RawMessage, message_item, parse_headers
from ingest.records import Interaction, Quarantined

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
LATEST = datetime(2026, 11, 27, 12, 0, tzinfo=timezone.utc)
BODY_MARKER = "PURPLE-ELEPHANT-BODY-TEXT"


def message(headers: str, body: str = f"Hello,\n{BODY_MARKER}\n", *, sep: str | None = None, n: int = 1) -> bytes:
    """One mbox message: Takeout's From_ line, the headers, a blank line, the body."""
    sep = sep or f"From 1683{n:015d}@xxx Wed Nov 25 10:00:00 +0000 2026"
    return f"{sep}\n{headers.strip()}\n\n{body}\n".encode()


def simple(n: int, **extra: str) -> bytes:
    headers = {
        "From": f"Person {n} <p{n}@example.org>",
        "To": "me@example.com",
        "Date": f"Mon, 02 Nov 2026 10:{n % 60:02d}:00 +0000",
        "Message-ID": f"<m{n}@example.org>",
        **extra,
    }
    return message("\n".join(f"{k}: {v}" for k, v in headers.items()), n=n)


def run(path, **kwargs) -> list:
    connector = MboxConnector(path, now=NOW, **kwargs)
    return [item for page in connector.pages("mbox", None) for item in page.items]


def emails(items) -> list[Interaction]:
    return [i for i in items if isinstance(i, Interaction)]


def quarantined(items) -> list[Quarantined]:
    return [i for i in items if isinstance(i, Quarantined)]


def test_takeout_message_becomes_an_email_with_labels_thread_and_decoded_names(tmp_path):
    # Given a Takeout message with labels, a thread id, a folded To and encoded names
    path = tmp_path / "takeout.mbox"
    path.write_bytes(
        message("""
X-GM-THRID: 1683000000000000001
X-Gmail-Labels: Inbox,Sent,Important,Category Promotions
From: =?utf-8?q?Ana_Ru=C3=ADz?= <Ana@Example.ORG>
To: "Ruiz, Bob" <bob@x.org>,
 carl@y.org (Carl),
\t=?iso-8859-1?b?Suly9G1l?= <jerome@z.org>
Cc: undisclosed-recipients:;
Bcc: dee@w.org.
Subject: lunch
Date: Wed, 25 Nov 2026 10:00:00 +0100
Message-ID: <m1@example.org>
References: <m0@example.org>
In-Reply-To: <m0@example.org>
List-Unsubscribe: <mailto:unsub@x.org>
Received: from somewhere by mx.google.com
""")
    )
    # When it is imported
    connector = MboxConnector(path, now=NOW)
    pages = list(connector.pages("mbox", None))
    # Then one interaction carries everything the header block says
    (item,) = pages[-1].items
    assert item.kind == "email" and item.provider_id == item.message_id == "m1@example.org"
    assert item.occurred_at == datetime(2026, 11, 25, 9, 0, tzinfo=timezone.utc)
    assert [(p.role, p.address, p.name) for p in item.participants] == [
        ("from", "ana@example.org", "Ana Ruíz"),
        ("to", "bob@x.org", "Ruiz, Bob"),
        ("to", "carl@y.org", "Carl"),
        ("to", "jerome@z.org", "Jérôme"),
        ("bcc", "dee@w.org", None),
    ]
    assert item.labels == ("Inbox", "Sent", "Important", "Category Promotions")
    assert item.is_sent is True and item.is_draft is False
    assert item.thread_id == format(1683000000000000001, "x")
    assert item.in_reply_to == "m0@example.org" and item.references == ("m0@example.org",)
    assert item.headers == (("list-unsubscribe", "<mailto:unsub@x.org>"),)
    # And the user's address is learned from Sent, the page is complete with progress
    assert pages[-1].own_addresses == ("ana@example.org",) == tuple(connector.own_addresses())
    size = path.stat().st_size
    assert pages[-1].complete and pages[-1].progress == (size, size)
    assert pages[-1].cursor.startswith(f"tail:{size}:") and pages[-1].full_sync


def test_thread_falls_back_to_references_root_then_own_id_and_is_sent_unknown_without_labels(tmp_path):
    # Given a plain mbox (no Gmail headers): a reply with References and a message without ids
    path = tmp_path / "plain.mbox"
    path.write_bytes(
        simple(1, References="<root@x> <mid@x>")
        + message("From: a@x.org\nTo: b@x.org\nDate: Mon, 02 Nov 2026 10:00:00 GMT", n=2)
    )
    # When imported
    first, second = run(path)
    # Then the thread is the References root, and a content hash stands in for a Message-ID
    assert first.thread_id == "root@x" and first.is_sent is None
    assert second.message_id is None and second.provider_id.startswith("sha1:")
    assert second.thread_id == second.provider_id
    # And the hash is stable across imports
    assert run(path)[1].provider_id == second.provider_id


def test_empty_and_blank_files_give_one_complete_empty_page(tmp_path):
    for content in (b"", b"\n\n  \r\n"):
        # Given an empty (or blank) file
        path = tmp_path / "empty.mbox"
        path.write_bytes(content)
        # When imported
        pages = list(MboxConnector(path, now=NOW).pages("mbox", None))
        # Then there is a single complete page with nothing in it
        assert len(pages) == 1 and pages[0].items == () and pages[0].complete


def test_a_file_that_is_not_an_mbox_is_an_input_error(tmp_path):
    # Given a text file and an .eml (which starts with "From:" not "From ")
    for name, content in (("x.txt", b"hello\nworld\n"), ("one.eml", b"From: a@b.org\n\nhi\n")):
        path = tmp_path / name
        path.write_bytes(content)
        # When imported, Then a clear InputError names the file
        with pytest.raises(InputError) as error:
            list(MboxConnector(path).pages("mbox", None))
        assert str(error.value) == f"{name} is not an mbox file: it does not start with a 'From ' line"


def test_truncated_last_message_is_quarantined_and_earlier_ones_kept(tmp_path):
    # Given two messages and a third cut off in the middle of its headers
    path = tmp_path / "cut.mbox"
    cut = simple(3)[:120]
    path.write_bytes(simple(1) + simple(2) + cut)
    # When imported
    items = run(path)
    # Then the first two are kept and the third is quarantined at its byte offset
    assert [i.message_id for i in emails(items)] == ["m1@example.org", "m2@example.org"]
    (q,) = quarantined(items)
    assert q.reason == "truncated message at end of file"
    assert q.ref == str(len(simple(1) + simple(2)))
    assert q.excerpt.startswith("From: Person 3 <p3@example.org>")


def test_two_thousand_recipients_are_counted_not_kept_and_parsing_stays_fast(tmp_path):
    # Given a message addressed to 2,000 people and the user
    to = ",\n ".join(f'"Person {i}" <p{i}@corp.example>' for i in range(2000))
    path = tmp_path / "big.mbox"
    path.write_bytes(simple(1, To=to))
    # When imported by a connector that knows the user's address
    started = time.perf_counter()
    (item,) = run(path, own=["me@example.com"])
    elapsed = time.perf_counter() - started
    # Then the audience is counted (sender + 2,000), the sender kept, the strangers not stored,
    # and it took well under a second
    assert item.audience == 2001
    assert [p.role for p in item.participants] == ["from"]
    assert elapsed < 1.0


def test_same_message_id_is_one_message_with_merged_labels(tmp_path):
    # Given one Message-ID written three times (Inbox, then Sent, then an identical Inbox copy),
    # with the Sent copy falling on a later page
    path = tmp_path / "dup.mbox"
    path.write_bytes(
        simple(1, **{"X-Gmail-Labels": "Inbox"})
        + simple(2)
        + simple(1, **{"X-Gmail-Labels": "Sent"})
        + simple(1, **{"X-Gmail-Labels": "Inbox"})
    )
    # When imported two messages per page
    connector = MboxConnector(path, now=NOW, page_size=2)
    pages = list(connector.pages("mbox", None))
    # Then the first page has the Inbox copy; the second emits its own two copies as one record
    # (the connector remembers no Message-IDs across pages: the store merges that record into
    # the first page's row, see test_mbox_resume)
    assert [i.labels for i in pages[0].items if i.message_id == "m1@example.org"] == [("Inbox",)]
    later = [i for p in pages[1:] for i in p.items]
    assert [(i.message_id, i.labels, i.is_sent) for i in later] == [("m1@example.org", ("Sent", "Inbox"), True)]
    # And in a single page the copies collapse into one record
    single = run(path, page_size=100)
    assert [(i.message_id, i.labels) for i in single] == [("m1@example.org", ("Inbox", "Sent")), ("m2@example.org", ())]


@pytest.mark.parametrize(
    "date, reason",
    [
        (None, "missing Date header"),
        ("yesterday-ish", "unreadable Date header: 'yesterday-ish'"),
        ("Mon, 31 Feb 2026 10:00:00 +0000", "unreadable Date header: 'Mon, 31 Feb 2026 10:00:00 +0000'"),
        ("Mon, 31 Dec 1979 23:00:00 +0000", "date out of range (1979-12-31)"),
        ("Thu, 01 Jan 2099 00:00:00 +0000", "date out of range (2099-01-01)"),
    ],
)
def test_bad_dates_are_quarantined_with_a_reason_and_header_excerpt(tmp_path, date, reason):
    # Given a message whose Date is missing, garbled, too old or in the far future
    headers = "From: Ana <ana@x.org>\nTo: bob@y.org\nSubject: plans\nX-Other: not shown"
    if date:
        headers += f"\nDate: {date}"
    path = tmp_path / "d.mbox"
    path.write_bytes(simple(1) + message(headers, n=2))
    # When imported
    items = run(path)
    # Then the good message is kept and the bad one is quarantined at its offset
    (q,) = quarantined(items)
    assert q.reason == reason and q.ref == str(len(simple(1)))
    expected = "From: Ana <ana@x.org>\nTo: bob@y.org\nSubject: plans"
    assert q.excerpt == expected + (f"\nDate: {date}" if date else "")
    assert BODY_MARKER not in q.excerpt and len(emails(items)) == 1


def test_timezones_are_converted_to_utc():
    # Given dates with offsets, a named zone and no zone at all
    cases = {
        "Tue, 03 Mar 2026 23:30:00 -0800": datetime(2026, 3, 4, 7, 30, tzinfo=timezone.utc),
        "3 Mar 2026 10:00:00 EST": datetime(2026, 3, 3, 15, 0, tzinfo=timezone.utc),
        "Tue, 3 Mar 2026 10:00:00": datetime(2026, 3, 3, 10, 0, tzinfo=timezone.utc),
    }
    for value, expected in cases.items():
        raw = RawMessage(0, 0, f"From: a@x.org\nDate: {value}\n".encode())
        # When parsed, Then the instant is in UTC
        assert message_item(raw, "mbox", LATEST).occurred_at == expected


def test_unreadable_or_missing_from_is_quarantined_and_sender_stands_in():
    # Given messages whose From is garbage, missing, or missing with a Sender
    def item(headers: str):
        return message_item(RawMessage(7, 9, headers.encode()), "mbox", LATEST)

    date = "Date: Mon, 02 Nov 2026 10:00:00 +0000\n"
    # Then garbage and absence are quarantined with a reason, and Sender is used when present
    assert item(date + "From: not an address\n").reason == "unreadable From header: 'not an address'"
    assert item(date + "To: a@x.org\n").reason == "missing From header"
    sent = item(date + "Sender: Desk <desk@x.org>\nTo: bad@, ok@y.org, @@\n")
    assert [(p.role, p.address) for p in sent.participants] == [("from", "desk@x.org"), ("to", "ok@y.org")]
    # And a recipient written twice in one role counts once, in the order first written
    twice = item(date + "From: a@x.org\nTo: b@x.org, c@x.org, B <B@x.org>\nCc: b@x.org\n")
    assert [(p.role, p.address, p.name) for p in twice.participants] == [
        ("from", "a@x.org", None),
        ("to", "b@x.org", None),
        ("to", "c@x.org", None),
        ("cc", "b@x.org", None),
    ]


def test_undecodable_bytes_in_headers_do_not_stop_the_import(tmp_path):
    # Given raw Latin-1 and invalid UTF-8 bytes in names, and a CRLF message
    path = tmp_path / "bytes.mbox"
    path.write_bytes(
        b"From x@y Wed Nov 25 10:00:00 2026\nFrom: Jos\xe9 Ru\xedz <jose@x.org>\n"
        b"To: \xff\xfe\x80 <bob@x.org>\nDate: Mon, 02 Nov 2026 10:00:00 +0000\n\nbody\n\n"
        b"From x@y Wed Nov 25 10:00:00 2026\r\nFrom: ana@x.org\r\nTo: =?bogus-charset?q?Bo=FFb?= <b@x.org>\r\n"
        b"Date: Mon, 02 Nov 2026 11:00:00 +0000\r\n\r\nbody\r\n"
    )
    # When imported
    first, second = run(path)
    # Then names keep their characters and nothing raised
    assert first.participants[0].name == "José Ruíz"
    assert first.participants[1].address == "bob@x.org"
    assert [p.address for p in second.participants] == ["ana@x.org", "b@x.org"]


def test_from_lines_inside_bodies_do_not_split_messages(tmp_path):
    # Given bodies with quoted (mboxrd) and unquoted "From " lines that are not separators
    body = "Hi\n>From the archive\n\nFrom here on, we talk.\nFrom x Wed Nov 25 10:00:00 2026 (no blank line before)\n"
    path = tmp_path / "rd.mbox"
    path.write_bytes(
        message(
            "From: a@x.org\nDate: Mon, 02 Nov 2026 10:00:00 +0000\nMessage-ID: <1@x>",
            body,
            sep="From a@x.org Mon Nov  2 10:00:00 2026",
        )
        + message(
            "From: b@x.org\nDate: Mon, 02 Nov 2026 11:00:00 +0000\nMessage-ID: <2@x>",
            sep="From b@x.org Mon Nov  2 11:00:00 2026",
        )
    )
    # When imported, Then exactly the two real messages come out
    assert [i.message_id for i in run(path)] == ["1@x", "2@x"]


def test_takeout_separators_split_even_without_a_blank_line_before(tmp_path):
    # Given Takeout messages glued together: a body not ending in a blank line, and a
    # message with no body and no blank line at all
    path = tmp_path / "glued.mbox"
    date = "Date: Mon, 02 Nov 2026 10:00:00 +0000"
    path.write_bytes(
        f"From 1683000000000000001@xxx Mon Nov 02 10:00:00 +0000 2026\nFrom: a@x.org\n{date}\n"
        f"Message-ID: <1@x>\n\nbody\n"
        f"From 1683000000000000002@xxx Mon Nov 02 10:00:00 +0000 2026\nFrom: b@x.org\n{date}\n"
        f"Message-ID: <2@x>\n"
        f"From 1683000000000000003@xxx Mon Nov 02 10:00:00 +0000 2026\nFrom: c@x.org\n{date}\n"
        f"Message-ID: <3@x>\n\n".encode()
    )
    # When imported, Then all three are separate messages
    assert [(i.message_id, i.participants[0].address) for i in run(path)] == [
        ("1@x", "a@x.org"),
        ("2@x", "b@x.org"),
        ("3@x", "c@x.org"),
    ]


def test_resume_from_a_page_cursor_gives_the_single_pass_without_duplicates(tmp_path):
    # Given 10 messages, one of them quarantined
    path = tmp_path / "resume.mbox"
    path.write_bytes(b"".join(simple(n) for n in range(1, 10)) + message("From: a@x.org", n=10))
    single = run(path, page_size=100)
    # When an import stops after its first page and a new connector resumes from that cursor
    first_page = next(iter(MboxConnector(path, now=NOW, page_size=4).pages("mbox", None)))
    assert not first_page.complete and first_page.progress[0] == int(first_page.cursor)
    rest = list(MboxConnector(path, now=NOW, page_size=4).pages("mbox", first_page.cursor))
    resumed = list(first_page.items) + [i for p in rest for i in p.items]
    # Then the union is the single pass, in order, nothing twice
    assert resumed == single and len(single) == 10
    assert rest[-1].complete and [p.complete for p in rest[:-1]] == [False] * (len(rest) - 1)
    # And resuming from the final cursor yields nothing new; a file grown since yields the new mail
    assert [p.items for p in MboxConnector(path, now=NOW).pages("mbox", rest[-1].cursor)] == [()]
    with open(path, "ab") as f:
        f.write(simple(11))
    (page,) = MboxConnector(path, now=NOW).pages("mbox", rest[-1].cursor)
    assert [i.message_id for i in page.items] == ["m11@example.org"] and page.complete


def test_a_cursor_that_no_longer_points_at_a_message_expires(tmp_path):
    # Given an mbox and cursors that do not match it
    path = tmp_path / "c.mbox"
    path.write_bytes(simple(1) + simple(2))
    for cursor in ("5", str(10**9), "not-a-number", "tail:5", "tail:x:y"):
        # When resuming from them, Then CursorExpired asks for a full resync
        with pytest.raises(CursorExpired):
            list(MboxConnector(path, now=NOW).pages("mbox", cursor))


def test_full_import_pages_are_full_sync_and_a_rewritten_file_expires_the_tail_cursor(tmp_path):
    # Given a completed import of three messages
    path = tmp_path / "r.mbox"
    path.write_bytes(simple(1) + simple(2) + simple(3))
    pages = list(MboxConnector(path, now=NOW, page_size=2).pages("mbox", None))
    # Then every page of it is a full sync, and the last cursor marks the end of the file
    assert [p.full_sync for p in pages] == [True, True] and pages[-1].cursor.startswith("tail:")
    # And a later round over an appended file is incremental
    with open(path, "ab") as f:
        f.write(simple(4))
    (page,) = MboxConnector(path, now=NOW).pages("mbox", pages[-1].cursor)
    assert not page.full_sync and page.complete and [i.message_id for i in page.items] == ["m4@example.org"]
    # But a file rewritten to the same length (message 2 replaced) expires the cursor
    path.write_bytes(simple(1) + simple(5) + simple(3) + simple(4))
    with pytest.raises(CursorExpired):
        list(MboxConnector(path, now=NOW).pages("mbox", page.cursor))


def test_bodies_never_reach_any_record(tmp_path):
    # Given messages whose bodies, including one huge attachment-like body, carry a marker
    path = tmp_path / "bodies.mbox"
    huge = (BODY_MARKER + " base64AAAA\n") * 50_000
    path.write_bytes(
        simple(1)
        + message("From: a@x.org\nDate: x", n=2)
        + message("From: a@x.org\nDate: Mon, 02 Nov 2026 10:00:00 +0000", huge, n=3)
        + simple(4)[:-40]
    )
    # When imported in small chunks and pages
    items = run(path, page_size=1, chunk_size=4096)
    # Then nothing anywhere mentions a body
    assert len(items) == 4 and BODY_MARKER not in repr(items)


_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
addresses = st.builds(
    lambda first, local, labels, tld: f"{first}{local}@{'.'.join(labels)}.{tld}",
    st.sampled_from(_ALNUM),
    st.text(_ALNUM + "._+-", max_size=12),
    st.lists(st.text(_ALNUM, min_size=1, max_size=8), min_size=1, max_size=2),
    st.text("abcdefghijklmnopqrstuvwxyz", min_size=2, max_size=6),
)
names = (
    st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp"), blacklist_characters="'@"), max_size=30)
    .map(lambda s: " ".join(s.split()))
    .filter(lambda s: "=?" not in s)
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(names, addresses), min_size=1, max_size=5))
def test_generated_addresses_and_names_round_trip(pairs):
    # Given names and addresses written as a header by the stdlib (quoting, RFC 2047)
    value = ",\n ".join(formataddr((n, a.upper())) for n, a in pairs)
    unfolded = value.replace("\n ", " ")
    # When parsed back, Then each (name, lower-cased address) comes back
    assert parse_address_list(unfolded) == [(n or None, a.lower()) for n, a in pairs]


# Header-shaped noise finds more corners than uniform bytes do.
header_ish = st.lists(
    st.sampled_from(
        [
            "From: ",
            "To: ",
            "Cc: ",
            "Bcc: ",
            "Sender: ",
            "Date: ",
            "Message-ID: ",
            "References: ",
            "X-Gmail-Labels: ",
            "X-GM-THRID: ",
            "List-Id: ",
            " ",
            "\r\n",
            "\n",
            "\t",
            "<",
            ">",
            '"',
            "(",
            ")",
            ",",
            ";",
            ":",
            "@",
            "a",
            "x.org",
            "=?utf-8?q?",
            "=?x?b?",
            "?=",
            "\udcff",
            "é",
            "\\",
            "99",
            "Sent",
            "Mon, 02 Nov 2026 10:00:00 +0000",
        ]
    ),
    max_size=40,
).map(lambda p: "".join(p).encode("utf-8", "surrogateescape"))


@settings(max_examples=400)
@given(st.one_of(st.binary(max_size=600), header_ish))
def test_arbitrary_header_bytes_never_raise(block):
    # Given any bytes at all as a header block, When parsed, Then a record or quarantine comes out
    headers = parse_headers(block)
    assert all(isinstance(v, str) for v in headers.values())
    item = message_item(RawMessage(0, len(block), block), "mbox", LATEST)
    assert isinstance(item, (Interaction, Quarantined))


@settings(max_examples=300)
@given(st.text(max_size=200))
def test_arbitrary_address_text_never_raises(text):
    # Given any text as an address header, When parsed, Then only valid lower-case addresses result
    for _name, address in parse_address_list(text):
        assert address == address.lower() and "@" in address and " " not in address
    decode_words(text)


def test_odd_address_forms():
    # Given forms seen in real archives, Then each parses to the expected (name, address)
    assert parse_address_list("ana@example.org (Ana)") == [("Ana", "ana@example.org")]
    assert parse_address_list("Ana Ruiz ana@example.org") == [("Ana Ruiz", "ana@example.org")]
    assert parse_address_list('team: a@x.org, b@y.org;, "Q" <c@z.org>') == [
        (None, "a@x.org"),
        (None, "b@y.org"),
        ("Q", "c@z.org"),
    ]
    assert parse_address_list("a@x.org; B@Y.ORG.") == [(None, "a@x.org"), (None, "b@y.org")]
    assert parse_address_list("'ana@x.org', <mailto:bob@x.org>") == [(None, "ana@x.org"), (None, "bob@x.org")]
    assert parse_address_list("undisclosed-recipients:;, foo@, @x.org, x@localhost, garbage") == []
    assert parse_address_list('"a\\"b" <q@x.org>') == [('a"b', "q@x.org")]


body_lines = st.lists(
    st.sampled_from(
        [
            "",
            "text",
            ">From the archive",
            "From here on",
            "From: quoted header?",
            "\r",
            "From ",
            "From x Wed Nov 25 10:00:00",
            "  indented",
            "=?utf-8?q?x?=",
            BODY_MARKER,
        ]
    ),
    max_size=12,
)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(st.booleans(), body_lines), min_size=1, max_size=6),
    st.integers(min_value=1, max_value=64),
    st.booleans(),
)
def test_splitting_does_not_depend_on_chunk_size(tmp_path_factory, messages, chunk, crlf):
    # Given messages with tricky body lines (none of them a real separator), LF or CRLF
    parts = []
    for n, (sent, lines) in enumerate(messages, 1):
        labels = {"X-Gmail-Labels": "Sent"} if sent else {}
        raw = simple(n, **labels).split(b"\n\n", 1)[0] + b"\n\n" + "\n".join(lines).encode() + b"\n\n"
        parts.append(raw.replace(b"\n", b"\r\n") if crlf else raw)
    path = tmp_path_factory.mktemp("split") / "x.mbox"
    path.write_bytes(b"".join(parts))
    # When read with a tiny chunk size and with the default one
    small = run(path, chunk_size=chunk, page_size=2)
    whole = run(path)
    # Then both see exactly the generated messages, and no body text
    assert small == whole
    assert [i.message_id for i in whole] == [f"m{n}@example.org" for n in range(1, len(messages) + 1)]
    assert BODY_MARKER not in repr(whole)


@pytest.fixture(scope="module")
def world():
    from ingest.sandbox.world import generate_world

    return generate_world(11, days=150, contacts=15, scale=0.6)


@pytest.mark.parametrize("account", ["google", "microsoft"])
def test_the_synthetic_worlds_mailbox_imports_message_for_message(tmp_path, world, account):
    from ingest.mbox import KEPT_HEADERS
    from ingest.sandbox.world import BODY_MARKER as WORLD_BODY, write_mbox

    # Given the world's mailbox written as Takeout (google) or a desktop export (microsoft)
    path = tmp_path / f"{account}.mbox"
    written = write_mbox(world, path, account)
    expected = {m.message_id: m for m in world.messages_for(account)}
    # When imported in pages, the importer telling the user's addresses
    connector = MboxConnector(path, page_size=50, own=world.own_addresses)
    items = [i for p in connector.pages("mbox", None) for i in p.items]
    # Then every message is there once, nothing is quarantined, no body leaked
    assert written == len(expected) == len(items) > 20
    assert {i.provider_id for i in items} == set(expected)
    assert WORLD_BODY not in repr(items)

    own = {a.lower() for a in world.own_addresses}

    def same(a: str, b: str) -> bool:  # the writer may print a person's (or the user's) other address
        b = b.lower()
        return a == b or {a, b} <= own or (world.person(a) is not None and world.person(a) == world.person(b))

    for item in items:
        m = expected[item.provider_id]
        # And time, people per role, thread and headers match the world's message
        assert item.occurred_at == m.date.replace(microsecond=0)
        lines = (("from", (m.sender,)), ("to", m.to), ("cc", m.cc), ("bcc", m.bcc))
        if item.audience is not None:  # a broadcast: counted, not stored whole
            assert item.audience == len({a.lower() for _, pairs in lines for _, a in pairs}) > AUDIENCE_CAP
            lines = tuple(
                (role, [(n, a) for n, a in pairs if role == "from" or a.lower() in own]) for role, pairs in lines
            )
        for role, pairs in lines:
            got = [p.address for p in item.participants if p.role == role]
            assert len(got) == len(pairs) and all(same(g, a) for g, (_, a) in zip(got, pairs))
        for name, value in m.extra_headers:
            if name.lower() in KEPT_HEADERS:
                assert item.header(name) == value[:512]
        if account == "google":
            assert item.thread_id == m.thread_id and item.is_sent == m.is_sent
            assert item.is_draft == m.is_draft
    assert set(connector.own_addresses()) <= set(world.own_addresses)


@settings(max_examples=200)
@given(
    st.lists(
        st.one_of(
            st.sampled_from(
                [
                    "Ana",
                    " ",
                    "<",
                    ">",
                    ",",
                    ";",
                    "@",
                    ".",
                    "'",
                    "\t",
                    "=?utf-8?q?A_b?=",
                    "x.org",
                    "ANA",
                    "é",
                    "-",
                    "_",
                    "+",
                    "a@b.org",
                ]
            ),
            st.text("abcxyz@.<> ,'", max_size=5),
        ),
        max_size=16,
    )
)
def test_fast_path_agrees_with_the_full_tokenizer(parts):
    from ingest.addresses import _parse_element

    # Given a value without quotes, comments or groups (the form the fast path takes)
    value = "".join(parts)
    # When parsed by the fast path and element by element by the full tokenizer
    slow: list = []
    for element in value.replace(";", ",").split(","):
        _parse_element(element, False, slow)
    # Then both read the same people
    assert parse_address_list(value) == slow
