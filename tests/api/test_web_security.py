"""The web surface: security headers on every answer, dashboard sessions of their own, and
forms that another site cannot post.

Each attack is replayed as a request: a page on another origin (another port of this host
counts) posting "Sync now" or "Sign out", a form without the session's CSRF token, a
framing page, a stolen or signed-out session cookie.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient

from service.api.app import create_app
from service.dashboard import sessions
from service.digest import links

from tests.support.api import auth_header, seed_user
from tests.api.test_api import ana, app, client

ORIGIN = "http://testserver"
FOREIGN = "http://testserver:8081"  # same host, another port: same site, other origin


def sign_in(client, token: str):
    response = client.post("/signin", data={"token": token}, headers={"origin": ORIGIN}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response


def csrf_of(client) -> str:
    class Finder(HTMLParser):
        value = None

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "input" and attrs.get("name") == "csrf":
                self.value = attrs["value"]

    finder = Finder()
    finder.feed(client.get("/").text)
    assert finder.value
    return finder.value


def _assert_headers(response):
    csp = response.headers.get("content-security-policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ") if d}
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["script-src"] == ["'self'"] and directives["style-src"] == ["'self'"]
    assert directives["default-src"] == ["'none'"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] in ("same-origin", "no-referrer", "strict-origin")


def test_every_answer_carries_the_security_headers(client, ana, settings):
    """Given pages, API answers, errors, static files and the digest's link pages, when each
    is fetched, then each carries the CSP (no unsafe-inline, no framing), nosniff and a
    Referrer-Policy."""
    unsubscribe = urlsplit(links.unsubscribe_url(settings.base_url, settings.secret(), ana.user_id))
    answers = [
        client.get("/"),
        client.get("/healthz"),
        client.get("/v1/ties"),  # 401
        client.get("/v1/ties", headers=auth_header(ana.token)),
        client.get("/nothing-here"),  # 404
        client.get("/static/app.css"),
        client.get("/openapi.json"),
        client.get(f"{unsubscribe.path}?{unsubscribe.query}"),  # the digest's confirmation page
        client.get(f"{unsubscribe.path}?u={ana.user_id}&t=forged"),  # 403
        client.get("/v1/connect/google/callback?state=unknown"),  # the OAuth callback's error page
        client.post(
            "/v1/tokens",
            content=b"{" + b" " * 70_000 + b"}",
            headers=auth_header(ana.token) | {"content-type": "application/json"},
        ),  # 413
    ]
    assert {r.status_code for r in answers} >= {200, 401, 403, 404, 413}
    for response in answers:
        _assert_headers(response)


class InlineFinder(HTMLParser):
    """Collects what a strict CSP would block: inline scripts, <style>, style= and on*= attributes."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        names = {name for name, _ in attrs}
        if tag == "script" and "src" not in names:
            self.found.append("inline <script>")
        if tag == "style":
            self.found.append("<style>")
        self.found += [f"{tag} {name}=" for name in names if name == "style" or name.startswith("on")]


