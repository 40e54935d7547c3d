"""The page cache of GET /v1/ties (service.api.page_cache): it saves work, never freshness of
access, never another user's page, and never a new snapshot."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.api.page_cache import PageCache

from tests.support.api import AS_OF, auth_header, seed_user


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as client:
        yield client


def ties(client, token, **params):
    return client.get("/v1/ties", params=params, headers=auth_header(token))


def test_a_revoked_token_is_refused_on_the_next_request_even_with_the_page_cached(client):
    # Given a user whose first page is cached, and a second token of theirs
    ana = seed_user(client.app.state.db, "ana@north.example")
    assert ties(client, ana.token).status_code == 200
    assert len(client.app.state.ties_pages) == 1
    # When the token is revoked behind the API's back (another process, e.g. the CLI)
    with client.app.state.db.tx() as conn:
        conn.execute("UPDATE api_tokens SET revoked_at = now() WHERE id = %s", (ana.token_id,))
    # Then the very next request is refused: tokens are checked on every request
    assert ties(client, ana.token).status_code == 401


def test_each_user_gets_their_own_page_for_the_same_query(client):
    # Given two users asking for the same page, one after the other
    ana = seed_user(client.app.state.db, "ana@north.example")
    ben = seed_user(client.app.state.db, "ben@south.example")
    first = ties(client, ana.token, limit=5).json()
    second = ties(client, ben.token, limit=5).json()
    # Then each sees only their own people
    assert {t["person_id"] for t in first["items"]} <= set(ana.people)
    assert {t["person_id"] for t in second["items"]} <= set(ben.people)
    assert len(client.app.state.ties_pages) == 2


def test_a_new_snapshot_is_served_on_the_next_request(client):
    # Given a cached page of the latest snapshot
    ana = seed_user(client.app.state.db, "ana@north.example")
    before = ties(client, ana.token).json()
    assert before["as_of"].startswith(AS_OF.date().isoformat())
    # When a scoring run (outside the API) writes a newer snapshot with other strengths
    with client.app.state.db.tx() as conn:
        conn.execute(
            "INSERT INTO score_snapshots (user_id, person_id, as_of, strength, tier, reciprocity, payload)"
            " SELECT user_id, person_id, as_of + interval '7 days', 1, 'weak', 0,"
            ' payload || \'{"strength": 1, "tier": "weak"}\'::jsonb'
            " FROM score_snapshots WHERE user_id = %s AND as_of = %s",
            (ana.user_id, AS_OF),
        )
    # Then the same request at once gets the new snapshot, not the cached page
    after = ties(client, ana.token).json()
    assert after["as_of"].startswith("2026-11-30")
    assert {t["strength"] for t in after["items"]} == {1}


def test_a_users_own_change_through_the_api_is_seen_at_once(client):
    # Given a cached page that lists two people
    ana = seed_user(client.app.state.db, "ana@north.example")
    a, b = ana.people[1], ana.people[2]
    assert {a, b} <= {t["person_id"] for t in ties(client, ana.token, limit=200).json()["items"]}
    # When the user merges them (the merged-away person's snapshot rows go with it)
    merged = client.post("/v1/people/merge", json={"person_ids": [a, b]}, headers=auth_header(ana.token))
    assert merged.status_code == 200
    # Then the next page no longer lists the merged-away person
    assert b not in {t["person_id"] for t in ties(client, ana.token, limit=200).json()["items"]}


def test_cached_pages_expire_and_stay_within_their_byte_budget():
    # Given a cache with a clock we control and room for two 10-byte pages
    now = [0.0]
    cache = PageCache(ttl=3.0, max_bytes=20, clock=lambda: now[0])
    snap = datetime(2026, 11, 23, tzinfo=timezone.utc)
    cache.put(1, snap, "q", b"a" * 10)
    # Then a page is served until its TTL has passed, and not after
    now[0] = 2.9
    assert cache.get(1, snap, "q") == b"a" * 10
    assert cache.get(2, snap, "q") is None  # another user's key never matches
    now[0] = 3.0
    assert cache.get(1, snap, "q") is None
    # And beyond the byte budget the least recently used page goes first
    cache.put(1, snap, "x", b"x" * 10)
    cache.put(1, snap, "y", b"y" * 10)
    cache.get(1, snap, "x")
    cache.put(1, snap, "z", b"z" * 10)
    assert cache.get(1, snap, "y") is None and cache.get(1, snap, "x") == b"x" * 10
    # And forgetting a user drops only their pages
    cache.put(2, snap, "x", b"b" * 5)
    cache.forget_user(1)
    assert len(cache) == 1 and cache.get(2, snap, "x") == b"b" * 5
