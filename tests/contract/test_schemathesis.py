"""Property-based run of the whole API against its own OpenAPI schema (schemathesis, in process).

For every operation, schemathesis generates requests from the schema (valid and invalid),
sends them to the ASGI app with a real token, and checks: no 5xx, the status is one the
schema documents, and the body and headers match the documented shape. Each operation
gets its own seeded user, so a DELETE /v1/me in one never starves another.

Left out: `positive_data_acceptance`. Some rules are not expressible in the schema (a cursor
must be one the API gave out, a time zone must exist, split addresses must belong to the
person, a rule's value must be an address when kind is address): schema-valid requests
that break them get a 4xx that says so, which that check would count as a failure.
"""

from __future__ import annotations

import itertools
import uuid

import psycopg
import pytest
import schemathesis
from hypothesis import HealthCheck, assume, settings as hypothesis_settings
from schemathesis.specs.openapi.checks import positive_data_acceptance
from psycopg import sql

from service.api.app import create_app
from service.config import Settings
from service.db import Database

from tests.support.api import auth_header, seed_user, serve
from tests.conftest import create_database

EXAMPLES = 20
# The schema is the app's own; building it needs no database, only URLs to put in settings.
schema = schemathesis.openapi.from_dict(
    create_app(Settings(database_url="postgresql://schema-only", redis_url="redis://schema-only")).openapi()
).exclude(path_regex=r"^/v1/connect/")  # provider flows: their owners test them against the emulators
_users = itertools.count()


@pytest.fixture(scope="module")
def module_app(server_url, template_db, redis_server_url, tmp_path_factory):
    """One served app and database for the module; each test gets its own user in it."""
    name = f"kith_st_{uuid.uuid4().hex[:12]}"
    url = create_database(server_url, name, template_db)
    # Google "configured" against loopback URIs: starting its flow only builds a URL.
    settings = Settings(
        home=tmp_path_factory.mktemp("kith-st"),
        database_url=url,
        redis_url=redis_server_url,
        secret_key="test-secret-key-not-for-production",
        google_client_id="kith-test-client",
        google_auth_uri="http://127.0.0.1:9/auth",
        google_token_uri="http://127.0.0.1:9/token",
    )
    db = Database(url, min_size=1, max_size=2)
    try:
        # A real server on loopback: schemathesis' follow-up requests (auth checks, odd
        # methods) reach the same app the same way.
        with serve(create_app(settings)) as base_url:
            yield base_url, db
    finally:
        db.close()
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def user(module_app):
    _, db = module_app
    return seed_user(db, f"user{next(_users)}@north.example")


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
def test_api_conforms_to_its_schema(case, module_app, user):
    """Given any request the schema allows (or nearly allows), when it is sent with a valid token,
    then the API answers without a 5xx and as its schema says."""
    # Starting Microsoft's flow needs its identity platform (msal discovers the authority
    # over the network; here it answers 503): its owner tests it against the emulator.
    assume(
        not (
            case.path == "/v1/accounts/connect"
            and isinstance(case.body, dict)
            and case.body.get("provider") == "microsoft"
        )
    )
    base_url, _ = module_app
    # The token replaces the generated one. A negative case that left the Authorization
    # header out is sent without it: given the token, its other mutations can all come out
    # valid (an object in the query string is sent as `q=`, a valid string), and the API
    # would be blamed for accepting it. Without the token it must answer 401.
    token = auth_header(user.token) if "Authorization" in (case.headers or {}) else {}
    response = case.call_and_validate(base_url=base_url, headers=token, excluded_checks=[positive_data_acceptance])
    assert response.status_code < 500
