"""The Google emulator: OAuth with PKCE, Gmail and Calendar as Google serves them, checked
against the discovery documents shipped in google-api-python-client."""

from __future__ import annotations

import base64
import hashlib
import json
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from ingest.sandbox.google import start_google_emulator
from ingest.sandbox.google.discovery import response_schema, validate
from ingest.sandbox.world import BODY_MARKER, generate_world

SCOPES = "https://www.googleapis.com/auth/gmail.metadata https://www.googleapis.com/auth/calendar.events.readonly openid email"


@pytest.fixture(scope="module")
def world():
    return generate_world(3, days=120, contacts=12)


@pytest.fixture
def emu(world):
    emulator = start_google_emulator(world)
    yield emulator
    emulator.stop()


def token_for(emu, scopes=None, user=None) -> str:
    refresh = emu.issue_refresh_token(user, scopes=scopes.split() if scopes else None)
    answer = requests.post(
        f"{emu.url}/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh, "client_id": "kith-emulator-client"},
    )
    assert answer.status_code == 200
    return answer.json()["access_token"]


def get(emu, path, token, **params):
    return requests.get(f"{emu.url}{path}", params=params, headers={"Authorization": f"Bearer {token}"})


def pkce():
    verifier = "v" * 64
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


# --- OAuth ------------------------------------------------------------------------------


def test_authorize_requires_pkce_and_auto_consents_for_a_known_login_hint(emu, world):
    """Given an authorize request without PKCE, it is refused; with PKCE and a known
    login_hint the emulator consents and redirects back with code and state."""
    _verifier, challenge = pkce()
    base = {
        "client_id": "c1",
        "redirect_uri": "http://127.0.0.1:9/cb",
        "response_type": "code",
        "scope": SCOPES,
        "state": "st4te",
    }
    assert requests.get(f"{emu.url}/o/oauth2/auth", params=base, allow_redirects=False).status_code == 400
    page = requests.get(
        f"{emu.url}/o/oauth2/auth", params=dict(base, code_challenge=challenge, code_challenge_method="S256")
    )
    assert page.status_code == 200 and "Allow" in page.text  # a person decides
    answer = requests.get(
        f"{emu.url}/o/oauth2/auth",
        allow_redirects=False,
        params=dict(base, code_challenge=challenge, code_challenge_method="S256", login_hint=world.user_email),
    )
    assert answer.status_code == 302
    query = parse_qs(urlsplit(answer.headers["Location"]).query)
    assert query["state"] == ["st4te"] and query["code"]


def test_code_exchange_checks_the_verifier_and_is_single_use_and_refresh_dies_on_revoke(emu, world):
    verifier, challenge = pkce()
    answer = requests.get(
        f"{emu.url}/o/oauth2/auth",
        allow_redirects=False,
        params={
            "client_id": "c1",
            "redirect_uri": "http://127.0.0.1:9/cb",
            "response_type": "code",
            "scope": SCOPES,
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "login_hint": world.user_email,
        },
    )
    code = parse_qs(urlsplit(answer.headers["Location"]).query)["code"][0]
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": "c1",
        "redirect_uri": "http://127.0.0.1:9/cb",
    }
    wrong = requests.post(f"{emu.url}/token", data=dict(form, code_verifier="x" * 64))
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    # The code was burnt by the failed attempt, as Google does.
    again = requests.post(f"{emu.url}/token", data=dict(form, code_verifier=verifier))
    assert again.json()["error"] == "invalid_grant"

    refresh = emu.issue_refresh_token()
    ok = requests.post(f"{emu.url}/token", data={"grant_type": "refresh_token", "refresh_token": refresh})
    assert ok.status_code == 200 and "gmail.metadata" in ok.json()["scope"]
    assert requests.post(f"{emu.url}/revoke", params={"token": refresh}).status_code == 200
    dead = requests.post(f"{emu.url}/token", data={"grant_type": "refresh_token", "refresh_token": refresh})
    assert dead.status_code == 400 and dead.json()["error"] == "invalid_grant"


def test_revoking_the_user_stops_api_calls_with_401(emu):
    token = token_for(emu)
    assert get(emu, "/gmail/v1/users/me/profile", token).status_code == 200
    emu.revoke()
    assert get(emu, "/gmail/v1/users/me/profile", token).status_code == 401


# --- Gmail --------------------------------------------------------------------------------


def test_metadata_scope_refuses_q_and_full_format_and_never_serves_a_body(emu):
    token = token_for(emu)
    assert get(emu, "/gmail/v1/users/me/messages", token, q="from:ana").status_code == 403
    first = get(emu, "/gmail/v1/users/me/messages", token).json()["messages"][0]["id"]
    full = get(emu, f"/gmail/v1/users/me/messages/{first}", token, format="full")
    assert full.status_code == 403 and "Metadata scope" in full.json()["error"]["message"]
    meta = get(emu, f"/gmail/v1/users/me/messages/{first}", token, format="metadata", metadataHeaders=["From", "Date"])
    assert {h["name"] for h in meta.json()["payload"]["headers"]} <= {"From", "Date"}
    assert BODY_MARKER not in meta.text


