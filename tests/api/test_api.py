"""The JSON API: access, ties, a tie's timeline, people, accounts, digest settings, export and
delete-my-data, on a real PostgreSQL and Redis."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest
import redis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from psycopg.types.json import Jsonb

from service import people
from service.api.app import create_app
from service.ties.detail import monday

from tests.support.api import AS_OF, EARLIER, TIERS, auth_header, seed_user

FLAG_NAMES = ("cooling", "dormant", "one_sided_you", "one_sided_them")


GOOGLE_AUTH = "https://accounts.example/o/oauth2/auth"


@pytest.fixture
def app(settings):
    # Google "configured" (starting a flow only builds a URL); Microsoft left unconfigured.
    return create_app(
        settings.model_copy(update={"google_client_id": "kith-test-client", "google_auth_uri": GOOGLE_AUTH})
    )


@pytest.fixture
def client(app):
    with TestClient(app) as client:
        yield client


@pytest.fixture
def ana(client):
    return seed_user(client.app.state.db, "ana@north.example")


@pytest.fixture
def ben(client):
    return seed_user(client.app.state.db, "ben@south.example")


def v1_operations(app) -> list[tuple[str, str]]:
    """Every (METHOD, path template) of the API, from its OpenAPI schema."""
    return [
        (method.upper(), path)
        for path, item in app.openapi()["paths"].items()
        if path.startswith("/v1")
        for method in item
        if method in ("get", "post", "put", "patch", "delete")
    ]


def get(client, who, path, **kw):
    return client.get(path, headers=auth_header(who.token), **kw)


def assert_error(response, status):
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error", "message", "details"}
    assert body["message"]
    return body


# --- access ---------------------------------------------------------------------------


def test_every_v1_route_needs_a_token(client, ana):
    """Given the app's routes, when each is called without a token or with a wrong one,
    then each answers 401 with a JSON body saying what is missing."""
    # The OAuth callback and its confirmation: the flow's state, cookie and page token say whose it is.
    operations = [
        op
        for op in v1_operations(client.app)
        if not (op[1].startswith("/v1/connect/") and op[1].endswith(("/callback", "/confirm")))
    ]
    assert len(operations) >= 25
    for method, template in operations:
        path = template.replace("{kind}", "domain")
        for name in (
            "person_id",
            "account_id",
            "token_id",
            "suggestion_id",
            "value",
            "team_id",
            "member_id",
            "request_id",
        ):
            path = path.replace("{" + name + "}", "1")
        bare = client.request(method, path)
        assert_error(bare, 401)
        assert "bearer" in bare.json()["message"].lower()
        wrong = client.request(method, path, headers=auth_header("kith_" + "x" * 43))
        assert_error(wrong, 401)


def test_health_and_metrics_need_no_token(client):
    assert client.get("/healthz").json() == {"status": "ok", "database": True}
    assert client.get("/metrics").status_code == 200


def test_tokens_are_listed_created_and_revoked_and_only_hashes_are_stored(client, ana):
    """Given a user with one token, when they create a second and revoke the first,
    then the first stops working, the second works, and no token is stored in clear."""
    created = client.post("/v1/tokens", json={"name": "grafana"}, headers=auth_header(ana.token))
    assert created.status_code == 201
    second = created.json()["token"]
    assert second.startswith("kith_") and len(second) >= 40
    listing = get(client, ana, "/v1/tokens").json()
    assert [t["name"] for t in listing] == ["default", "grafana"]
    assert all("token" not in t and second[:12] in {x["prefix"] for x in listing} for t in listing)
    revoked = client.delete(f"/v1/tokens/{ana.token_id}", headers=auth_header(second))
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert_error(get(client, ana, "/v1/me"), 401)
    assert client.get("/v1/me", headers=auth_header(second)).json()["email"] == ana.email
    with client.app.state.db.tx() as conn:
        dump = "\n".join(str(r) for r in conn.execute("SELECT * FROM api_tokens").fetchall())
    assert second not in dump and ana.token not in dump


# --- ties -------------------------------------------------------------------------------


def test_ties_are_strongest_first_and_paged_by_cursor_without_gaps(client, ana):
    """Given six ties, when they are read two at a time, then every tie comes exactly once,
    strongest first, and the last page has no cursor."""
    seen, cursor, pages = [], None, 0
    while True:
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = get(client, ana, "/v1/ties", params=params).json()
        pages += 1
        assert page["source"] == "snapshot" and page["as_of"].startswith("2026-11-23T06:00")
        seen += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert pages == 3
    assert [t["person_id"] for t in seen] == [t["person_id"] for t in sorted(ana.ties, key=lambda t: -t["strength"])]
    first = seen[0]
    expected = ana.ties[0]
    for key in (
        "contact",
        "name",
        "addresses",
        "tier",
        "reciprocity",
        "flags",
        "last_interaction",
        "explanation",
        "ledger",
        "suggestion",
        "deepen_rank",
    ):
        assert first[key] == expected[key], key


def test_ties_filter_by_tier_flag_and_text_and_sort(client, ana):
    strong = get(client, ana, "/v1/ties", params={"tier": "strong"}).json()["items"]
    assert strong and all(t["tier"] == "strong" for t in strong)
    cooling = get(client, ana, "/v1/ties", params={"flag": "cooling"}).json()["items"]
    assert {t["person_id"] for t in cooling} == {t["person_id"] for t in ana.ties if "cooling" in t["flags"]}
    by_text = get(client, ana, "/v1/ties", params={"q": "ALT3@"}).json()["items"]
    assert [t["person_id"] for t in by_text] == [ana.people[3]]
    by_rec = get(client, ana, "/v1/ties", params={"sort": "reciprocity"}).json()["items"]
    assert [t["reciprocity"] for t in by_rec] == sorted(t["reciprocity"] for t in ana.ties)
    wildcard = get(client, ana, "/v1/ties", params={"q": "%"}).json()["items"]
    assert wildcard == []


def test_a_cursor_pins_its_snapshot_while_a_new_scoring_lands(client, ana):
    first = get(client, ana, "/v1/ties", params={"limit": 3}).json()
    with client.app.state.db.tx() as conn:
        conn.execute(
            "INSERT INTO score_snapshots (user_id, person_id, as_of, strength, tier, reciprocity, payload)"
            " SELECT user_id, person_id, as_of + interval '7 days', 1, 'weak', 0, payload"
            " FROM score_snapshots WHERE user_id = %s AND as_of = %s",
            (ana.user_id, AS_OF),
        )
    rest = get(client, ana, "/v1/ties", params={"limit": 3, "cursor": first["next_cursor"]}).json()
    assert rest["as_of"] == first["as_of"]
    assert len(first["items"]) + len(rest["items"]) == 6
    newest = get(client, ana, "/v1/ties").json()
    assert newest["as_of"].startswith("2026-11-30")


def test_bad_paging_input_gets_a_clear_4xx(client, ana):
    body = assert_error(get(client, ana, "/v1/ties", params={"limit": 1000}), 422)
    assert "limit" in body["message"]
    assert_error(get(client, ana, "/v1/ties", params={"cursor": "not-a-cursor"}), 400)
    cursor = get(client, ana, "/v1/ties", params={"limit": 1}).json()["next_cursor"]
    mixed = assert_error(get(client, ana, "/v1/ties", params={"cursor": cursor, "sort": "name"}), 400)
    assert "sort" in mixed["message"]
    assert_error(get(client, ana, "/v1/ties", params={"tier": "best"}), 422)


def test_ties_to_deepen_come_ranked(client, ana):
    deepen = get(client, ana, "/v1/ties/deepen").json()
    ranked = sorted((t for t in ana.ties if t["deepen_rank"]), key=lambda t: t["deepen_rank"])
    assert [t["person_id"] for t in deepen] == [t["person_id"] for t in ranked]
    assert all(t["suggestion"] for t in deepen)


def test_one_tie_has_its_weekly_timeline_by_kind_and_direction_and_its_history(client, ana):
    """Given person 0 with 2 mails out, 1 in and a meeting they set in one week and a mail in
    the week before, when the tie is read, then the timeline counts exactly those."""
    detail = get(client, ana, f"/v1/ties/{ana.people[0]}", params={"weeks": 4}).json()
    assert detail["tie"]["contact"] == ana.ties[0]["contact"]
    weeks = {w["week"]: w for w in detail["timeline"]}
    assert len(weeks) == 4
    this_week = monday((AS_OF - timedelta(days=1)).date())
    before = this_week - timedelta(weeks=1)
    assert weeks[this_week.isoformat()] == {
        "week": this_week.isoformat(),
        "email_out": 2,
        "email_in": 1,
        "meeting_out": 0,
        "meeting_in": 1,
    }
    assert weeks[before.isoformat()]["email_in"] == 1
    assert sum(w["email_out"] + w["email_in"] + w["meeting_in"] + w["meeting_out"] for w in weeks.values()) == 5
    assert [h["as_of"][:10] for h in detail["history"]] == [EARLIER.date().isoformat(), AS_OF.date().isoformat()]
    assert_error(get(client, ana, "/v1/ties/999999"), 404)


def test_feedback_on_a_tie(client, ana):
    pid = ana.people[2]
    until = str(datetime.now().date() + timedelta(days=36))  # a snooze reaches at most a year ahead
    made = client.post(
        f"/v1/ties/{pid}/feedback", json={"kind": "snooze", "until": until}, headers=auth_header(ana.token)
    )
    assert made.status_code == 201 and made.json()["until"] == until
    assert_error(client.post(f"/v1/ties/{pid}/feedback", json={"kind": "snooze"}, headers=auth_header(ana.token)), 422)
    assert get(client, ana, f"/v1/ties/{pid}/feedback").json()[0]["kind"] == "snooze"


# --- isolation --------------------------------------------------------------------------


def test_another_users_ids_are_not_found_on_every_route(client, ana, ben):
    """Given Ana and Ben, when Ana calls every route that takes an id with Ben's ids, then
    every answer is 404 and none of Ben's data comes back."""
    ids = {
        "person_id": ben.people[0],
        "account_id": ben.account_id,
        "token_id": ben.token_id,
        "suggestion_id": ben.suggestion_id,
        "upload_id": client.post(
            "/v1/uploads?name=cal.ics", content=b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", headers=auth_header(ben.token)
        ).json()["id"],
        "team_id": ben.team_id,
        "member_id": ben.user_id,
        "request_id": ben.request_id or 1,
        "domain": "south.example",
        "decision": "accept",
    }
    bodies = {
        "POST /v1/team/{team_id}/invitations": {"email": "x@north.example"},
        "PUT /v1/team/{team_id}/sharing": {"share": True},
        "POST /v1/team/{team_id}/introductions": {"member": ben.user_id, "contact": "person0@south.example"},
        "POST /v1/ties/{person_id}/feedback": {"kind": "matters"},
        "POST /v1/people/{person_id}/split": {"addresses": ["alt0@south.example"]},
        "POST /v1/people/merge-suggestions/{suggestion_id}": {"accept": True},
    }
    covered = 0
    for method, path in v1_operations(client.app):
        if "{" not in path or "{kind}" in path or "{provider}" in path:  # names, not ids
            continue
        url = path
        for name, value in ids.items():
            url = url.replace("{" + name + "}", str(value))
        assert "{" not in url, f"no id of Ben's for {path}"
        response = client.request(method, url, headers=auth_header(ana.token), json=bodies.get(f"{method} {path}"))
        assert_error(response, 404)
        assert "south.example" not in response.text
        covered += 1
    assert covered >= 10
    merge = client.post(
        "/v1/people/merge", json={"person_ids": [ana.people[0], ben.people[1]]}, headers=auth_header(ana.token)
    )
    assert_error(merge, 404)
    rule = client.delete("/v1/rules/domain/news.south.example", headers=auth_header(ana.token))
    assert_error(rule, 404)
    ties = get(client, ana, "/v1/ties", params={"limit": 200}).json()["items"]
    assert {t["person_id"] for t in ties} == set(ana.people)
    with client.app.state.db.tx() as conn:
        assert conn.execute("SELECT count(*) FROM rules WHERE user_id = %s", (ben.user_id,)).fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM feedback WHERE user_id = %s", (ben.user_id,)).fetchone()[0] == 1


