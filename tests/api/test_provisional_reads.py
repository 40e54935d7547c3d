"""Provisional scores as readers see them: the sentence and the time left (service.coverage),
the `coverage` field of GET /v1/ties and GET /v1/coverage (each user's own only), the
dashboard's partial, `kith ties`, and no digest while the scores are provisional."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service import coverage, digest
from service.api.app import create_app
from service.dashboard.pages import env
from service.store import create_user, ensure_account

from tests.support.api import AS_OF, auth_header, seed_user
from tests.support.digest import Sink, seed_user as seed_digest_user, start_smtp

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=timezone.utc)
MARCH = datetime(2025, 3, 10, 8, 0, tzinfo=timezone.utc)


def backfilling(conn, user_id: int, provider: str, rows: list[tuple]) -> int:
    """An account whose first sync is under way: sync_state rows (resource, state, covered
    since, items seen, items total, started)."""
    account_id = ensure_account(conn, user_id, provider, f"{provider}-{user_id}@example.org")
    for resource, state, since, seen, total, started in rows:
        conn.execute(
            "INSERT INTO sync_state (account_id, resource, cursor, state, items_seen, items_total, covered_since,"
            " backfill_started_at) VALUES (%s, %s, 'c', %s, %s, %s, %s, %s)",
            (account_id, resource, state, seen, total, since, started),
        )
    return account_id


def arriving_and_done(database) -> tuple[int, int]:
    """Two users: one whose Gmail first sync is whole since March 2025, one whose is done."""
    with database.tx() as conn:
        arriving = create_user(conn, "ivy@example.org")
        backfilling(conn, arriving, "google", [("gmail", "initial", MARCH, 4_400, 140_000, None)])
        done = create_user(conn, "jon@example.org")
        backfilling(conn, done, "google", [("gmail", "incremental", None, 140_000, 140_000, None)])
        conn.execute("UPDATE accounts SET last_synced_at = %s WHERE user_id = %s", (NOW, done))
    return arriving, done


def test_the_sentence_says_since_when_and_how_long_the_rest_takes(database):
    # Given a Gmail first sync whole since March 2025, 135,600 messages still to read at the
    # quota's ~56.5 messages a second (40 minutes), and its calendar done
    with database.tx() as conn:
        uid = create_user(conn, "ana@example.org")
        backfilling(
            conn,
            uid,
            "google",
            [
                ("gmail", "initial", MARCH, 4_400, 140_000, None),
                ("calendar:primary", "incremental", None, 90, 90, None),
            ],
        )
        # When the coverage is read
        live = coverage.live(conn, uid, NOW)
    # Then it is provisional, since March 2025, with about 40 minutes left
    assert live.provisional and live.since == MARCH
    assert live.note() == "based on mail since March 2025; older mail still arriving, about 40 minutes left"
    assert live.as_json() == {
        "provisional": True,
        "since": "2025-03-10T08:00:00Z",
        "minutes_left": 40,
        "note": live.note(),
    }
    assert coverage.recent_enough(live, NOW)


def test_a_provisional_scoring_tells_the_model_where_the_mail_starts(database, monkeypatch):
    # Given one user whose Gmail first sync is whole since March 2025 and one whose is done
    import analytics
    from service.ties.scoring import compute_ties

    arriving, done = arriving_and_done(database)
    told: dict[int, object] = {}
    real = analytics.score_ties

    def spy(exchanges, as_of, **kwargs):
        told[len(told)] = kwargs.get("since")
        return real(exchanges, as_of, **kwargs)

    monkeypatch.setattr(analytics, "score_ties", spy)
    # When each is scored
    with database.tx() as conn:
        compute_ties(conn, arriving, NOW)
        compute_ties(conn, done, NOW)
    # Then the model learns from no snapshot before March 2025 for the first (training.py),
    # and from the whole history for the second
    assert told == {0: MARCH, 1: None}


def test_the_accuracy_check_judges_the_provisional_calls_while_older_mail_arrives(database, monkeypatch):
    # Given one user whose Gmail first sync is whole since March 2025 and one whose is done
    import analytics.evidence
    from service.ties.evidence import accuracy

    arriving, done = arriving_and_done(database)
    told: list[object] = []
    real = analytics.evidence.measure

    def spy(past, later, as_of, until, **kwargs):
        told.append(kwargs.get("since"))
        return real(past, later, as_of, until, **kwargs)

    monkeypatch.setattr(analytics.evidence, "measure", spy)
    # When "how right Kith has been" is measured for each
    with database.tx() as conn:
        first = accuracy(conn, arriving, NOW)
        accuracy(conn, done, NOW)
    # Then the first is judged on the calls a provisional scoring made (whole since March
    # 2025), the second on the whole history
    assert told == [MARCH.timestamp(), None]
    assert first.verdict == "short_history"  # no mail stored at all


def test_graph_coverage_waits_for_every_folder_and_uses_the_observed_rate(database):
    # Given a Graph first sync that has read its sent items whole and begun the inbox without
    # a mark yet, 3,000 messages in 60 s so far
    started = NOW - timedelta(seconds=60)
    with database.tx() as conn:
        uid = create_user(conn, "ben@example.org")
        backfilling(
            conn,
            uid,
            "microsoft",
            [
                ("mail:sentitems", "incremental", None, 2_000, 2_000, started),
                ("mail:inbox", "initial", None, 1_000, 7_000, started),
            ],
        )
        live = coverage.live(conn, uid, NOW)
    # Then nothing is whole yet (the inbox has no mark), and 6,000 left at 1,000 a minute
    assert live.provisional and live.since is None and not coverage.recent_enough(live, NOW)
    assert live.note() == "based on the newest mail read so far; older mail still arriving, about 6 minutes left"


def test_revoked_finished_or_file_accounts_are_not_arriving(database):
    # Given a revoked first sync, a finished one and an mbox import
    with database.tx() as conn:
        uid = create_user(conn, "cy@example.org")
        revoked = backfilling(conn, uid, "google", [("gmail", "initial", MARCH, 10, 100, None)])
        conn.execute("UPDATE accounts SET status = 'auth_revoked' WHERE id = %s", (revoked,))
        done = backfilling(conn, uid, "microsoft", [("mail:inbox", "incremental", None, 5, 5, None)])
        conn.execute("UPDATE accounts SET last_synced_at = now(), status = 'incremental' WHERE id = %s", (done,))
        backfilling(conn, uid, "mbox", [("mbox", "initial", None, 10, 100, None)])
        # Then the scores would be final
        assert coverage.live(conn, uid, NOW) == coverage.FINAL


# --- the API ------------------------------------------------------------------------------------


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as client:
        yield client


def test_tie_list_and_coverage_route_tell_each_user_their_own(client):
    # Given Ana, whose latest scores were made during her first sync (mail whole since March
    # 2025), and Ben, whose latest scores are final (his account finished its first sync)
    db = client.app.state.db
    ana, ben = seed_user(db, "ana@north.example"), seed_user(db, "ben@south.example")
    with db.tx() as conn:
        conn.execute(
            "INSERT INTO score_coverage (user_id, as_of, covered_since) VALUES (%s, %s, %s)",
            (ana.user_id, AS_OF, MARCH),
        )
        conn.execute("UPDATE accounts SET last_synced_at = now() WHERE user_id = %s", (ben.user_id,))
    # When each reads the tie list (twice: the second page comes from the page cache)
    for _ in range(2):
        mine = client.get("/v1/ties?limit=2", headers=auth_header(ana.token)).json()
        his = client.get("/v1/ties?limit=2", headers=auth_header(ben.token)).json()
        # Then Ana's is provisional since March 2025 and Ben's is final
        assert mine["coverage"]["provisional"] and mine["coverage"]["since"] == "2025-03-10T08:00:00Z"
        assert mine["coverage"]["note"].startswith("based on mail since March 2025; older mail still arriving")
        assert his["coverage"] == {"provisional": False, "since": None, "minutes_left": None, "note": None}
        assert len(mine["items"]) == 2 and {t["contact"] for t in his["items"]}.isdisjoint(
            {t["contact"] for t in mine["items"]}
        )
    # When each asks for their coverage
    ana_state = client.get("/v1/coverage", headers=auth_header(ana.token))
    ben_state = client.get("/v1/coverage", headers=auth_header(ben.token))
    # Then each sees their own: Ana's scores provisional, her mail still arriving; Ben's final
    assert ana_state.status_code == 200 and ana_state.json()["scores"]["since"] == "2025-03-10T08:00:00Z"
    assert ana_state.json()["mail"]["provisional"]
    assert ben_state.json() == {
        "scores": {"provisional": False, "since": None, "minutes_left": None, "note": None},
        "mail": {"provisional": False, "since": None, "minutes_left": None, "note": None},
    }
    # And without a token, nothing
    assert client.get("/v1/coverage").status_code == 401
    # ... and no other user's by asking: an unknown parameter is refused
    assert client.get("/v1/coverage?user=1", headers=auth_header(ben.token)).status_code == 422


# --- the dashboard and the CLI ------------------------------------------------------------------


def test_the_dashboard_partial_shows_the_sentence_escaped_and_nothing_when_final():
    # Given the home page's template and its coverage partial
    page = env.get_template("partials/coverage.html.j2")
    base: dict = {}
    # When it renders provisional scores (with markup in the sentence) and final ones
    shown = page.render(**base, coverage_note="based on mail since March 2025 <b>")
    final = page.render(**base, coverage_note=None)
    # Then the sentence is there, escaped, and absent for final scores
    assert "Provisional scores:" in shown and "based on mail since March 2025 &lt;b&gt;." in shown
    assert "Provisional scores:" not in final


def test_kith_ties_says_the_scores_are_provisional_on_stderr(settings, database, monkeypatch):
    # Given a user scored during a first sync
    from service.cli import app as cli_app

    with database.tx() as conn:
        uid = create_user(conn, "dee@example.org")
        backfilling(conn, uid, "google", [("gmail", "initial", MARCH, 4_400, 140_000, None)])
        conn.execute(
            "INSERT INTO score_coverage (user_id, as_of, covered_since) VALUES (%s, %s, %s)", (uid, AS_OF, MARCH)
        )
    for key, value in {"KITH_DATABASE_URL": settings.database_url, "KITH_HOME": str(settings.home)}.items():
        monkeypatch.setenv(key, value)
    # When `kith ties --json` runs (no snapshot rows: the ties are computed)
    result = CliRunner().invoke(cli_app, ["ties", "--user", "dee@example.org", "--json"])
    # Then stdout is the JSON document alone and the note is on stderr
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == "[]"
    assert "Provisional: based on mail since March 2025; older mail still arriving" in result.stderr


# --- the digest ---------------------------------------------------------------------------------


@pytest.fixture
def sink():
    handler = Sink()
    controller = start_smtp(handler)
    handler.url = f"smtp://127.0.0.1:{controller.port}"
    yield handler
    controller.stop()


def test_no_digest_is_sent_on_provisional_scores(settings, database, sink):
    # Given a user with scores whose Google account's first sync is still reading older mail
    now = datetime.now(timezone.utc)
    with database.tx() as conn:
        uid = seed_digest_user(conn, "eve@example.org", now)
        account = backfilling(conn, uid, "google", [("gmail", "initial", now - timedelta(days=200), 10, 90, None)])
    cfg = settings.model_copy(update={"smtp_url": sink.url})
    # When the digest is due, or asked for by hand
    # Then nothing is sent, and the week stays open (no outbox row)
    assert digest.send_digest(cfg, database, uid) == "provisional"
    assert digest.send_digest(cfg, database, uid, force=True) == "provisional"
    with database.tx() as conn:
        assert conn.execute("SELECT count(*) FROM outbox WHERE user_id = %s", (uid,)).fetchone()[0] == 0
    assert sink.delivered_to("eve@example.org") == []
    # When the first sync has finished, the same week's digest goes out
    with database.tx() as conn:
        conn.execute("UPDATE accounts SET last_synced_at = now(), status = 'incremental' WHERE id = %s", (account,))
    assert digest.send_digest(cfg, database, uid) == "sent"
    assert len(sink.delivered_to("eve@example.org")) == 1
