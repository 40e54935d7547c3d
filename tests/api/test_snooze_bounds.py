"""A snooze runs from today to a year ahead: tie feedback and the digest's snooze_until."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app

from tests.support.api import auth_header, seed_user


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings)) as client:
        yield client


@pytest.fixture
def ana(client):
    return seed_user(client.app.state.db, "ana@north.example")


def _today(zone: str = "UTC") -> date:
    return datetime.now(ZoneInfo(zone)).date()


FAR = ["0001-01-01", "9999-12-31"]


def out_of_range(response) -> str:
    assert response.status_code == 422, response.text
    message = response.json()["message"]
    assert "out of range" in message and "a year ahead" in message
    return message


@pytest.mark.parametrize("until", FAR + ["yesterday", "a year and a day"])
def test_tie_snooze_outside_today_to_a_year_is_refused(client, ana, until):
    # Given a tie, and a date before today or more than a year ahead
    until = {"yesterday": _today() - timedelta(days=2), "a year and a day": _today() + timedelta(days=367)}.get(
        until, until
    )
    person = ana.people[0]
    # When Ana snoozes the tie until then
    response = client.post(
        f"/v1/ties/{person}/feedback", json={"kind": "snooze", "until": str(until)}, headers=auth_header(ana.token)
    )
    # Then it is refused with a plain sentence, and nothing is recorded
    out_of_range(response)
    listed = client.get(f"/v1/ties/{person}/feedback", headers=auth_header(ana.token)).json()
    assert [f for f in listed if f["kind"] == "snooze"] == []


def test_tie_snooze_today_or_a_year_ahead_is_taken(client, ana):
    person = ana.people[0]
    for until in (_today(), _today() + timedelta(days=365)):
        response = client.post(
            f"/v1/ties/{person}/feedback", json={"kind": "snooze", "until": str(until)}, headers=auth_header(ana.token)
        )
        assert response.status_code == 201, response.text
        assert response.json()["until"] == str(until)


@pytest.mark.parametrize("until", FAR)
def test_digest_snooze_far_dates_are_refused_and_null_resumes(client, ana, until):
    # Given Ana's digest settings
    headers = auth_header(ana.token)
    # When she pauses the digest until a date centuries away
    response = client.patch("/v1/digest/settings", json={"snooze_until": until}, headers=headers)
    # Then it is refused and nothing changed
    out_of_range(response)
    assert client.get("/v1/digest/settings", headers=headers).json()["snooze_until"] is None
    # And a date within the year, then null, are taken
    soon = str(_today() + timedelta(days=30))
    assert (
        client.patch("/v1/digest/settings", json={"snooze_until": soon}, headers=headers).json()["snooze_until"] == soon
    )
    assert (
        client.patch("/v1/digest/settings", json={"snooze_until": None}, headers=headers).json()["snooze_until"] is None
    )


def test_today_is_the_users_own_today(client, ana):
    # Given Ana's time zone set to one where the date is already tomorrow or still yesterday
    # relative to another (Kiritimati is UTC+14, Pago Pago UTC-11)
    headers = auth_header(ana.token)
    ahead, behind = "Pacific/Kiritimati", "Pacific/Pago_Pago"
    # When she snoozes until her own today in each, the time zone sent in the same request
    for zone in (ahead, behind):
        today = _today(zone)
        response = client.patch(
            "/v1/digest/settings", json={"timezone": zone, "snooze_until": str(today)}, headers=headers
        )
        # Then it is taken, and the day before her today is not
        assert response.status_code == 200, response.text
        out_of_range(
            client.patch("/v1/digest/settings", json={"snooze_until": str(today - timedelta(days=1))}, headers=headers)
        )