# --- people and rules -----------------------------------------------------------------


def test_merge_and_split_people(client, ana):
    a, b = ana.people[1], ana.people[2]
    merged = client.post("/v1/people/merge", json={"person_ids": [a, b]}, headers=auth_header(ana.token))
    assert merged.json() == {"person_id": a}
    assert_error(get(client, ana, f"/v1/people/{b}"), 404)
    person = get(client, ana, f"/v1/people/{a}").json()
    assert len(person["addresses"]) == 4
    split = client.post(
        f"/v1/people/{a}/split",
        json={"addresses": ["person2@north.example", "alt2@north.example"]},
        headers=auth_header(ana.token),
    )
    assert split.status_code == 201
    new = split.json()["person_id"]
    assert {x["address"] for x in get(client, ana, f"/v1/people/{new}").json()["addresses"]} == {
        "person2@north.example",
        "alt2@north.example",
    }
    assert_error(
        client.post(
            f"/v1/people/{a}/split", json={"addresses": ["nobody@north.example"]}, headers=auth_header(ana.token)
        ),
        422,
    )


def test_rules_are_set_listed_and_removed(client, ana):
    put = client.put(
        "/v1/rules",
        json={"kind": "address", "value": "Boss@North.Example", "action": "allow"},
        headers=auth_header(ana.token),
    )
    assert put.json()["value"] == "boss@north.example"
    kinds = {(r["kind"], r["value"]) for r in get(client, ana, "/v1/rules").json()}
    assert ("address", "boss@north.example") in kinds
    assert client.delete("/v1/rules/address/boss@north.example", headers=auth_header(ana.token)).status_code == 204
    assert_error(
        client.put("/v1/rules", json={"kind": "url", "value": "x", "action": "allow"}, headers=auth_header(ana.token)),
        422,
    )