def _inline(html: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(html)
    return finder.found


def test_pages_have_no_inline_script_or_style(client, ana, settings):
    """Given every page the app serves (sign-in, home with its chart, a tie, not found, the
    digest's snooze page), then none holds an inline script, a <style> or a style= attribute,
    so the CSP can forbid them without breaking a page."""
    snooze = urlsplit(
        links.snooze_url(
            settings.base_url, settings.secret(), ana.user_id, ana.people[0], date.today() + timedelta(days=14)
        )
    )
    pages = {"signin": client.get("/").text}
    sign_in(client, ana.token)
    pages["home"] = client.get("/").text
    pages["tie"] = client.get(f"/ties/{ana.people[0]}").text
    pages["missing"] = client.get("/ties/999999").text
    pages["snooze"] = client.get(f"{snooze.path}?{snooze.query}").text
    assert "data-chart=" in pages["home"] and "data-chart=" in pages["tie"]  # the charts are on them
    assert {name: _inline(html) for name, html in pages.items()} == {name: [] for name in pages}


def test_the_session_cookie_is_its_own_id_held_hashed_and_revoked_at_sign_out(client, ana):
    """Given a sign-in with an API token, then the cookie is HttpOnly, SameSite=Strict and is
    not the token; the database holds only its hash; and after sign-out the same cookie value
    opens nothing, while the API token still works."""
    response = sign_in(client, ana.token)
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and "Secure" not in cookie
    session_id = client.cookies["kith_session"]
    assert session_id != ana.token and ana.token not in cookie
    with client.app.state.db.tx() as conn:
        rows = conn.execute(
            "SELECT session_hash, user_id, expires_at > now() + interval '29 days', revoked_at"
            " FROM dashboard_sessions WHERE user_id = %s AND revoked_at IS NULL",
            (ana.user_id,),
        ).fetchall()
    assert (hashlib.sha256(session_id.encode()).digest(), ana.user_id, True, None) in [tuple(r) for r in rows]

    csrf = csrf_of(client)
    out = client.post("/signout", data={"csrf": csrf}, headers={"origin": ORIGIN}, follow_redirects=False)
    assert out.status_code == 303
    # A copy of the cookie kept by whoever stole it is dead too: the row is revoked.
    client.cookies.set("kith_session", session_id)
    assert 'id="signin"' in client.get("/").text
    assert client.get(f"/ties/{ana.people[0]}", follow_redirects=False).status_code == 303
    with client.app.state.db.tx() as conn:
        assert conn.execute(
            "SELECT revoked_at IS NOT NULL FROM dashboard_sessions WHERE session_hash = %s",
            (hashlib.sha256(session_id.encode()).digest(),),
        ).fetchone() == (True,)
    assert client.get("/v1/me", headers=auth_header(ana.token)).status_code == 200


def test_an_api_token_is_no_session_and_revoking_the_token_ends_its_sessions(client, ana):
    """Given the API token itself set as the cookie (the old scheme), then it opens nothing;
    given a live session, when its token is revoked, then the session ends."""
    client.cookies.set("kith_session", ana.token)
    assert 'id="signin"' in client.get("/").text
    client.cookies.clear()
    sign_in(client, ana.token)
    assert 'id="signin"' not in client.get("/").text
    assert client.delete(f"/v1/tokens/{ana.token_id}", headers=auth_header(ana.token)).status_code in (200, 204)
    assert 'id="signin"' in client.get("/").text


def test_secure_cookie_when_the_base_url_is_https(settings):
    app = create_app(settings.model_copy(update={"base_url": "https://kith.example.org"}))
    with TestClient(app, base_url="https://kith.example.org") as client:
        ana = seed_user(app.state.db, "ana@north.example")
        response = client.post(
            "/signin", data={"token": ana.token}, headers={"origin": "https://kith.example.org"}, follow_redirects=False
        )
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"] and "HttpOnly" in response.headers["set-cookie"]


@pytest.mark.parametrize("action", ["sync", "signout"])
def test_another_origin_cannot_post_a_form(client, ana, action):
    """Given a signed-in browser, when a page on another port of this host posts "Sync now"
    or "Sign out" (with or without guessing a CSRF field), or a page withholds its Origin but
    the browser says it is cross-site, or the form lacks the CSRF token, then each gets 403
    and nothing happens; the dashboard's own form, with its token, works."""
    sign_in(client, ana.token)
    csrf = csrf_of(client)
    path = f"/accounts/{ana.account_id}/sync" if action == "sync" else "/signout"
    attacks = [
        ({"csrf": csrf}, {"origin": FOREIGN}),  # even a leaked token needs our Origin
        ({}, {"origin": FOREIGN}),
        ({"csrf": "0" * 64}, {"origin": ORIGIN}),  # a guessed token
        ({}, {"origin": ORIGIN}),  # no token at all
        ({"csrf": csrf}, {"origin": "null"}),  # a sandboxed frame
        ({"csrf": csrf}, {"sec-fetch-site": "same-site"}),  # Origin withheld, another port
        ({}, {}),  # curl with a stolen cookie
    ]
    for fields, headers in attacks:
        response = client.post(path, data=fields, headers=headers, follow_redirects=False)
        assert response.status_code == 403, (fields, headers, response.status_code)
        _assert_headers(response)
    assert 'id="signin"' not in client.get("/").text  # still signed in: no sign-out happened
    ok = client.post(path, data={"csrf": csrf}, headers={"origin": ORIGIN}, follow_redirects=False)
    assert ok.status_code == 303


def test_sign_in_from_another_origin_is_refused(client, ana):
    """Given another site that posts its own token to our sign-in (login CSRF), then 403 and no cookie."""
    response = client.post("/signin", data={"token": ana.token}, headers={"origin": FOREIGN}, follow_redirects=False)
    assert response.status_code == 403 and "set-cookie" not in response.headers


def test_bearer_api_routes_need_no_csrf(client, ana):
    """API routes authenticate by a header no other site can set: they stay as they were."""
    response = client.post("/v1/tokens", json={"name": "script"}, headers=auth_header(ana.token) | {"origin": FOREIGN})
    assert response.status_code in (200, 201)


def test_csrf_token_is_bound_to_the_session():
    assert sessions.csrf_token("a" * 43) != sessions.csrf_token("b" * 43)
    assert sessions.csrf_token("a" * 43) == sessions.csrf_token("a" * 43)


def test_the_api_reference_page_runs_no_inline_script(client):
    """Given /docs (Swagger UI), then it starts from a static file, not an inline script, and
    its policy adds only the CDN its files come from, still without unsafe-inline or framing."""
    response = client.get("/docs")
    assert response.status_code == 200 and _inline(response.text) == []
    assert '<script src="/static/swagger-init.js">' in response.text
    assert client.get("/static/swagger-init.js").status_code == 200
    csp = response.headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert {d.split()[0]: d.split()[1:] for d in csp.split("; ")}["script-src"] == [
        "'self'",
        "https://cdn.jsdelivr.net",
    ]
    assert response.headers["x-content-type-options"] == "nosniff"