def test_every_gmail_and_calendar_response_validates_against_the_discovery_documents(emu, world):
    token = token_for(emu, scopes=SCOPES + " https://www.googleapis.com/auth/calendar.readonly")
    listing = get(emu, "/gmail/v1/users/me/messages", token, maxResults=5).json()
    first = listing["messages"][0]
    profile = get(emu, "/gmail/v1/users/me/profile", token).json()
    emu.add_message(headers=[("From", "new@example.org"), ("Date", "Mon, 2 Nov 2026 10:00:00 +0000")])
    emu.modify_labels(first["id"], add=["STARRED"])
    emu.delete_message(listing["messages"][1]["id"])
    emu.cancel_event(sorted(emu.event_ids())[0])
    sync = get(emu, "/calendar/v3/calendars/primary/events", token, singleEvents="true").json()
    checks = [
        ("gmail.v1", "users.getProfile", profile),
        ("gmail.v1", "users.messages.list", listing),
        (
            "gmail.v1",
            "users.messages.get",
            get(emu, f"/gmail/v1/users/me/messages/{first['id']}", token, format="metadata").json(),
        ),
        (
            "gmail.v1",
            "users.threads.get",
            get(emu, f"/gmail/v1/users/me/threads/{first['threadId']}", token, format="metadata").json(),
        ),
        (
            "gmail.v1",
            "users.history.list",
            get(emu, "/gmail/v1/users/me/history", token, startHistoryId=profile["historyId"]).json(),
        ),
        ("gmail.v1", "users.labels.list", get(emu, "/gmail/v1/users/me/labels", token).json()),
        ("gmail.v1", "users.settings.sendAs.list", get(emu, "/gmail/v1/users/me/settings/sendAs", token).json()),
        ("calendar.v3", "calendarList.list", get(emu, "/calendar/v3/users/me/calendarList", token).json()),
        ("calendar.v3", "events.list", sync),
    ]
    emu.cancel_event(sorted(emu.event_ids())[0])
    checks.append(
        (
            "calendar.v3",
            "events.list",
            get(
                emu,
                "/calendar/v3/calendars/primary/events",
                token,
                singleEvents="true",
                syncToken=sync["nextSyncToken"],
            ).json(),
        )
    )
    for doc, method, body in checks:
        assert "error" not in body, (method, body)
        assert validate(doc, response_schema(doc, method), body) == [], method
    history = checks[4][2]["history"]
    assert {k for h in history for k in h} >= {"messagesAdded", "messagesDeleted", "labelsAdded"}


def test_the_validator_catches_what_google_would_not_send():
    assert validate("gmail.v1", "Message", {"id": "x", "internalDate": 12}) != []
    assert validate("gmail.v1", "Message", {"id": "x", "bodyText": "hi"}) != []
    assert validate("gmail.v1", "Message", {"id": "x", "internalDate": "12"}) == []


def test_history_404_for_a_stale_or_foreign_start_id(emu):
    token = token_for(emu)
    start = get(emu, "/gmail/v1/users/me/profile", token).json()["historyId"]
    assert get(emu, "/gmail/v1/users/me/history", token, startHistoryId=start).status_code == 200
    other = start_google_emulator(accounts=["other@example.org"])
    try:
        foreign = token_for(other, user="other@example.org")
        assert get(other, "/gmail/v1/users/me/history", foreign, startHistoryId=start).status_code == 404
    finally:
        other.stop()
    emu.add_message(headers=[("From", "x@example.org")])
    emu.expire_history()
    assert get(emu, "/gmail/v1/users/me/history", token, startHistoryId=start).status_code == 404


def test_pages_of_messages_list_cover_the_mailbox_once(emu):
    token = token_for(emu)
    seen, page = [], None
    while True:
        body = get(
            emu, "/gmail/v1/users/me/messages", token, maxResults=37, **({"pageToken": page} if page else {})
        ).json()
        seen += [m["id"] for m in body.get("messages", [])]
        page = body.get("nextPageToken")
        if not page:
            break
    assert len(seen) == len(set(seen)) == len(emu.message_ids())


def batch_body(paths, boundary="b0undary"):
    chunks = [
        f"--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <item{i}>\r\n\r\nGET {p} HTTP/1.1\r\n\r\n"
        for i, p in enumerate(paths)
    ]
    return f"multipart/mixed; boundary={boundary}", ("".join(chunks) + f"--{boundary}--\r\n").encode()