# --- accounts ---------------------------------------------------------------------------


def test_account_health_and_sync_now(client, ana, redis_url):
    """Given a Google account a quarter synced, then its health says so, and sync-now queues
    a message on the interactive queue; a file account cannot be synced."""
    accounts = {a["id"]: a for a in get(client, ana, "/v1/accounts").json()}
    google = accounts[ana.account_id]
    assert google["synced_share"] == 0.25 and google["needs_reconnect"] is False
    assert google["cursor_advanced_at"].startswith("2026-11-23T06:00")
    assert {r["resource"] for r in google["resources"]} == {"mail", "calendar"}
    queued = client.post(f"/v1/accounts/{ana.account_id}/sync", headers=auth_header(ana.token))
    assert queued.status_code == 202
    r = redis.Redis.from_url(redis_url)
    assert r.llen("dramatiq:interactive") == 1
    assert_error(client.post(f"/v1/accounts/{ana.file_account_id}/sync", headers=auth_header(ana.token)), 409)


def test_a_revoked_account_asks_for_reconnection_and_disconnect_forgets_credentials(client, ana):
    with client.app.state.db.tx() as conn:
        conn.execute(
            "UPDATE accounts SET status = 'auth_revoked', last_error = 'invalid_grant' WHERE id = %s", (ana.account_id,)
        )
    account = get(client, ana, f"/v1/accounts/{ana.account_id}").json()
    assert account["needs_reconnect"] is True and account["last_error"] == "invalid_grant"
    assert (
        "reconnect"
        in assert_error(client.post(f"/v1/accounts/{ana.account_id}/sync", headers=auth_header(ana.token)), 409)[
            "message"
        ]
    )
    url = client.post(
        "/v1/accounts/connect", json={"provider": "google", "login_hint": ana.email}, headers=auth_header(ana.token)
    ).json()["authorize_url"]
    assert url.startswith(GOOGLE_AUTH + "?") and "login_hint=ana%40north.example" in url and "state=" in url
    with client.app.state.db.tx() as conn:
        assert (
            conn.execute(
                "SELECT count(*) FROM oauth_states WHERE user_id = %s AND provider = 'google' AND used_at IS NULL",
                (ana.user_id,),
            ).fetchone()[0]
            == 2
        )  # seeded one + this
    unconfigured = assert_error(
        client.post("/v1/accounts/connect", json={"provider": "microsoft"}, headers=auth_header(ana.token)), 503
    )
    assert "KITH_MS_CLIENT_ID" in unconfigured["message"]
    gone = client.delete(f"/v1/accounts/{ana.account_id}", headers=auth_header(ana.token))
    assert gone.json()["status"] == "disabled"
    with client.app.state.db.tx() as conn:
        assert (
            conn.execute("SELECT count(*) FROM credentials WHERE account_id = %s", (ana.account_id,)).fetchone()[0] == 0
        )


