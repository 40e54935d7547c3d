"""The command line as a person meets it: users and tokens, refusals in one line, commands to
paste that stay on one line, a busy port said in words."""

from __future__ import annotations

import io
import re
import socket

from rich.console import Console

from service.demo import next_steps

from tests.api.test_cli import kith

TOKEN = "kith_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8S9t0U1v"


def test_next_steps_keep_every_command_on_one_line_at_80_and_100_columns():
    for width in (80, 100):
        # Given a terminal of that width
        buffer = io.StringIO()
        console = Console(file=buffer, width=width, force_terminal=False, emoji=False)
        # When the demo prints what to run next
        next_steps(console, "ada.lovelace@kith.example", TOKEN, 8000)
        lines = buffer.getvalue().splitlines()
        # Then the curl command and the token are whole on one line each
        curl = [line for line in lines if "curl" in line]
        assert curl == [f"  curl -H 'Authorization: Bearer {TOKEN}' http://127.0.0.1:8000/v1/ties"], width
        assert any(line.endswith(TOKEN) for line in lines if line.startswith("API token")), width
        assert "  .venv/bin/kith ties --user ada.lovelace@kith.example --json" in lines


def test_the_real_console_keeps_the_curl_line_whole_at_80_and_100_columns():
    import os
    import subprocess
    import sys

    code = (
        "from service.cli.runtime import out\n"
        "from service.demo import next_steps\n"
        f"next_steps(out, 'ada.lovelace@kith.example', {TOKEN!r}, 8000)\n"
    )
    for columns in ("80", "100"):
        # Given the terminal width a user has, as the COLUMNS variable says
        env = {k: v for k, v in os.environ.items() if not k.startswith("KITH_")} | {"COLUMNS": columns}
        # When the CLI's own console prints the demo's next steps
        done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
        # Then the curl line is one line
        assert f"  curl -H 'Authorization: Bearer {TOKEN}' http://127.0.0.1:8000/v1/ties\n" in done.stdout, done


def test_user_list_and_revoke_token(kith):
    # Given a user with two tokens
    first = kith("user", "add", "ada@kith.example", "--name", "Ada").stdout.strip()
    kith("user", "add", "ada@kith.example")
    # When users are listed with their tokens
    listed = kith("user", "list", "--tokens").stdout
    # Then the user shows with two live tokens, each by id and prefix, never the secret
    assert "ada@kith.example" in listed and first not in listed
    assert first[:8] in listed
    ids = re.findall(r"│\s*(\d+)\s*│", listed.split("Tokens of")[1])
    assert len(ids) == 2
    # When the first is revoked
    done = kith("user", "revoke-token", ids[0], "--user", "ada@kith.example")
    # Then it says so, and the list shows one live token
    assert f"token {ids[0]} of ada@kith.example is revoked" in done.stderr
    assert re.search(r"ada@kith\.example\s*│\s*Ada\s*│\s*UTC\s*│\s*1\s*│", kith("user", "list").stdout)
    # And a token that is not the user's is a one-line error
    missing = kith("user", "revoke-token", "999999", "--user", "ada@kith.example", check=False)
    assert missing.returncode == 1 and "has no token 999999" in missing.stderr and "Traceback" not in missing.stderr


def test_refusals_are_one_line_errors(kith, tmp_path):
    kith("user", "add", "ada@kith.example")
    # Given no terminal (stdin is /dev/null), `kith delete` without --yes refuses
    delete = kith("delete", "--user", "ada@kith.example", check=False)
    assert delete.returncode == 1 and "pass --yes" in delete.stderr
    assert "ada@kith.example" in kith("user", "list").stdout  # nothing erased
    # A preview into a directory that does not exist is one line, not a traceback
    preview = kith("digest", "--user", "ada@kith.example", "--preview", "/no/such/dir/x.html", check=False)
    assert preview.returncode == 1 and "Traceback" not in preview.stderr
    assert preview.stderr.strip().splitlines() == [
        "error: cannot write /no/such/dir/x.html: the directory /no/such/dir does not exist"
    ]
    # `kith serve` on a port something already listens on says so
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        # (in a process of its own: were the check gone, the server would block this one)
        serve = kith("serve", "--port", str(port), check=False, process=True)
    assert serve.returncode == 1 and f"port {port} on 127.0.0.1 is busy" in serve.stderr
    assert "Traceback" not in serve.stderr


def test_every_option_documents_its_format(kith):
    assert "YYYY-MM-DD" in kith("ties", "--help").stdout
    assert "YYYY-MM-DD" in kith("score", "--help").stdout
    digest_help = kith("digest", "--help").stdout
    assert "YYYY-MM-DD" in digest_help and "--resend" in digest_help


def test_the_ties_table_shows_flags_in_words_and_last_contact_as_time_ago():
    from datetime import datetime, timedelta, timezone

    from service import output

    # Given a one-sided tie last in touch three days ago
    when = (datetime.now(timezone.utc) - timedelta(days=3, hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    tie = {
        "strength": 40,
        "tier": "medium",
        "contact": "ana@example.org",
        "name": "Ana",
        "reciprocity": -40,
        "flags": ["one_sided_them"],
        "last_interaction": when,
    }
    buffer = io.StringIO()
    # When the table is printed
    output.ties_table(Console(file=buffer, width=160, emoji=False), [tie])
    text = buffer.getvalue()
    # Then the flag is a phrase, the date is relative, and balance is explained
    assert "one-sided: they reach out" in text and "one_sided_them" not in text
    assert "3 days ago" in text and "+100 when you do" in text
