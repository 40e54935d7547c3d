"""ingest.clean, and records that clean themselves: no control character, lone surrogate or
unbounded value survives, cleaning is idempotent, and long ids do not collide."""

from __future__ import annotations

from datetime import datetime, timezone

from hypothesis import given, strategies as st

from ingest.clean import ID_LIMIT, NAME_LIMIT, clean_excerpt, clean_id, clean_name, clean_text
from ingest.records import Interaction, Participant, Quarantined, Removed

anything = st.text(
    st.one_of(
        st.characters(), st.characters(max_codepoint=0x9F), st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF)
    ),
    max_size=600,
)


def safe(value: str) -> bool:
    value.encode("utf-8")  # raises on a lone surrogate
    return not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in value)


@given(anything)
def test_names_and_ids_come_out_printable_bounded_and_stable(text):
    # Given any text at all; When it is cleaned as a name and as an id
    name, ident = clean_name(text), clean_id(text)
    # Then neither holds a control character or a lone surrogate, both are bounded,
    # and cleaning again changes nothing
    assert name is None or (safe(name) and len(name) <= NAME_LIMIT and clean_name(name) == name)
    assert safe(ident) and len(ident) <= ID_LIMIT and clean_id(ident) == ident


def test_whitespace_controls_separate_words_and_others_vanish():
    assert clean_name("Ana\tRuiz\r\n") == "Ana Ruiz"
    assert clean_name("Eve\x00\x1b[31m\x9b") == "Eve[31m"
    assert clean_name("\x00\x01") is None
    assert clean_text("a\ud800b", 10) == "a\ufffdb"
    assert clean_excerpt("From: a\x00\r\nTo: b") == "From: a\nTo: b"


@given(st.text(min_size=1, max_size=5), st.text(min_size=1, max_size=5))
def test_long_ids_sharing_a_prefix_stay_distinct(a, b):
    # Given two different ids longer than the limit that share their first 1,000 characters
    prefix = "x" * 1000
    if clean_id(a) == clean_id(b):
        return  # they differ only in what cleaning removes: the same id
    # Then they stay different after cleaning
    assert clean_id(prefix + a) != clean_id(prefix + b)


def test_records_clean_themselves_whoever_builds_them():
    # Given a record built with poison in every text field, as any connector might
    item = Interaction(
        provider_id="id\x00",
        kind="email",
        occurred_at=datetime(2026, 1, 1, tzinfo=timezone.utc),
        participants=(Participant("eve\x00@evil.test", "from", "=Eve\x00\x07"),),
        thread_id="t\x00",
        message_id="\x00",
        references=tuple(f"r{i}" for i in range(500)),
        labels=("In\x00box", "\x01", "Inbox"),
        headers=(("list-id", "l\x00" * 2000),),
    )
    # Then what it holds is clean and bounded
    assert item.provider_id == "id" and item.thread_id == "t" and item.message_id is None
    assert item.participants[0] == Participant("eve@evil.test", "from", "=Eve")
    assert item.labels == ("Inbox",)
    assert len(item.references) == 100 and item.references[0] == "r0" and item.references[-1] == "r499"
    assert item.header("list-id") == "l" * 1000
    assert Removed("id\x00").provider_id == item.provider_id
    q = Quarantined("7\x00", "bad\x00", "From: \x1b[2Jx\nTo: y")
    assert (q.ref, q.reason, q.excerpt) == ("7", "bad", "From: [2Jx\nTo: y")
