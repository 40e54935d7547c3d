"""Uploading an mbox or .ics file, from the dashboard (session and CSRF) and the API (bearer):
the file is kept under the data directory, imported like `kith import`, followed through its
status, and a failed import leaves no account behind. Each user sees only their own uploads."""

from __future__ import annotations

from tests.support.api import auth_header, seed_user
from tests.api.test_api import app, ben, client
from tests.api.test_web_security import ORIGIN, csrf_of, sign_in


def mbox(n: int, me: str) -> bytes:
    parts = []
    for k in range(n):
        parts.append(
            f"From 1683{k:015d}@xxx Wed Nov 25 10:00:00 +0000 2026\n"
            f"From: Zoë Ortiz <zoe{k % 3}@west.example>\nTo: {me}\n"
            f"Date: Mon, 02 Nov 2026 10:{k:02d}:00 +0000\nMessage-ID: <u{k}@west.example>\n"
            f"Subject: hello {k}\n\nNot kept.\n"
        )
    return "".join(parts).encode()


def _count(client, sql: str, *args) -> int:
    with client.app.state.db.tx() as conn:
        return conn.execute(sql, args).fetchone()[0]


def test_a_dashboard_upload_is_imported_followed_and_scored(client, settings):
    """Given a signed-in user, when the upload form sends a 12-message mbox with the page's
    CSRF token, then it answers 202, the status says 12 messages were imported, the interactions are in, and the user is scored."""
    ana = seed_user(client.app.state.db, "ana@north.example", snapshots=False)
    sign_in(client, ana.token)
    csrf = csrf_of(client)
    answer = client.post(
        "/uploads?name=All%20mail.mbox",
        content=mbox(12, ana.email),
        headers={"x-csrf-token": csrf, "origin": ORIGIN, "content-type": "application/octet-stream"},
    )
    assert answer.status_code == 202, answer.text
    body = answer.json()
    assert body["kind"] == "mbox" and body["size"] > 0 and body["status_url"] == f"/uploads/{body['id']}"
    status = client.get(body["status_url"]).json()
    assert status["state"] == "done" and status["written"] == 12
    assert status["text"] == "Imported 12 messages from All mail.mbox."
    assert list((settings.home / "uploads" / str(ana.user_id)).iterdir()) == []  # read, then deleted
    assert (
        _count(
            client, "SELECT count(*) FROM interactions WHERE user_id = %s AND provider_id LIKE %s", ana.user_id, "%u%"
        )
        >= 12
    )
    assert _count(client, "SELECT count(*) FROM score_snapshots WHERE user_id = %s", ana.user_id) > 0


def test_a_failed_upload_leaves_no_account_and_says_why(client):
    """Given a user with no mbox account yet, when they upload a file that is not an mbox, then
    the status says nothing was imported and why, no mbox account is left behind, and the file
    is gone; an empty body or a name with no known kind is refused at once (422)."""
    ben = seed_user(client.app.state.db, "ben@south.example")
    with client.app.state.db.tx() as conn:
        conn.execute("DELETE FROM accounts WHERE user_id = %s AND provider = 'mbox'", (ben.user_id,))
    sign_in(client, ben.token)
    csrf = csrf_of(client)
    headers = {"x-csrf-token": csrf, "origin": ORIGIN}
    answer = client.post("/uploads?name=photo.mbox", content=b"\x89PNG\r\n\x1a\n not mail at all", headers=headers)
    assert answer.status_code == 202
    status = client.get(answer.json()["status_url"]).json()
    assert status["state"] == "failed"
    assert status["text"].startswith("Nothing imported from photo.mbox: ") and "not an mbox file" in status["text"]
    assert "/uploads/" not in status["text"]  # the server's path is not shown
    assert _count(client, "SELECT count(*) FROM accounts WHERE user_id = %s AND provider = 'mbox'", ben.user_id) == 0
    assert client.post("/uploads?name=x.mbox", content=b"", headers=headers).status_code == 422
    unknown = client.post("/uploads?name=notes.txt", content=b"From x", headers=headers)
    assert unknown.status_code == 422 and "mbox or ics" in unknown.json()["message"]
    assert client.post("/uploads?name=x.mbox", content=b"From x", headers={"origin": ORIGIN}).status_code == 403


def test_the_upload_api_takes_a_bearer_token_and_statuses_are_private(client, ben):
    """Given two users, when Ana uploads an .ics through /v1/uploads, then Ben can read its
    status neither through the API nor through the dashboard (404), and Ana can."""
    ana = seed_user(client.app.state.db, "ana@north.example")
    ics = (
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\nUID:e1@west\r\n"
        "DTSTART:20261102T100000Z\r\nDTEND:20261102T103000Z\r\nSUMMARY:x\r\n"
        f"ORGANIZER:mailto:zoe@west.example\r\nATTENDEE:mailto:{ana.email}\r\n"
        "ATTENDEE:mailto:zoe@west.example\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    ).encode()
    answer = client.post("/v1/uploads?name=cal.ics", content=ics, headers=auth_header(ana.token))
    assert answer.status_code == 202, answer.text
    upload_id = answer.json()["id"]
    assert answer.json()["status_url"] == f"/v1/uploads/{upload_id}"
    mine = client.get(f"/v1/uploads/{upload_id}", headers=auth_header(ana.token))
    assert mine.status_code == 200 and mine.json()["state"] == "done" and mine.json()["written"] == 1, mine.text
    assert client.get(f"/v1/uploads/{upload_id}", headers=auth_header(ben.token)).status_code == 404
    sign_in(client, ben.token)
    assert client.get(f"/uploads/{upload_id}").status_code == 404
    assert client.post("/v1/uploads?name=cal.ics", content=ics).status_code == 401
    assert client.post("/v1/uploads?kind=pdf", content=ics, headers=auth_header(ana.token)).status_code == 422


def test_a_large_upload_passes_the_body_limit_only_on_the_upload_paths(client, monkeypatch):
    """Given the app's 64 KiB body limit, then a 200 KiB mbox is taken on /v1/uploads while the
    same body elsewhere is 413; past the upload limit the upload is 413 and nothing is kept."""
    from service import uploads

    ana = seed_user(client.app.state.db, "ana@north.example")
    big = mbox(60, ana.email) + b"\n" + b"x" * 200_000 + b"\n"
    taken = client.post("/v1/uploads?name=big.mbox", content=big, headers=auth_header(ana.token))
    assert taken.status_code == 202, taken.text
    assert client.post("/v1/tokens", content=big, headers=auth_header(ana.token)).status_code == 413
    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", 100_000)
    refused = client.post("/v1/uploads?name=big.mbox", content=big, headers=auth_header(ana.token))
    assert refused.status_code == 413
    home = client.app.state.settings.home / "uploads" / str(ana.user_id)
    assert list(home.iterdir()) == []  # nothing kept of the refused one (and the first was read)


def test_a_received_file_is_private_to_its_user_and_erased_with_them(settings):
    """Given a file received for a user, then it is mode 0600 in a folder of that user's, and
    erasing the user's uploads removes it."""
    import asyncio

    from service import uploads

    async def body():
        yield b"From x\n"
        yield b"From: a@b.example\n\n"

    upload = asyncio.run(uploads.receive(settings, 7, "mbox", "a.mbox", body()))
    assert upload.path.parent == settings.home.resolve() / "uploads" / "7"
    assert upload.path.stat().st_mode & 0o777 == 0o600 and upload.size == 26
    assert uploads.erase(settings, 7) == 1 and not upload.path.exists()
    assert uploads.erase(settings, 7) == 0
