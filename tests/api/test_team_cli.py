"""`kith team ...` end to end, in this process (typer's runner): create, invite, join,
share, who-knows, ask, answer, leave; refusals are one plain line, not a traceback."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from service import db as kdb
from tests.support.team import mate


@pytest.fixture
def kith(settings, tmp_path, monkeypatch):
    # In process (typer's runner), through `main`'s error handling: a subprocess per
    # command would spend most of the test importing.
    from service import cli

    monkeypatch.setenv("KITH_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("KITH_REDIS_URL", settings.redis_url)
    monkeypatch.setenv("KITH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KITH_SECRET_KEY", "cli-test-key")
    runner = CliRunner()

    def run(*args, ok=True):
        result = runner.invoke(cli.app, ["team", *args], catch_exceptions=True)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            from ingest.errors import KithError

            # `main` prints a KithError as one line; the runner hands it back raw.
            assert isinstance(result.exception, KithError), repr(result.exception)
            result.stderr_text = str(result.exception)
        else:
            result.stderr_text = result.stderr
        assert (result.exit_code == 0) == ok, (result.exit_code, result.stderr_text, result.exception)
        return result

    return run


def test_team_commands_end_to_end(kith, settings):
    # Given two users with snapshots that share acme.example
    db = kdb.Database(settings.database_url, min_size=1, max_size=2)
    try:
        mate(db, "ana@home.example", "Ana Ruiz", [("lee@acme.example", 65, "2026-10-02T10:00:00Z", True)])
        mate(db, "bo@home.example", "Bo Chen", [("lee@acme.example", 98, "2026-11-20T10:00:00Z", True)])
    finally:
        db.close()
    # When Ana creates a team and invites Bo, who joins and shares, as does Ana
    team = kith("create", "Sales", "--user", "ana@home.example").stdout.strip()
    token = kith("invite", team, "bo@home.example", "--user", "ana@home.example").stdout.strip()
    assert "not valid" in kith("join", token + "x", "--user", "bo@home.example", ok=False).stderr_text
    kith("join", token, "--user", "bo@home.example")
    assert "sharing on: 1 ties shared" in kith("share", team, "--user", "bo@home.example").stderr_text
    kith("share", team, "--user", "ana@home.example")
    # Then who-knows answers in JSON with band and month only, Bo first
    found = json.loads(kith("who-knows", team, "acme.example", "--user", "ana@home.example", "--json").stdout)
    assert [(k["member"]["name"], k["band"], k["month"]) for k in found["known_by"]] == [
        ("Bo Chen", "strong", "2026-11"),
        ("Ana Ruiz", "medium", "2026-10"),
    ]
    bo_id = found["known_by"][0]["member"]["user_id"]
    # And in plain text for a person reading it
    text = kith("who-knows", team, "lee@acme.example", "--user", "ana@home.example").stdout
    assert "Bo Chen: strong, last two-way contact 2026-11" in text
    # When Ana asks Bo for an introduction and Bo accepts, Bo gets the draft to send himself
    kith("ask", team, str(bo_id), "lee@acme.example", "--note", "pilot", "--user", "ana@home.example")
    intros = json.loads(kith("intros", team, "--user", "bo@home.example", "--json").stdout)
    request = intros["asked_of_me"][0]["id"]
    done = kith("answer", team, str(request), "accept", "--user", "bo@home.example")
    assert "To: lee@acme.example" in done.stdout and "Kith sends nothing" in done.stderr_text
    # When Bo leaves, Ana's answer no longer names him; a stranger is refused plainly
    kith("leave", team, "--user", "bo@home.example")
    found = json.loads(kith("who-knows", team, "acme.example", "--user", "ana@home.example", "--json").stdout)
    assert [k["member"]["name"] for k in found["known_by"]] == ["Ana Ruiz"]
    refused = kith("risk", team, "--user", "bo@home.example", ok=False)
    assert f"No team {team}" in refused.stderr_text and "Traceback" not in refused.stderr_text


def test_who_knows_a_person_of_your_own_book(kith, settings):
    # Given Ana and Bo sharing in a team, each with lee@acme.example in their own book
    db = kdb.Database(settings.database_url, min_size=1, max_size=2)
    try:
        ana = mate(db, "ana@home.example", "Ana Ruiz", [("lee@acme.example", 65, "2026-10-02T10:00:00Z", True)])
        bo = mate(db, "bo@home.example", "Bo Chen", [("lee@acme.example", 98, "2026-11-20T10:00:00Z", True)])
        with db.tx() as conn:
            mine, his = (
                conn.execute(
                    "SELECT person_id FROM person_addresses WHERE user_id = %s AND address = 'lee@acme.example'",
                    (m.user_id,),
                ).fetchone()[0]
                for m in (ana, bo)
            )
    finally:
        db.close()
    team = kith("create", "Sales", "--user", "ana@home.example").stdout.strip()
    token = kith("invite", team, "bo@home.example", "--user", "ana@home.example").stdout.strip()
    kith("join", token, "--user", "bo@home.example")
    kith("share", team, "--user", "bo@home.example")
    kith("share", team, "--user", "ana@home.example")
    # When Ana asks by the id of her own person (as `kith ties --json` gives it)
    found = json.loads(kith("who-knows", team, "--person", str(mine), "--user", "ana@home.example", "--json").stdout)
    # Then the answer is the one for that person's addresses: Bo first, band and month only
    assert found["kind"] == "person" and found["value"] == str(mine)
    assert [(k["member"]["name"], k["band"], k["month"]) for k in found["known_by"]] == [
        ("Bo Chen", "strong", "2026-11"),
        ("Ana Ruiz", "medium", "2026-10"),
    ]
    for k in found["known_by"]:
        assert set(k) == {"member", "band", "month"}
    text = kith("who-knows", team, "--person", str(mine), "--user", "ana@home.example").stdout
    assert text.splitlines()[0] == "Bo Chen: strong, last two-way contact 2026-11"
    # And Bo's person id is not in Ana's book: refused plainly, nothing of Bo's is named
    refused = kith("who-knows", team, "--person", str(his), "--user", "ana@home.example", ok=False)
    assert refused.stderr_text == f"No person {his}." and "lee" not in refused.stderr_text
    # Exactly one of a query and --person
    both = kith("who-knows", team, "acme.example", "--person", str(mine), "--user", "ana@home.example", ok=False)
    assert "exactly one" in both.stderr_text
    assert "exactly one" in kith("who-knows", team, "--user", "ana@home.example", ok=False).stderr_text


@pytest.mark.parametrize("command", ["who-knows", "org"])
def test_the_help_of_commands_that_show_bands_says_what_a_band_means(kith, command):
    from service.teams.ranking import BAND_MEANING

    assert " ".join(BAND_MEANING.split()) in " ".join(kith(command, "--help").stdout.split())