# --- digest settings --------------------------------------------------------------------


def test_digest_settings_change_only_what_is_sent(client, ana):
    before = get(client, ana, "/v1/digest/settings").json()
    assert before["weekday"] == 0 and before["timezone"] == "UTC"
    until = str(datetime.now().date() + timedelta(days=27))  # a snooze reaches at most a year ahead
    after = client.patch(
        "/v1/digest/settings",
        json={"timezone": "Europe/Madrid", "hour": 17, "snooze_until": until},
        headers=auth_header(ana.token),
    ).json()
    assert after == before | {"timezone": "Europe/Madrid", "hour": 17, "snooze_until": until}
    assert (
        "IANA"
        in assert_error(
            client.patch("/v1/digest/settings", json={"timezone": "Mars/Olympus"}, headers=auth_header(ana.token)), 422
        )["message"]
    )
    assert_error(client.patch("/v1/digest/settings", json={"hour": 24}, headers=auth_header(ana.token)), 422)


# --- export and delete ------------------------------------------------------------------


def test_export_holds_everything_of_the_user_and_no_secrets(client, ana, ben):
    response = get(client, ana, "/v1/export")
    assert response.status_code == 200
    data = json.loads(response.content)
    assert data["user"][0]["email"] == ana.email
    assert len(data["interactions"]) == 5 and len(data["score_snapshots"]) == 12
    assert len(data["participants"]) == 11
    assert len(data["flag_checks"]) == 1  # hers; Ben's counts are not in it
    assert "south.example" not in response.text
    assert ana.token not in response.text and "encrypted-refresh-token" not in response.text
    assert "token_hash" not in response.text and "ciphertext" not in response.text


