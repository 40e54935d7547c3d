"""The `kith` command line, run as a user runs it: a real database; one test runs every command
in a process of its own, the others in the test's process (tests/support/cli.py)."""

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from service.api.schemas import Tie

from tests.support.cli import kith_env, run_kith

MBOX = """From ana@example.org Mon Mar  2 09:00:00 2026
Message-ID: <m1@example.org>
Date: Mon, 2 Mar 2026 09:00:00 +0000
From: =?utf-8?q?Ana_Ru=C3=ADz?= <ana@example.org>
To: You <you@kith.example>
Subject: hello

Body text that must never be stored.

From you@kith.example Mon Mar  2 10:00:00 2026
Message-ID: <m2@kith.example>
In-Reply-To: <m1@example.org>
Date: Mon, 2 Mar 2026 10:00:00 +0000
From: You <you@kith.example>
To: Ana <ana@example.org>
X-Gmail-Labels: Sent

Reply.

From bo@example.org Mon Mar  2 11:00:00 2026
Message-ID: <m3@example.org>
From: Bo <bo@example.org>
To: you@kith.example

No date on this one.
"""


@pytest.fixture
def kith(settings, tmp_path):
    """`kith ARGS`: in this process (tests/support/cli.py), or with `process=True` in a
    `python -m service.cli` of its own, as a user runs it."""
    env = kith_env(settings.database_url, settings.redis_url, str(tmp_path / "home"), "cli-test-key")

    def run(*args, check=True, process=False):
        if process:
            proc = subprocess.run(
                [sys.executable, "-m", "service.cli", *args],
                env={k: v for k, v in os.environ.items() if not k.startswith("KITH_")} | env,
                capture_output=True,
                text=True,
                timeout=120,
                stdin=subprocess.DEVNULL,
            )
        else:
            proc = run_kith(env, *args)
        if check:
            assert proc.returncode == 0, proc.stderr
        return proc

    return run


def test_user_import_ties_json(kith, tmp_path):
    # Every command in a `python -m service.cli` of its own: the entry point as a user meets it
    kith = functools.partial(kith, process=True)
    # Given a user and a small mbox with one exchange and one undated message
    token = kith("user", "add", "you@kith.example", "--timezone", "Europe/Madrid", "--name", "You").stdout.strip()
    assert token.startswith("kith_") and len(token) > 30
    path = Path(tmp_path / "mail.mbox")
    path.write_text(MBOX)
    # When it is imported
    proc = kith("import", "mbox", str(path), "--user", "you@kith.example", "--address", "you@kith.example")
    assert "2 items imported, 1 quarantined" in proc.stderr
    # And imported again, it says there was nothing new
    again = kith("import", "mbox", str(path), "--user", "you@kith.example", "--address", "you@kith.example")
    assert "nothing new since the last import" in again.stderr
    # Then `kith ties --json` prints one JSON document with Ana as a tie shaped as the API's
    # tie (the DESIGN keys, in their order, then the API's own)
    ties = json.loads(kith("ties", "--user", "you@kith.example", "--json").stdout)
    assert [t["contact"] for t in ties] == ["ana@example.org"]
    assert ties[0]["name"] == "Ana Ruíz"
    assert set(ties[0]) == set(Tie.model_fields)
    assert list(ties[0])[:10] == [
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
    ]
    # And the quarantined message is listed with its reason
    assert "Date" in kith("quarantine", "--user", "you@kith.example").stdout


def test_bad_input_gets_a_clear_message_not_a_traceback(kith, tmp_path):
    kith("user", "add", "you@kith.example")
    not_mbox = tmp_path / "notes.txt"
    not_mbox.write_text("just some notes\nnot mail at all\n")
    for args in (
        ["import", "mbox", str(not_mbox), "--user", "you@kith.example"],
        ["import", "mbox", str(tmp_path / "missing.mbox"), "--user", "you@kith.example"],
        ["ties", "--user", "nobody@kith.example"],
        ["ties", "--user", "you@kith.example", "--as-of", "yesterday"],
        ["user", "add", "x@y.z", "--timezone", "Mars/Olympus"],
    ):
        proc = kith(*args, check=False)
        assert proc.returncode != 0, args
        assert "Traceback" not in proc.stderr + proc.stdout, args
        assert "error" in proc.stderr.lower(), args


def test_delete_erases_every_row_of_the_user(kith, tmp_path, database):
    kith("user", "add", "you@kith.example")
    kith("user", "add", "other@kith.example")
    path = tmp_path / "mail.mbox"
    path.write_text(MBOX)
    kith("import", "mbox", str(path), "--user", "you@kith.example")
    kith("delete", "--user", "you@kith.example", "--yes")
    with database.tx() as conn:
        assert conn.execute("SELECT email FROM users").fetchall() == [("other@kith.example",)]
        assert conn.execute("SELECT count(*) FROM interactions").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM api_tokens").fetchone()[0] == 1
