"""A mailbox whose mail ended long ago (an old export) is scored as of its last mail, and
every surface says so: the CLI, the API (`notice` on a ties page, `mail` on /v1/me), the
dashboard (notice and an as-of date control) and the digest.

Before: a mailbox ending in August 2000 scored "as of today" gave every tie strength 0,
tier fading, sorted alphabetically.
"""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient

from service import digest, store
from service.api.app import create_app
from service.imports import import_file
from service.ties import horizon
from service.ties.scoring import score_user
from service.ties.snapshots import latest_as_of, list_ties

from tests.support.api import auth_header, seed_user
from tests.conftest import ENRON
from tests.support.old_mail import LAST, ME, write_old_mbox

ORIGIN = "http://testserver"


def _imported(database, tmp_path) -> int:
    path = tmp_path / "badeer.mbox"
    write_old_mbox(path)
    with database.tx() as conn:
        user_id = store.create_user(conn, ME, "Robert Badeer")
    import_file(database, user_id, "mbox", path, addresses=[ME])
    return user_id


def test_the_rule_scores_as_of_the_midnight_after_the_newest_mail_once_it_is_90_days_old():
    # Given mail whose newest item is 14 August 2000, seen from 2026 and from the next day
    now = datetime(2026, 12, 6, tzinfo=timezone.utc)
    ended = horizon.Horizon(LAST, now)
    fresh = horizon.Horizon(LAST, datetime(2000, 9, 1, tzinfo=timezone.utc))
    # Then from 2026 the mail has ended and scoring is as of 15 August 2000, 00:00 UTC
    assert ended.ended and ended.as_of == datetime(2000, 8, 15, tzinfo=timezone.utc)
    assert "14 August 2000" in ended.notice() and "26 years ago" in ended.notice()
    # And 18 days later it has not: scored as of now, and nothing to say
    assert not fresh.ended and fresh.as_of == fresh.now and fresh.notice() is None
    # And a user without any mail is scored now, without a notice
    assert horizon.Horizon(None, now).as_of == now and horizon.Horizon(None, now).notice() is None


def test_an_old_mailbox_gets_ranked_ties_scored_as_of_its_last_mail(database, tmp_path):
    # Given a mailbox that ended in August 2000, imported and scored without a date
    user_id = _imported(database, tmp_path)
    ties = score_user(database, user_id)
    # Then the snapshot is as of the midnight after the last mail, not today
    with database.tx() as conn:
        assert latest_as_of(conn, user_id) == datetime(2000, 8, 15, tzinfo=timezone.utc)
        assert list_ties(conn, user_id) == ties
    # And the ties are ranked by strength (Zed, weekly, first), not all zero and alphabetical
    names = [t["name"] for t in ties]
    assert names[0] == "Zed Young" and names != sorted(names)
    assert ties[0]["strength"] > ties[-1]["strength"] and ties[0]["strength"] > 20
    assert ties[0]["tier"] != "fading" and "dormant" not in ties[0]["flags"]


def test_scoring_again_replaces_snapshots_taken_past_the_end(database, tmp_path):
    # Given an old mailbox once scored "as of today" (all silence), as before the rule
    user_id = _imported(database, tmp_path)
    today = datetime.now(timezone.utc).replace(microsecond=0)
    stale = score_user(database, user_id, today)
    assert all(t["strength"] < 5 for t in stale)
    # When it is scored without a date
    score_user(database, user_id)
    # Then the silent snapshot is gone and the latest one is as of the end of the mail
    with database.tx() as conn:
        assert latest_as_of(conn, user_id) == datetime(2000, 8, 15, tzinfo=timezone.utc)
        n = conn.execute("SELECT count(DISTINCT as_of) FROM score_snapshots WHERE user_id = %s", (user_id,))
        assert n.fetchone()[0] == 1


