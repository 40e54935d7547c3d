"""Feedback that learns, end to end: words given through POST /v1/ties/{id}/feedback reach
the next scoring (service/ties/scoring.py), which moves the marked tie's likes at the same
organisation, and nobody else's ties."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from service import auth, people, store
from service.api.app import create_app
from service.ties.scoring import compute_ties

from tests.support.api import _interaction, auth_header

NOW = datetime.now(timezone.utc).replace(microsecond=0)


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as client:
        yield client


def _user(db, email: str) -> tuple[int, str]:
    """A user who hears from 8 people at vendor.example every two weeks and answers them,
    and writes with 4 old friends at gmail.com every month or so, meeting them now and then."""
    rng = random.Random(email)
    with db.tx() as conn:
        user_id = store.create_user(conn, email, name=email.split("@")[0].title())
        token = auth.create_token(conn, user_id)
        account = store.ensure_account(conn, user_id, "google", email)
        n = 0

        def talk(them: str, when: datetime, *, they_start: bool) -> None:
            nonlocal n
            first, second = (them, email) if they_start else (email, them)
            for k, (sender, to) in enumerate(((first, second), (second, first))):
                n += 1
                at = when + timedelta(hours=3 * k)
                _interaction(conn, user_id, account, f"m{n}", "email", at, sender, [to], sender == email)

        for i in range(8):
            day = 300.0
            while day > 3:
                talk(f"rep{i}@vendor.example", NOW - timedelta(days=day), they_start=True)
                day -= 14 * rng.uniform(0.8, 1.2)
        for i in range(4):
            friend = f"friend{i}@gmail.com"
            day = 700.0
            while day > 10:
                talk(friend, NOW - timedelta(days=day), they_start=rng.random() < 0.5)
                day -= 30 * rng.uniform(0.7, 1.3)
            for season in range(6):
                n += 1
                at = NOW - timedelta(days=110 * season + 20)
                _interaction(conn, user_id, account, f"e{n}", "meeting", at, email, [friend], True)
        people.refresh_people(conn, user_id)
    return user_id, token


def _strengths(db, user_id: int) -> dict[str, int]:
    with db.tx() as conn:
        # Scored a day after the mail ends: after the words given during the test, however
        # long after this module was imported the test runs (words count from when given).
        return {t["contact"]: t["strength"] for t in compute_ties(conn, user_id, NOW + timedelta(days=1))}


def _person(db, user_id: int, address: str) -> int:
    with db.tx() as conn:
        return next(t["person_id"] for t in compute_ties(conn, user_id, NOW) if t["contact"] == address)


def test_words_given_through_the_api_move_the_vendor_and_no_one_else(client):
    # Given Ana and Ben, each with the same vendor's people and their own friends
    db = client.app.state.db
    ana, token = _user(db, "ana@north.example")
    ben, _ = _user(db, "ben@south.example")
    ana_before, ben_before = _strengths(db, ana), _strengths(db, ben)
    # When Ana marks three of the vendor's eight people "not a relationship"
    for i in range(3):
        pid = _person(db, ana, f"rep{i}@vendor.example")
        made = client.post(f"/v1/ties/{pid}/feedback", json={"kind": "not_relationship"}, headers=auth_header(token))
        assert made.status_code == 201, made.text
    ana_after, ben_after = _strengths(db, ana), _strengths(db, ben)
    # Then the marked are at half their strength, the other five vendor ties move down,
    marked = [f"rep{i}@vendor.example" for i in range(3)]
    assert all(abs(ana_after[a] - ana_before[a] / 2) <= 1 for a in marked)
    alike = [f"rep{i}@vendor.example" for i in range(3, 8)]
    assert all(ana_after[a] < ana_before[a] for a in alike)
    assert sum(ana_before[a] - ana_after[a] for a in alike) / len(alike) >= 5
    # her friends barely move, and Ben's ties do not move at all
    friends = [f"friend{i}@gmail.com" for i in range(4)]
    assert all(abs(ana_after[f] - ana_before[f]) <= 1 for f in friends)
    assert ben_after == ben_before