def _table_counts(conn) -> dict[str, int]:
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
            " AND table_type = 'BASE TABLE' AND table_name <> 'alembic_version'"
        )
    ]
    return {t: conn.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}


def test_delete_my_data_removes_every_row_of_the_user_and_their_tokens(client, app):
    """Given Ben's rows alone, then Ana's on top (a row in every table), when Ana deletes
    her data, then every table is back to Ben's rows alone and her token is dead."""
    db = app.state.db
    seed_user(db, "ben@south.example")
    with db.tx() as conn:
        bens = _table_counts(conn)
    ana = seed_user(db, "ana@north.example")
    with db.tx() as conn:
        both = _table_counts(conn)
    assert all(both[t] > bens[t] for t in both), {t for t in both if both[t] <= bens[t]}
    response = client.delete("/v1/me", headers=auth_header(ana.token))
    assert response.status_code == 200
    assert response.json()["rows"]["interactions"] == 5
    with db.tx() as conn:
        assert _table_counts(conn) == bens
    assert_error(get(client, ana, "/v1/me"), 401)


# --- errors, limits, operations --------------------------------------------------------


def test_errors_are_json_and_say_what_was_wrong(client, ana):
    assert_error(client.get("/v1/nothing-here"), 404)
    assert_error(client.put("/v1/ties", headers=auth_header(ana.token)), 405)
    bad_json = client.post(
        "/v1/tokens", content=b"{not json", headers=auth_header(ana.token) | {"content-type": "application/json"}
    )
    assert_error(bad_json, 422)
    extra = assert_error(
        client.post("/v1/tokens", json={"name": "x", "admin": True}, headers=auth_header(ana.token)), 422
    )
    assert "admin" in extra["message"]
    huge = client.post(
        "/v1/tokens",
        content=b"{" + b" " * 70_000 + b"}",
        headers=auth_header(ana.token) | {"content-type": "application/json"},
    )
    assert_error(huge, 413)
    nul = assert_error(get(client, ana, "/v1/ties", params={"q": "a\x00b"}), 422)
    assert nul["details"][0]["loc"] == ["query", "q"]