def test_the_api_and_dashboard_say_so_and_offer_a_date(settings, database, tmp_path):
    app = create_app(settings)
    with TestClient(app) as client:
        db = client.app.state.db
        user_id = _imported(db, tmp_path)
        score_user(db, user_id)
        with db.tx() as conn:
            from service.auth import create_token

            token = create_token(conn, user_id)
        other = seed_user(db, "ben@south.example")  # mail up to now: nothing to say
        # When the ties and the profile are read through the API
        page = client.get("/v1/ties", headers=auth_header(token)).json()
        me = client.get("/v1/me", headers=auth_header(token)).json()
        # Then the page carries the notice and is as of the end of the mail
        assert page["as_of"].startswith("2000-08-15") and "14 August 2000" in page["notice"]
        assert page["items"][0]["name"] == "Zed Young"
        assert me["mail"]["ended"] is True and me["mail"]["scored_as_of"].startswith("2000-08-15")
        assert me["mail"]["latest"].startswith("2000-08-14") and me["mail"]["address_warning"] is None
        # And another user's answers say nothing of it
        assert client.get("/v1/ties", headers=auth_header(other.token)).json()["notice"] is None
        assert client.get("/v1/me", headers=auth_header(other.token)).json()["mail"]["ended"] is False
        # When the dashboard is opened
        client.post("/signin", data={"token": token}, headers={"origin": ORIGIN}, follow_redirects=False)
        home = client.get("/").text
        # Then it shows the notice and a date control set to the end of the mail
        assert "14 August 2000" in home and 'type="date"' in home and 'value="2000-08-15"' in home
        # And picking a date shows the ties as they stood then
        then = client.get("/", params={"as_of": "2000-03-01"})
        assert then.status_code == 200 and "Strongest ties as of 1 March 2000" in then.text
        assert "Zed Young" in then.text
        # And a date that cannot be read is said so, not a 500
        bad = client.get("/", params={"as_of": "not-a-date"})
        assert bad.status_code == 200 and "could not be read" in bad.text
        # And another user's dashboard, even asked for a date, shows none of this user's ties
        client.post("/signin", data={"token": other.token}, headers={"origin": ORIGIN}, follow_redirects=False)
        theirs = client.get("/", params={"as_of": "2000-03-01"}).text
        assert "14 August 2000" not in theirs and "Zed Young" not in theirs
        assert "Strongest ties as of 1 March 2000" in theirs and "No ties yet on that date" in theirs


def test_the_digest_says_so(settings, database, tmp_path):
    user_id = _imported(database, tmp_path)
    score_user(database, user_id)
    with database.tx() as conn:
        html = digest.render_preview(settings, conn, user_id)
    assert "14 August 2000" in html and "scored your ties as of that day" in html


@pytest.mark.slow
@pytest.mark.skipif(not ENRON.exists(), reason="../shared/data/enron-igraph is not beside the repo")
def test_a_real_enron_mailbox_is_ranked_as_of_its_end(database, tmp_path):
    from ingest.sandbox.enron import employee_mbox, load_people

    # Given one Enron employee's mail (it ends in 2002), imported and scored without a date
    employee = 107  # Louise Kitchen
    path = tmp_path / "kitchen.mbox"
    employee_mbox(ENRON, employee, path)
    me = load_people(ENRON)[employee].address
    with database.tx() as conn:
        user_id = store.create_user(conn, me, "Louise Kitchen")
    import_file(database, user_id, "mbox", path, addresses=[me])
    ties = score_user(database, user_id)
    # Then the ties are scored as of the end of her mail, ranked, and not all fading
    with database.tx() as conn:
        seen = horizon.horizon(conn, user_id)
        assert seen.ended and latest_as_of(conn, user_id) == seen.as_of and seen.as_of.year < 2005
    strengths = [t["strength"] for t in ties]
    assert strengths == sorted(strengths, reverse=True) and strengths[0] >= 50
    assert sum(t["tier"] != "fading" for t in ties) >= 10
