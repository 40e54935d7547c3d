"""GET /v1/exclusions: paged with a cursor like the ties, and only ever the caller's own rows."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from service import people
from service.api.app import create_app

from tests.support.api import AS_OF, auth_header, seed_user


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as client:
        yield client


def _blocked_mail(db, who, n_senders: int) -> None:
    """Mail from `n_senders` addresses of the user's blocked news domain, sender k writing k+1
    times (so counts differ and some tie), each to the user."""
    domain = who.email.split("@")[1]
    with db.tx() as conn:
        for k in range(n_senders):
            for j in range(k % 4 + 1):
                iid = conn.execute(
                    "INSERT INTO interactions (user_id, account_id, provider_id, kind, occurred_at, is_sent,"
                    " n_participants) VALUES (%s, %s, %s, 'email', %s, false, 2) RETURNING id",
                    (who.user_id, who.account_id, f"news{k}.{j}", AS_OF - timedelta(days=2, hours=j)),
                ).fetchone()[0]
                conn.execute(
                    "INSERT INTO participants (interaction_id, user_id, address, role) VALUES"
                    " (%s, %s, %s, 'from'), (%s, %s, %s, 'to')",
                    (iid, who.user_id, f"sender{k}@news.{domain}", iid, who.user_id, who.email),
                )
        people.refresh_people(conn, who.user_id)  # as the sync or import that writes mail does


@pytest.fixture
def ana(client):
    seeded = seed_user(client.app.state.db, "ana@north.example")
    _blocked_mail(client.app.state.db, seeded, 23)
    return seeded


@pytest.fixture
def ben(client):
    seeded = seed_user(client.app.state.db, "ben@south.example")
    _blocked_mail(client.app.state.db, seeded, 7)
    return seeded


def _get(client, who, **params):
    return client.get("/v1/exclusions", headers=auth_header(who.token), params=params)


def test_pages_follow_the_cursor_through_the_whole_list_once(client, ana, ben):
    # Given 23 blocked senders for ana, and 7 of ben's own
    with client.app.state.db.tx() as conn:
        whole = people.exclusions(conn, ana.user_id)
    assert len(whole) >= 23
    # When ana reads every page of 5
    seen, cursor, pages = [], None, 0
    while True:
        response = _get(client, ana, limit=5, **({"cursor": cursor} if cursor else {}))
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"items", "next_cursor"} and len(body["items"]) <= 5
        seen += body["items"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            break
    # Then the pages are the whole list, in its order, each row once, and the last page says so
    assert seen == whole
    assert pages == -(-len(whole) // 5)
    # And no page holds any of ben's addresses
    assert not [r for r in seen if "south.example" in r["address"]]


def test_a_page_is_bounded_and_biggest_first(client, ana):
    # When the first page is asked for with the default size and with the smallest
    default = _get(client, ana).json()
    one = _get(client, ana, limit=1).json()
    # Then the default holds at most 50 rows, biggest count first, and one row is one row
    counts = [r["count"] for r in default["items"]]
    assert len(counts) <= 50 and counts == sorted(counts, reverse=True)
    assert one["items"] == default["items"][:1] and one["next_cursor"]


def test_another_users_cursor_shows_only_your_own_rows(client, ana, ben):
    # Given a cursor from ana's first page
    cursor = _get(client, ana, limit=2).json()["next_cursor"]
    # When ben pages with it
    response = _get(client, ben, limit=200, cursor=cursor)
    # Then he sees only his own exclusions (a cursor is a place in an order, not a grant)
    assert response.status_code == 200
    assert response.json()["items"] and all("north.example" not in r["address"] for r in response.json()["items"])


@pytest.mark.parametrize(
    "params, status",
    [
        ({"cursor": "not-a-cursor"}, 400),
        ({"cursor": "WyJ4IiwxLDIsM10"}, 400),  # valid base64 JSON of the wrong shape
        ({"limit": 0}, 422),
        ({"limit": 201}, 422),
    ],
)
def test_bad_paging_parameters_are_refused_with_a_reason(client, ana, params, status):
    response = _get(client, ana, **params)
    assert response.status_code == status
    assert response.json().get("message") or response.json().get("detail")


def test_the_page_model_is_documented(client):
    schema = client.app.openapi()
    ok = schema["paths"]["/v1/exclusions"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["$ref"].endswith("/ExclusionPage")
    fields = schema["components"]["schemas"]["Exclusion"]["properties"]
    assert set(fields) == {"address", "person_id", "reason", "count", "tie_kept"}
