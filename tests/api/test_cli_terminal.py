"""The terminal is not an attack surface: what came from mail is printed inert.

Display names, addresses and quarantine reasons are written by strangers. Each hostile
string below is stored as a contact would leave it (straight into the tables, so the test
holds whatever the parsers clean) and printed by `kith ties`, `kith ties --excluded` and
`kith quarantine`; no terminal control byte and no live Rich markup may reach stdout, and the
visible letters must stay.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from psycopg.types.json import Jsonb
from hypothesis import example, given, settings as hypothesis_settings, strategies as st
from rich.console import Console
from typer.testing import CliRunner

from service import cli, output, people, store

from tests.support.api import AS_OF, _interaction, tie_payload

# (stored name, letters a reader must still see)
HOSTILE = [
    ("\x1b]0;owned\x07Ana", "Ana"),  # OSC 0: retitles the window
    ("\x1b[2J\x1b[HBo", "Bo"),  # clears the screen
    ("\x1b]8;;http://evil.test/\x1b\\Cy\x1b]8;;\x1b\\", "Cy"),  # OSC 8 hyperlink
    ("\x1b]52;c;cm0gLXJmIH4K\x07Di", "Di"),  # OSC 52: writes the clipboard
    ("\u009b31mEve\u009c", "Eve"),  # C1 CSI, 8-bit form
    ("[link=http://evil.test/]click[/link]", "[link=http://evil.test/]click[/link]"),  # Rich markup
    ("Fay[/]", "Fay[/]"),  # a closing tag Rich would choke on
    ("Gus\u202egro.live@", "Gus"),  # bidi override
    ("Hal:pile_of_poo:", "Hal:pile_of_poo:"),  # an emoji code
]
# Every C0 control but newline, DEL, and every C1 control: none may be printed.
FORBIDDEN = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
EVIL = "noreply\x1b]52;c;ZXZpbA==\x07@bulk.evil.test"


@pytest.fixture
def hostile_user(settings, database, monkeypatch):
    """A user whose contacts carry each hostile name, a quarantined item whose reason quotes
    an escape sequence, and a no-reply sender (left out) whose address carries one."""
    monkeypatch.setenv("KITH_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("KITH_REDIS_URL", settings.redis_url)
    monkeypatch.setenv("KITH_HOME", str(settings.home))
    monkeypatch.setenv("KITH_SECRET_KEY", "terminal-test-key")
    # One table row per line, so names are not wrapped. The CLI's console reads COLUMNS when
    # service.cli is first imported, which another test in this process may have done already.
    monkeypatch.setenv("COLUMNS", "400")
    monkeypatch.setattr(cli.out, "width", 400)
    email = "you@kith.example"
    with database.tx() as conn:
        user_id = store.create_user(conn, email)
        account = store.ensure_account(conn, user_id, "mbox", "you.mbox")
        for n in range(3):
            _interaction(
                conn, user_id, account, f"bulk{n}", "email", AS_OF - timedelta(days=n + 1), EVIL, [email], False
            )
        # Mail written by hand, as a sync would write it: people are refreshed after it (before the
        # hand-made people below, who have no mail and would be dropped as orphans).
        people.refresh_people(conn, user_id)
        for i, (name, _) in enumerate(HOSTILE):
            pid = conn.execute(
                "INSERT INTO people (user_id, display_name) VALUES (%s, %s) RETURNING id", (user_id, name)
            ).fetchone()[0]
            tie = tie_payload(pid, i, f"p{i}@evil.test", name)
            conn.execute(
                "INSERT INTO score_snapshots (user_id, person_id, as_of, strength, tier, reciprocity,"
                " flags, payload) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (user_id, pid, AS_OF, tie["strength"], tie["tier"], tie["reciprocity"], tie["flags"], Jsonb(tie)),
            )
        conn.execute(
            "INSERT INTO quarantine (user_id, account_id, resource, ref, reason) VALUES (%s, %s, %s, %s, %s)",
            (user_id, account, "mbox", "m\x1b[2J1", "bad Date header '\x1b]0;owned\x07[bold]x[/]'"),
        )
    return email


def _run(*args) -> str:
    result = CliRunner().invoke(cli.app, list(args))
    assert result.exit_code == 0, (result.output, result.exception)
    return result.stdout


def _assert_inert(text: str) -> None:
    found = FORBIDDEN.findall(text)
    assert not found, f"control characters reached the terminal: {found!r}"
    assert "\x1b" not in text and "\x07" not in text


def test_ties_print_hostile_names_inert(hostile_user):
    """Given contacts named with escape sequences and Rich markup, when `kith ties` prints
    them, then no control byte and no live markup reaches stdout, and each name's letters show."""
    shown = _run("ties", "--user", hostile_user, "--limit", "50")
    _assert_inert(shown)
    for _, visible in HOSTILE:
        assert visible in shown
    assert "owned" in shown and "http://evil.test/" in shown  # the sequences' text shows, inert


