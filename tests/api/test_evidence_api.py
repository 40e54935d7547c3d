"""How right Kith has been, as the user sees it: GET /v1/insight/accuracy, the dashboard's
panel and `kith backtest`, on a real database; another user's data never reaches an answer."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient

from analytics.evidence import measure
from service import auth
from service.api.app import create_app
from tests.support.analytics import AS_OF, T_END
from tests.support.api import auth_header
from tests.support.cli import kith_env, run_kith
from tests.support.evidence import CALLS, history, write_history

URL = "/v1/insight/accuracy"
ORIGIN = "http://testserver"


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as client:
        yield client


def token_for(db, user_id: int) -> str:
    with db.tx() as conn:
        return auth.create_token(conn, user_id)


def other_history() -> list:
    """Another user's mail: only five ties, so their answer is "too few ties"."""
    return [x for x in history(seed=3) if {x.sender, *x.recipients} <= {0, 1, 2, 3, 4, 5}]


def test_accuracy_answers_with_the_users_own_calls_and_words(client):
    db = client.app.state.db
    # Given Ana's history, and Ben's (another user's) beside it
    ana = write_history(db, "ana@north.example", history())
    ben = write_history(db, "ben@south.example", other_history(), domain="south.example")
    # When Ana asks how right Kith has been as of 1 June 2026
    body = client.get(URL, params={"as_of": "2026-06-01"}, headers=auth_header(token_for(db, ana))).json()
    # Then the answer is Kith's calls of 3 March 2026 checked since, as the pure measure gives them
    expected = measure(history(), history(), CALLS, T_END)
    assert body["as_of"] == "2026-06-01T00:00:00Z" and body["calls_as_of"] == "2026-03-03T00:00:00Z"
    assert body["verdict"] == "ok" and body["enough_history"] is True and body["ties_scored"] == 20
    assert body["summary"] == list(expected.sentences)
    assert expected.strong is not None and expected.strong_recency is not None
    assert body["strong"]["called"] == expected.called_strong
    assert body["strong"]["kith"] == {
        "ties": expected.strong.ties,
        "in_touch": expected.strong.hits,
        "share": round(expected.strong.share, 3),
        "expected": round(expected.strong.expected, 1),
    }
    assert body["strong"]["recency"].get("expected") is None  # the plain list gives no chance
    assert body["strong"]["recency"]["in_touch"] == expected.strong_recency.hits
    # And Ben gets his own answer: too few ties, none of Ana's numbers
    other = client.get(URL, params={"as_of": "2026-06-01"}, headers=auth_header(token_for(db, ben))).json()
    assert other["verdict"] == "few_ties" and other["ties_scored"] == 5 and other["strong"]["kith"] is None
    assert other["summary"] == [
        "Too few ties: only 5 ties had mail before 3 March 2026; Kith needs at least 10 to say how right it has been."
    ]


def test_another_users_mail_never_reaches_an_answer(client):
    db = client.app.state.db
    # Given Ben has no mail at all and Ana has a full history
    with db.tx() as conn:
        from service import store

        ben = store.create_user(conn, "ben@south.example")
    write_history(db, "ana@north.example", history())
    # When Ben asks
    body = client.get(URL, params={"as_of": "2026-06-01"}, headers=auth_header(token_for(db, ben))).json()
    # Then he hears there is nothing of his to judge from, and nothing of Ana's
    assert body["verdict"] == "short_history" and body["ties_scored"] == 0
    assert body["summary"] == ["There is no mail before 3 March 2026 to judge Kith's calls from."]


def test_accuracy_needs_a_token_and_refuses_bad_input(client):
    assert client.get(URL).status_code == 401
    db = client.app.state.db
    user = write_history(db, "ana@north.example", history()[:10])
    headers = auth_header(token_for(db, user))
    for params in ({"as_of": "yesterday"}, {"as_of": "0001-01-01"}, {"asof": "2026-06-01"}):
        response = client.get(URL, params=params, headers=headers)
        assert response.status_code == 422, params
        assert response.json()["message"]


def test_the_dashboard_shows_the_panel_with_the_users_numbers(client):
    db = client.app.state.db
    # Given Ana's history moved to end today, and a signed-in dashboard
    shift = datetime.now(timezone.utc).timestamp() - T_END
    user = write_history(db, "ana@north.example", [replace(x, at=x.at + shift) for x in history()])
    ben = write_history(db, "ben@south.example", other_history(), domain="south.example")
    response = client.post("/signin", data={"token": token_for(db, user)}, headers={"origin": ORIGIN})
    assert response.status_code == 200
    page = client.get("/").text
    # Then the panel is there with the strong claim checked against a plain list
    assert "How right Kith has been on your mail" in page
    assert "ties Kith called strong on" in page and "A plain most-recent-first list got" in page
    assert "Strong ties you were in touch with since" in page
    # And Ben's page says his own "too few ties"
    client.cookies.clear()
    client.post("/signin", data={"token": token_for(db, ben)}, headers={"origin": ORIGIN})
    page = client.get("/").text
    assert "Too few ties: only 5 ties had mail before" in page
    assert "A plain most-recent-first list got" not in page


