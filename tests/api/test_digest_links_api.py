"""The signed links of the digest, served: one-click unsubscribe and snooze a tie."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from service.digest import links
from service.digest.web import router
from tests.support.digest import seed_user


@pytest.fixture
def client(settings, database):
    app = FastAPI()
    app.state.db, app.state.settings = database, settings
    app.include_router(router)
    with TestClient(app) as c:
        yield c


def _path(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}"


def test_one_click_unsubscribe(client, settings, database):
    with database.tx() as conn:
        uid = seed_user(conn, "u@example.org", datetime.now(timezone.utc))
    url = links.unsubscribe_url(settings.base_url, settings.secret(), uid)
    # A GET (a mail scanner, a link preview) changes nothing
    assert client.get(_path(url)).status_code == 200
    with database.tx() as conn:
        assert conn.execute("SELECT enabled FROM digest_settings WHERE user_id = %s", (uid,)).fetchone()[0]
    # The RFC 8058 POST with body List-Unsubscribe=One-Click does
    r = client.post(
        _path(url), content="List-Unsubscribe=One-Click", headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert r.status_code == 200
    with database.tx() as conn:
        assert not conn.execute("SELECT enabled FROM digest_settings WHERE user_id = %s", (uid,)).fetchone()[0]
    # A forged link for another user is refused
    other = _path(url).replace(f"u={uid}", f"u={uid + 1}")
    assert client.post(other).status_code == 403


def test_snooze_link(client, settings, database):
    with database.tx() as conn:
        uid = seed_user(conn, "s@example.org", datetime.now(timezone.utc))
        pid = conn.execute("SELECT id FROM people WHERE user_id = %s ORDER BY id LIMIT 1", (uid,)).fetchone()[0]
    until = date.today() + timedelta(weeks=4)
    url = links.snooze_url(settings.base_url, settings.secret(), uid, pid, until)
    assert "Snooze" in client.get(_path(url)).text
    for _ in range(2):  # twice: still one snooze
        assert client.post(_path(url)).status_code == 200
    with database.tx() as conn:
        rows = conn.execute(
            "SELECT kind, until FROM feedback WHERE user_id = %s AND person_id = %s", (uid, pid)
        ).fetchall()
    assert rows == [("snooze", until)]
    # Tampering with the date or the person is refused
    q = parse_qs(urlsplit(url).query)
    later = (until + timedelta(days=30)).isoformat()
    assert client.post(f"{links.SNOOZE_PATH}?u={uid}&p={pid}&until={later}&t={q['t'][0]}").status_code == 403
    assert client.post(f"{links.SNOOZE_PATH}?u={uid}&p={pid + 1}&until={until}&t={q['t'][0]}").status_code == 403