def test_metrics_count_requests_and_show_sync_states_and_queue_depth(client, ana):
    get(client, ana, "/v1/ties")
    client.post(f"/v1/accounts/{ana.account_id}/sync", headers=auth_header(ana.token))
    text = client.get("/metrics").text
    assert 'kith_http_requests_total{method="GET",route="/v1/ties",status="200"} 1.0' in text
    assert 'kith_http_request_duration_seconds_bucket{le="0.5",method="GET",route="/v1/ties"}' in text
    assert 'kith_sync_resources{state="initial"} 1.0' in text
    assert 'kith_queue_depth{queue="interactive"} 1.0' in text
    assert 'kith_metrics_source_up{source="redis"} 1.0' in text


def test_tokens_never_reach_the_logs(client, ana, caplog):
    """Given a token used in good and bad requests, a sign-in and an error, then no log
    record, formatted as JSON lines, contains it."""
    from service.api.logs import JsonFormatter

    caplog.set_level("DEBUG")
    server_side = lambda r: not r.name.startswith(("httpx", "httpcore"))  # noqa: E731 (the client may log URLs)
    get(client, ana, "/v1/ties")
    client.get("/v1/ties", headers=auth_header(ana.token + "x"))
    client.post("/signin", data={"token": ana.token})
    client.get(f"/v1/ties?cursor={ana.token}", headers=auth_header(ana.token))
    assert any(r.name == "kith.access" for r in caplog.records)
    formatter = JsonFormatter()
    records = [r for r in caplog.records if server_side(r)]
    lines = [formatter.format(r) for r in records]
    assert lines and all(json.loads(line)["message"] for line in lines)
    assert not any(ana.token in line or ana.token[5:25] in line for line in lines)
    assert not any(ana.token in r.getMessage() or ana.token in str(vars(r)) for r in records)


def test_the_pool_is_closed_on_shutdown(settings):
    app = create_app(settings)
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        pool = app.state.db.pool
    assert pool.closed


# --- the two paging paths agree ---------------------------------------------------------

_tie_strategy = st.fixed_dictionaries(
    {
        "name": st.one_of(st.none(), st.text(alphabet="abcXYZ ée", max_size=6)),
        "strength": st.integers(0, 100),
        "reciprocity": st.integers(-100, 100),
        "tier": st.sampled_from(TIERS),
        "flags": st.lists(st.sampled_from(FLAG_NAMES), max_size=2, unique=True),
        "last_interaction": st.one_of(
            st.none(),
            st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2026, 11, 1)).map(
                lambda d: d.strftime("%Y-%m-%dT%H:%M:%SZ")
            ),
        ),
        "deepen_rank": st.one_of(st.none(), st.integers(1, 5)),
    }
)


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ties=st.lists(_tie_strategy, min_size=0, max_size=12),
    sort=st.sampled_from(
        [
            "-strength",
            "strength",
            "-reciprocity",
            "reciprocity",
            "-last_interaction",
            "last_interaction",
            "name",
            "-name",
            "deepen",
            "-deepen",
        ]
    ),
    tiers=st.lists(st.sampled_from(TIERS), max_size=2, unique=True),
    flags=st.lists(st.sampled_from(FLAG_NAMES), max_size=1),
    limit=st.integers(1, 4),
)
def test_snapshot_paging_in_sql_and_computed_paging_in_python_agree(database_url, ties, sort, tiers, flags, limit):
    """Given any set of ties stored as a snapshot, when it is paged to the end in SQL and the
    same dicts are paged in Python, then both give the same ties in the same order."""
    import psycopg

    from service.ties import pages as tq
    from service.ties.cursor import Cursor

    with psycopg.connect(database_url) as conn:
        user = conn.execute(
            "INSERT INTO users (email) VALUES (%s) ON CONFLICT (email) DO UPDATE SET name = NULL RETURNING id",
            ("prop@example.org",),
        ).fetchone()[0]
        as_of = conn.execute(
            "SELECT coalesce(max(as_of), %s) + interval '1 day' FROM score_snapshots", (AS_OF,)
        ).fetchone()[0]
        dicts = []
        for i, t in enumerate(ties):
            pid = conn.execute("INSERT INTO people (user_id) VALUES (%s) RETURNING id", (user,)).fetchone()[0]
            tie = t | {
                "person_id": pid,
                "contact": f"c{i}@example.org",
                "addresses": [f"c{i}@example.org"],
                "explanation": [],
                "ledger": {},
                "suggestion": None,
                "colleague": False,
            }
            dicts.append(tie)
            conn.execute(
                "INSERT INTO score_snapshots (user_id, person_id, as_of, strength, tier, reciprocity, flags,"
                " payload) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (user, pid, as_of, tie["strength"], tie["tier"], tie["reciprocity"], tie["flags"], Jsonb(tie)),
            )
    query = tq.Query(sort=sort, tiers=tuple(tiers), flags=tuple(flags), limit=limit)

    def walk(page):
        seen, cursor = [], None
        for _ in range(len(ties) + 2):
            items, cursor = page(cursor)
            seen += [t["person_id"] for t in items]
            if cursor is None:
                return seen
            cursor = Cursor.decode(cursor, sort)
        raise AssertionError("paging did not end")

    with psycopg.connect(database_url) as conn:
        in_sql = walk(
            lambda c: (lambda r: ([json.loads(x) for x in r[0]], r[1]))(tq.snapshot_page(conn, user, as_of, query, c))
        )
    in_python = walk(lambda c: tq.computed_page(dicts, as_of, query, c))
    assert in_sql == in_python
    assert len(set(in_sql)) == len(in_sql)


