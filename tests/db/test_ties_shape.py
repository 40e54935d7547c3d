"""The tie's shape is declared once (service/ties/shape.py): the Python dict the scorer keeps
and the JSON PostgreSQL renders from a snapshot row must be the same tie, and `as_of` is
read one way everywhere (service/ties/as_of.py)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given, strategies as st
from psycopg.types.json import Jsonb

from analytics import TieScore
from service import store
from service.ties import as_of as moments
from service.ties.scoring import write_snapshot
from service.ties.shape import DESIGN_KEYS, KEYS, TIE_JSON, TIE_TEXT, design, public, tie_dict

AS_OF = datetime(2026, 10, 5, 9, 0, tzinfo=timezone.utc)


def _scores_and_people(person_ids: list[int]) -> list[tuple[TieScore, dict]]:
    # Edge cases of every field: no name, no addresses (contact falls back to ""), a colleague,
    # a tie to deepen, a fractional strength that rounds, no last interaction, non-ASCII text.
    a, b, c = person_ids
    return [
        (
            TieScore(
                a,
                73.6,
                "strong",
                -31,
                ("cooling",),
                AS_OF.timestamp() - 86400,
                ("4 one-to-one meetings in the last 90 days",),
                {"initiated_by_you": 5, "initiated_by_them": 9},
                suggestion="Ask Ana to lunch.",
                deepen_rank=1,
            ),
            {"primary": "ana@example.org", "name": "Ana Ruíz", "addresses": ["ana@example.org", "ana@home.example"]},
        ),
        (
            TieScore(b, 12.2, "fading", 40, ("dormant", "one_sided_you"), None, (), {}),
            {"addresses": [], "colleague": True},
        ),
        (
            TieScore(c, 50.5, "medium", 0, (), AS_OF.timestamp() - 3 * 86400, ('a "quoted" line',), {"n": 1}),
            {"name": None, "addresses": ["bo@example.org"]},
        ),
    ]


@pytest.fixture
def snapshot(database):
    """Given three ties built by `tie_dict` and kept as a snapshot by the scorer's own writer."""
    with database.tx() as conn:
        user = store.create_user(conn, "shape@example.org", None, "UTC")
        people = [
            conn.execute("INSERT INTO people (user_id) VALUES (%s) RETURNING id", (user,)).fetchone()[0]
            for _ in range(3)
        ]
        ties = [tie_dict(s, p) for s, p in _scores_and_people(people)]
        write_snapshot(conn, user, AS_OF, ties)
    return user, {t["person_id"]: t for t in ties}


def _rendered(database, user: int, sql: str) -> dict[int, str]:
    with database.tx() as conn:
        rows = conn.execute(
            f"SELECT s.person_id, ({sql})::text FROM score_snapshots s WHERE s.user_id = %s", (user,)
        ).fetchall()
    return dict(rows)


def test_the_python_dict_and_the_sql_give_the_same_tie_for_the_same_snapshot(database, snapshot):
    user, ties = snapshot
    # When PostgreSQL rebuilds each tie from its row, and when it sends the stored payload
    rebuilt, sent = _rendered(database, user, TIE_JSON), _rendered(database, user, TIE_TEXT)
    for person_id, tie in ties.items():
        # Then both are the Python dict, cut to the API's keys, value for value and key for key
        expected = json.loads(json.dumps(public(tie)))
        assert json.loads(rebuilt[person_id]) == expected
        assert json.loads(sent[person_id]) == expected
        assert list(expected) == list(KEYS)
        # and byte for byte, since both are jsonb rendered by PostgreSQL
        assert rebuilt[person_id] == sent[person_id]


def test_a_payload_missing_a_key_is_rebuilt_from_its_row_with_every_key(database, snapshot):
    user, ties = snapshot
    # Given a payload written before a field existed (here `colleague`, `deepen_rank`)
    with database.tx() as conn:
        conn.execute(
            "UPDATE score_snapshots SET payload = payload - 'colleague' - 'deepen_rank' WHERE user_id = %s", (user,)
        )
    # When it is sent, Then it has every key, defaults where the row cannot say
    for person_id, text in _rendered(database, user, TIE_TEXT).items():
        tie = json.loads(text)
        assert list(tie) == sorted(KEYS, key=lambda k: (len(k), k))  # jsonb's own key order
        assert tie["colleague"] is False and tie["deepen_rank"] is None
        assert tie["strength"] == ties[person_id]["strength"]


def test_the_cli_prints_the_tie_of_design_in_its_order():
    # Given the tie of DESIGN.md ("A tie, as the API and `kith ties --json` report it")
    assert DESIGN_KEYS == (
        "contact",
        "name",
        "addresses",
        "strength",
        "tier",
        "reciprocity",
        "flags",
        "last_interaction",
        "explanation",
        "ledger",
    )
    # When a stored tie with the API's extra keys is printed, Then only those, in that order
    stored = {"person_id": 3, "colleague": True, "ledger": {}, "contact": "a@b.c", "strength": 7}
    assert list(design(stored)) == list(DESIGN_KEYS)
    assert design(stored)["contact"] == "a@b.c" and design(stored)["name"] is None


# Wall times a day inside the bounds, so that no offset moves the instant outside them.
aware = st.datetimes(
    min_value=datetime(1970, 1, 3),
    max_value=datetime(2199, 12, 30),
    timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]),
)


@given(aware)
def test_an_iso_moment_with_its_offset_is_the_same_instant(moment):
    # Given any moment in bounds written in ISO 8601 (with `Z` for UTC, as the API writes it)
    text = moment.isoformat().replace("+00:00", "Z")
    # When read, Then it is the same instant, aware, and writes back as UTC
    read = moments.to_utc(text)
    assert read == moment and read.tzinfo is not None
    assert moments.to_utc(moments.iso(read)) == moment


@given(st.dates(min_value=date(1970, 1, 2), max_value=date(2199, 12, 31)))
def test_a_date_is_its_midnight_utc_as_text_and_as_a_date(day):
    midnight = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    assert moments.to_utc(day.isoformat()) == midnight
    assert moments.to_utc(day) == midnight
    assert moments.to_utc(datetime(day.year, day.month, day.day)) == midnight  # naive counts as UTC


@given(st.one_of(st.text(max_size=40), st.integers(), st.floats(), st.lists(st.integers(), max_size=2)))
def test_any_other_input_is_refused_with_bad_moment_and_nothing_else(value):
    try:
        moment = moments.to_utc(value)
    except moments.BadMoment:
        return
    assert moment is None or moments.EARLIEST <= moment <= moments.LATEST


@pytest.mark.parametrize(
    "text",
    [
        "1970-01-01",
        "1969-12-31T23:00:00Z",
        "2200-01-01T00:00:01Z",
        "9999-12-31",
        "0001-01-01T00:00+05:00",
        "9999-12-31T23:59-05:00",
    ],
)
def test_moments_outside_the_bounds_are_refused_with_the_bounds(text):
    with pytest.raises(moments.BadMoment, match="between 1970 and 2200"):
        moments.to_utc(text)


def test_the_bounds_themselves_and_an_empty_value_are_accepted():
    assert moments.to_utc("1970-01-02") == moments.EARLIEST
    assert moments.to_utc("2200-01-01T00:00:00Z") == moments.LATEST
    assert moments.to_utc("") is None and moments.to_utc(None) is None
    with pytest.raises(moments.BadMoment, match="'yesterday' is not a valid date"):
        moments.to_utc("yesterday")