def test_exclusions_and_quarantine_print_inert(hostile_user):
    """Given a left-out sender and a quarantine reason that carry escape sequences, when
    `kith ties --excluded` and `kith quarantine` print them, then they arrive inert."""
    excluded = _run("ties", "--user", hostile_user, "--excluded")
    _assert_inert(excluded)
    assert "noreply]52;c;ZXZpbA==@bulk.evil.test" in excluded
    quarantined = _run("quarantine", "--user", hostile_user)
    _assert_inert(quarantined)
    assert "bad Date header ']0;owned[bold]x[/]'" in quarantined


@pytest.mark.parametrize("text", [name for name, _ in HOSTILE])
def test_each_hostile_name_renders_as_its_own_letters(text):
    _renders_as_its_own_letters(text)


def test_deepen_table_prints_hostile_names_inert():
    """Given ties to deepen whose names and suggestions are hostile, when the demo's table
    prints them, then they arrive inert and legible."""
    ties = [
        dict(tie_payload(i + 1, 3 * i, f"p{i}@evil.test", name), deepen_rank=i + 1, suggestion=f"Write to {name}")
        for i, (name, _) in enumerate(HOSTILE)
    ]
    sink = io.StringIO()
    output.deepen_table(Console(file=sink, width=400, emoji=False), ties)
    shown = sink.getvalue()
    _assert_inert(shown)
    for _, visible in HOSTILE:
        assert shown.count(visible) >= 2  # in "who" and in the suggestion


def test_deepen_table_gives_the_flags_and_the_first_reason_as_sentences():
    """Given a tie flagged gone quiet and one with no flag, when the demo's table prints
    them, then the why reads "Gone quiet. No messages ...", not "gone quiet; No messages"."""
    quiet = dict(
        tie_payload(1, 10, "rosa@north.test", "Rosa"),
        flags=["dormant"],
        explanation=["No messages to them and no messages from them in the last 90 days.", "Second reason."],
        deepen_rank=1,
    )
    plain = dict(tie_payload(2, 40, "jo@north.test", "Jo"), flags=[], explanation=["Contact on 3 of the last 52 weeks"])
    sink = io.StringIO()
    output.deepen_table(Console(file=sink, width=400, emoji=False), [quiet, dict(plain, deepen_rank=2)])
    shown = sink.getvalue()
    assert (
        f"{output.FLAG_WORDS['dormant'].capitalize()}. No messages to them and no messages from them in the last 90 days "
        in shown
    )
    assert "Second reason" not in shown and ";" not in shown
    assert "│ Contact on 3 of the last 52 weeks " in shown


@hypothesis_settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from("[]/\\=:@#\x1b\x07\x9b"), max_size=60))
@example("back\\")
@example("a\\[b")  # Rich drops a backslash before a bracket that is no tag
@example("\\\x1b[")
@example("two\\\\")  # an even run of backslashes before the closing tag
@example("[/]")
@example("a\tb\nc\r")
@example("[bold]x[/bold] [@click=quit] :smile:")
def test_terminal_text_renders_as_its_own_letters(text):
    _renders_as_its_own_letters(text)


def _renders_as_its_own_letters(text):
    """Given any hostile text, when it is printed through terminal_text, then the terminal
    shows its letters with the controls gone: markup stays text, nothing is swallowed."""
    sink = io.StringIO()
    Console(file=sink, width=400, emoji=False).print(f"[red]{output.terminal_text(text)}[/]", end="")
    expected = re.sub(
        r"[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]",
        "",
        re.sub(r"[\t\n\r\x0b\x0c\x85\u2028\u2029]+", " ", text),
    )
    assert sink.getvalue() == expected