def test_batch_answers_each_part_and_refuses_more_than_100(emu):
    token = token_for(emu)
    ids = sorted(emu.message_ids())[:3]
    ctype, body = batch_body(
        [f"/gmail/v1/users/me/messages/{i}?format=metadata" for i in ids]
        + ["/gmail/v1/users/me/messages/doesnotexist?format=metadata"]
    )
    answer = requests.post(
        f"{emu.url}/batch/gmail/v1", data=body, headers={"Content-Type": ctype, "Authorization": f"Bearer {token}"}
    )
    assert answer.status_code == 200 and answer.text.count("HTTP/1.1 200 OK") == 3
    assert "HTTP/1.1 404" in answer.text and "<response-item3>" in answer.text
    ctype, body = batch_body(["/gmail/v1/users/me/profile"] * 101)
    too_many = requests.post(
        f"{emu.url}/batch/gmail/v1", data=body, headers={"Content-Type": ctype, "Authorization": f"Bearer {token}"}
    )
    assert too_many.status_code == 400


def test_quota_refuses_with_429_or_403_user_rate_limit_exceeded(world):
    emu = start_google_emulator(world, quota_scale=0.02, burst_s=1.0)  # 5 units/s
    try:
        token = token_for(emu)
        codes = [get(emu, "/gmail/v1/users/me/messages", token).status_code for _ in range(3)]
        assert codes[0] == 200 and codes[-1] == 429
        refused = get(emu, "/gmail/v1/users/me/messages", token)
        assert refused.json()["error"]["errors"][0]["reason"] == "rateLimitExceeded"
        assert int(refused.headers["Retry-After"]) >= 1
        emu.faults.rate_limit_status = 403
        refused = get(emu, "/gmail/v1/users/me/messages", token)
        assert refused.status_code == 403
        assert refused.json()["error"]["errors"][0]["reason"] == "userRateLimitExceeded"
        assert emu.usage().refused >= 2 and emu.usage().units == 5
    finally:
        emu.stop()


# --- Calendar -------------------------------------------------------------------------------


def test_calendar_sync_token_gives_changes_and_410_once_expired(emu):
    token = token_for(emu)
    ids, page, sync = [], None, None
    while True:
        body = get(
            emu,
            "/calendar/v3/calendars/primary/events",
            token,
            singleEvents="true",
            maxResults=7,
            **({"pageToken": page} if page else {}),
        ).json()
        ids += [e["id"] for e in body["items"]]
        page, sync = body.get("nextPageToken"), body.get("nextSyncToken")
        if not page:
            break
    assert sorted(ids) == sorted(emu.event_ids()) and sync
    assert (
        get(
            emu,
            "/calendar/v3/calendars/primary/events",
            token,
            singleEvents="true",
            syncToken=sync,
            timeMin="2026-01-01T00:00:00Z",
        ).status_code
        == 400
    )
    gone = sorted(emu.event_ids())[0]
    emu.cancel_event(gone)
    changes = get(emu, "/calendar/v3/calendars/primary/events", token, singleEvents="true", syncToken=sync).json()
    assert [(e["id"], e["status"]) for e in changes["items"]] == [(gone, "cancelled")]
    emu.expire_sync_tokens()
    stale = get(emu, "/calendar/v3/calendars/primary/events", token, singleEvents="true", syncToken=sync)
    assert stale.status_code == 410 and json.loads(stale.text)["error"]["errors"][0]["reason"] == "fullSyncRequired"


def test_calendar_list_needs_a_calendar_list_scope(emu):
    narrow = token_for(emu)
    assert get(emu, "/calendar/v3/users/me/calendarList", narrow).status_code == 403
    assert get(emu, "/calendar/v3/calendars/primary/events", narrow, singleEvents="true").status_code == 200


def test_fault_switches_for_stale_cursors_and_revoked_grants(emu):
    token = token_for(emu)
    start = get(emu, "/gmail/v1/users/me/profile", token).json()["historyId"]
    sync = get(emu, "/calendar/v3/calendars/primary/events", token, singleEvents="true").json()["nextSyncToken"]
    emu.faults.stale_cursors = True
    assert get(emu, "/gmail/v1/users/me/history", token, startHistoryId=start).status_code == 404
    assert (
        get(emu, "/calendar/v3/calendars/primary/events", token, singleEvents="true", syncToken=sync).status_code == 410
    )
    emu.faults.stale_cursors = False
    assert get(emu, "/gmail/v1/users/me/history", token, startHistoryId=start).status_code == 200
    emu.faults.revoked = True
    assert get(emu, "/gmail/v1/users/me/profile", token).status_code == 401
    refused = requests.post(
        f"{emu.url}/token", data={"grant_type": "refresh_token", "refresh_token": emu.issue_refresh_token()}
    )
    assert refused.json()["error"] == "invalid_grant"