def test_unknown_query_parameters_are_refused_not_ignored(client, ana):
    typo = assert_error(get(client, ana, "/v1/ties", params={"teir": "strong"}), 422)
    assert "teir" in typo["message"]
    assert_error(get(client, ana, f"/v1/ties/{ana.people[0]}", params={"week": 4}), 422)
    assert get(client, ana, f"/v1/ties/{ana.people[0]}", params={"weeks": 4}).status_code == 200


def test_oauth_callbacks_need_no_token_and_accept_the_providers_parameters(client):
    """Given a callback with an unknown state and the extra parameters providers add, then the
    answer is the flow's own 'unknown sign-in' (400), not a 401 or a 422."""
    google = client.get(
        "/v1/connect/google/callback",
        params={"state": "nope", "code": "c", "scope": "email", "authuser": "0", "prompt": "consent"},
    )
    assert google.status_code == 400
    microsoft = client.get(
        "/v1/connect/microsoft/callback",
        params={"state": "nope", "code": "c", "session_state": "s", "client_info": "x"},
        headers={"Accept": "application/json"},
    )
    assert microsoft.status_code == 400 and "unknown" in microsoft.json()["message"]


def test_exclusions_say_what_was_left_out_and_why(client, ana):
    """Given mail from a blocked domain, when exclusions are read, then that sender is listed
    with a reason, and never another user's."""
    with client.app.state.db.tx() as conn:
        iid = conn.execute(
            "INSERT INTO interactions (user_id, account_id, provider_id, kind, occurred_at, is_sent,"
            " n_participants) VALUES (%s, %s, 'news1', 'email', %s, false, 2) RETURNING id",
            (ana.user_id, ana.account_id, AS_OF - timedelta(days=2)),
        ).fetchone()[0]
        conn.execute(
            "INSERT INTO participants (interaction_id, user_id, address, role) VALUES"
            " (%s, %s, 'digest@news.north.example', 'from'), (%s, %s, %s, 'to')",
            (iid, ana.user_id, iid, ana.user_id, ana.email),
        )
        people.refresh_people(conn, ana.user_id)  # as the sync or import that writes mail does
    listed = get(client, ana, "/v1/exclusions").json()["items"]
    blocked = [e for e in listed if e["address"] == "digest@news.north.example"]
    assert blocked and blocked[0]["reason"]
    assert all("south.example" not in e["address"] for e in listed)


def test_digest_preview_is_this_weeks_email_as_html(client, ana):
    response = get(client, ana, "/v1/digest/preview")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text.lower() and "south.example" not in response.text