@pytest.fixture
def kith(settings, tmp_path):
    # In this process (tests/support/cli.py): a `kith backtest` subprocess spends 2-3 s of CPU
    # importing scikit-learn and SciPy.
    env = kith_env(settings.database_url, settings.redis_url, str(tmp_path / "home"), "cli-test-key")

    def run(*args: str) -> subprocess.CompletedProcess:
        return run_kith(env, *args)

    return run


def test_kith_backtest_prints_the_same_sentences_and_json(kith, database):
    write_history(database, "ana@north.example", history())
    expected = measure(history(), history(), CALLS, T_END)
    # When the user asks on the command line, as of 1 June 2026
    proc = kith("backtest", "--user", "ana@north.example", "--as-of", AS_OF.date().isoformat())
    assert proc.returncode == 0, proc.stderr
    # Then it prints the heading and the sentences, plainly
    lines = proc.stdout.strip().splitlines()
    assert lines[0] == "How right Kith has been on your mail"
    assert " ".join(lines[1:]).split() == " ".join(expected.sentences).split()
    # And --json prints the API's document
    doc = json.loads(kith("backtest", "--user", "ana@north.example", "--as-of", "2026-06-01", "--json").stdout)
    assert doc["summary"] == list(expected.sentences) and doc["calls_as_of"] == "2026-03-03T00:00:00Z"
    # And an unknown user or a bad date is a clear error, not a traceback
    for args in (["--user", "nobody@north.example"], ["--user", "ana@north.example", "--as-of", "soon"]):
        bad = kith("backtest", *args)
        assert bad.returncode != 0 and "Traceback" not in bad.stderr and "error" in bad.stderr.lower()


def test_the_panel_is_measured_when_scoring_and_a_page_load_only_reads_it(database, monkeypatch):
    from service.ties import evidence
    from service.ties.scoring import score_user

    # Given Ana's history scored as of 1 June 2026
    user = write_history(database, "ana@north.example", history())
    score_user(database, user, AS_OF)
    # Then the check as of that scoring is kept with it
    with database.tx() as conn:
        kept = conn.execute("SELECT scored_at, payload FROM accuracy_checks WHERE user_id = %s", (user,)).fetchall()
    assert [k[0] for k in kept] == [AS_OF]
    assert kept[0][1]["as_of"] == "2026-06-01T00:00:00Z" and kept[0][1]["verdict"] == "ok"
    assert kept[0][1]["summary"] == list(measure(history(), history(), CALLS, T_END).sentences)

    # When the panel is asked for, with measuring made impossible
    def no_measuring(*args, **kwargs):
        raise AssertionError("a page load measured the panel again")

    monkeypatch.setattr(evidence, "accuracy", no_measuring)
    with database.tx() as conn:
        shown = evidence.panel(conn, user, AS_OF)
    # Then it is the kept check
    assert shown == kept[0][1]


def test_a_scoring_with_no_kept_check_is_measured_once_per_process(database):
    from service.ties import evidence
    from service.ties.scoring import score_user

    # Given Ana's history scored as of 1 June 2026, its kept check gone (a scoring written
    # before checks were kept)
    user = write_history(database, "ana@north.example", history())
    score_user(database, user, AS_OF)
    with database.tx() as conn:
        conn.execute("DELETE FROM accuracy_checks WHERE user_id = %s", (user,))
    with database.tx() as conn:
        # When the panel is asked for twice for that scoring
        first = evidence.panel(conn, user, AS_OF)
        again = evidence.panel(conn, user, AS_OF)
        # Then it is the check as of that scoring, computed once, and the read wrote nothing
        assert conn.execute("SELECT count(*) FROM accuracy_checks WHERE user_id = %s", (user,)).fetchone()[0] == 0
    assert first["as_of"] == "2026-06-01T00:00:00Z" and first["verdict"] == "ok"
    assert again is first
    assert first["summary"] == list(measure(history(), history(), CALLS, T_END).sentences)


def test_a_check_goes_with_its_scoring(database):
    from service.ties import evidence
    from service.ties.scoring import score_user

    # Given Ana scored as of 1 June 2026 and again a week later
    user = write_history(database, "ana@north.example", history())
    score_user(database, user, AS_OF)
    later = AS_OF.replace(day=8)
    score_user(database, user, later)
    with database.tx() as conn:
        # When the earlier scoring's snapshot is removed and a check is recorded again
        conn.execute("DELETE FROM score_snapshots WHERE user_id = %s AND as_of = %s", (user, AS_OF))
        evidence.record(conn, user, later)
        kept = [r[0] for r in conn.execute("SELECT scored_at FROM accuracy_checks WHERE user_id = %s", (user,))]
    # Then only the check of the scoring still kept remains
    assert kept == [later]
