"""The dashboard's pages and forms, route by route (no browser): the table of ties in words,
sorting, search and pages, feedback on a tie, connecting a mailbox, the tie's whole history,
and that every route answers only for the signed-in user's own people and accounts."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

from psycopg.types.json import Jsonb

from tests.support.api import AS_OF, _interaction, seed_user
from tests.api.test_api import GOOGLE_AUTH, app, ben, client
from tests.api.test_web_security import ORIGIN, csrf_of, sign_in

HOSTILE = '<img src=x onerror="alert(1)">Eve </td><script>alert(2)</script>'
RAW = ("None", "0.0", "one_sided_", "not_relationship", "initiated_by", "median_reply", "_you", "_them")


def _visible_text(html: str) -> str:
    """The page's text as a person reads it: tags, attributes and charts' data left out."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", " ", html))


def _signed_in(client, who):
    client.cookies.clear()
    sign_in(client, who.token)
    return csrf_of(client)


def test_the_table_lists_ties_in_words_sorted_searched_and_paged(client):
    """Given a user with 60 scored ties, when the home page opens, then the table shows the
    first 50 strongest first, in words (balance, flags, relative last contact), with no raw
    key, None or 0.0; sorting by name orders them; a search keeps only matches; the next
    page link shows the other 10."""
    many = seed_user(client.app.state.db, "many@north.example", n_people=60)
    _signed_in(client, many)
    home = client.get("/")
    assert home.status_code == 200
    rows = re.findall(r'<tr id="tie-(\d+)"', home.text)
    assert len(rows) == 50 and int(rows[0]) == many.people[0]  # person 0 is the strongest
    text = _visible_text(home.text)
    for raw in RAW:
        assert raw not in text, raw
    assert "one-sided: you do the reaching out" in text and "gone quiet" in text
    assert re.search(r"\b(\d+ (days|weeks|months) ago|yesterday|today)\b", text)
    assert 'aria-sort="descending"' in home.text  # strength, the default sort

    by_name = client.get("/", params={"sort": "name"})
    names = [unescape(n) for n in re.findall(r'class="tie-link" href="/ties/\d+">([^<]+)</a>', by_name.text)]
    table_names = names[-50:]  # after the list to deepen
    assert table_names == sorted(table_names, key=str.lower)
    assert 'aria-sort="ascending"' in by_name.text

    found = client.get("/", params={"q": "person 1"})
    rows_found = re.findall(r'<tr id="tie-(\d+)"', found.text)
    assert rows_found and len(rows_found) == 11  # Person 1, 10..19
    assert client.get("/", params={"q": "nobody-like-this"}).text.count('<tr id="tie-') == 0

    cursor = re.search(r'rel="next" href="([^"]+)"', home.text).group(1)
    second = client.get(unescape(cursor).split("#")[0])
    assert len(re.findall(r'<tr id="tie-(\d+)"', second.text)) == 10
    assert "Back to the first 50" in second.text
    broken = client.get("/", params={"cursor": "not-a-cursor"})
    assert broken.status_code == 200 and "starts again from the top" in broken.text


def test_names_from_mail_headers_are_text_and_an_exchange_dn_gives_way_to_the_address(client):
    """Given a tie named with markup and one whose name and contact are an Exchange DN, when
    the home and tie pages render, then the markup is escaped everywhere (table, list, the
    chart's data) and the DN's person is shown by their mail address."""
    ana = seed_user(client.app.state.db, "ana@north.example")
    dn = "/o=ExchangeLabs/ou=Exchange Administrative Group/cn=Recipients/cn=ben.ortiz"
    with client.app.state.db.tx() as conn:
        for pid, name, contact in ((ana.people[0], HOSTILE, None), (ana.people[1], dn, dn)):
            conn.execute(
                "UPDATE score_snapshots SET payload = payload || %s WHERE user_id = %s AND person_id = %s",
                (Jsonb({"name": name} | ({"contact": contact} if contact else {})), ana.user_id, pid),
            )
    _signed_in(client, ana)
    home = client.get("/").text
    assert "<script>alert(2)" not in home and "<img src=x" not in home
    assert "&lt;img src=x" in home
    chart = re.search(r"id=\"scatter\"[^>]*data-chart='([^']*)'", home).group(1)
    names = [p["name"] for ds in json.loads(unescape(chart))["datasets"] for p in ds["points"]]
    assert HOSTILE in names  # the data keeps the name as it is; charts.js draws it as text
    assert "/o=ExchangeLabs" not in _visible_text(home)
    assert "person1@north.example" in _visible_text(home)
    tie = client.get(f"/ties/{ana.people[1]}").text
    assert "/o=ExchangeLabs" not in _visible_text(tie) and "person1@north.example" in tie
    assert "<script>alert(2)" not in client.get(f"/ties/{ana.people[0]}").text


def test_feedback_buttons_save_the_word_for_the_users_own_ties_only(client, ben):
    """Given two users, when Ana marks a tie as mattering and snoozes another for 30 days,
    then both are kept (the snooze until 30 days from her today) and shown in the row; when
    she posts feedback on Ben's person, or without the CSRF token, or from another origin,
    nothing is kept."""
    ana = seed_user(client.app.state.db, "ana@north.example")
    csrf = _signed_in(client, ana)
    posted = client.post(
        f"/ties/{ana.people[2]}/feedback",
        data={"csrf": csrf, "kind": "matters", "next": "/?sort=name"},
        headers={"origin": ORIGIN},
        follow_redirects=False,
    )
    assert posted.status_code == 303 and posted.headers["location"] == f"/?sort=name#tie-{ana.people[2]}"
    snoozed = client.post(
        f"/ties/{ana.people[3]}/feedback",
        data={"csrf": csrf, "kind": "snooze", "days": "30", "next": "//evil.example/"},
        headers={"origin": ORIGIN},
        follow_redirects=False,
    )
    assert snoozed.headers["location"] == f"/ties/{ana.people[3]}#tie-{ana.people[3]}"  # not another site
    with client.app.state.db.tx() as conn:
        words = conn.execute(
            "SELECT person_id, kind, until FROM feedback WHERE user_id = %s AND person_id = ANY(%s)",
            ([ana.user_id, [ana.people[2], ana.people[3]]]),
        ).fetchall()
        zone = conn.execute("SELECT timezone FROM users WHERE id = %s", (ana.user_id,)).fetchone()[0]
    today = datetime.now(ZoneInfo(zone or "UTC")).date()
    assert sorted(words) == [(ana.people[2], "matters", None), (ana.people[3], "snooze", today + timedelta(days=30))]
    page = client.get("/").text
    assert "You said this tie matters" in page and "Snoozed until" in page

    refused = [
        client.post(
            f"/ties/{ben.people[1]}/feedback", data={"csrf": csrf, "kind": "matters"}, headers={"origin": ORIGIN}
        ),
        client.post(f"/ties/{ana.people[4]}/feedback", data={"kind": "matters"}, headers={"origin": ORIGIN}),
        client.post(
            f"/ties/{ana.people[4]}/feedback",
            data={"csrf": csrf, "kind": "matters"},
            headers={"origin": "http://testserver:8081"},
        ),
        client.post(f"/ties/{ana.people[4]}/feedback", data={"csrf": csrf, "kind": "love"}, headers={"origin": ORIGIN}),
        client.post(
            f"/ties/{ana.people[4]}/feedback",
            data={"csrf": csrf, "kind": "snooze", "days": "9999"},
            headers={"origin": ORIGIN},
        ),
    ]
    assert [r.status_code for r in refused] == [404, 403, 403, 422, 422]
    assert "south.example" not in refused[0].text
    with client.app.state.db.tx() as conn:
        assert conn.execute(
            "SELECT count(*) FROM feedback WHERE person_id = ANY(%s) AND created_at > now() - interval '1 minute'",
            ([ben.people[1], ana.people[4]],),
        ).fetchone() == (0,)
    client.cookies.clear()
    anonymous = client.post(f"/ties/{ana.people[4]}/feedback", data={"kind": "matters"}, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/"


def test_connect_buttons_start_the_providers_sign_in_in_this_browser(client):
    """Given Google configured and Microsoft not, when the Connect Google button is posted,
    then the browser goes to Google's sign-in with the flow's cookie; Connect Microsoft says
    plainly that it is not available; an unknown provider is a 404."""
    ana = seed_user(client.app.state.db, "ana@north.example")
    csrf = _signed_in(client, ana)
    home = client.get("/").text
    assert "Connect Google" in home and "Connect Microsoft" in home
    google = client.post(
        "/accounts/connect/google", data={"csrf": csrf}, headers={"origin": ORIGIN}, follow_redirects=False
    )
    assert google.status_code == 303 and google.headers["location"].startswith(GOOGLE_AUTH)
    assert "kith_oauth_" in google.headers["set-cookie"]
    microsoft = client.post(
        "/accounts/connect/microsoft", data={"csrf": csrf}, headers={"origin": ORIGIN}, follow_redirects=False
    )
    assert microsoft.status_code == 503 and "Cannot connect Microsoft 365 now" in microsoft.text
    assert client.post("/accounts/connect/imap", data={"csrf": csrf}, headers={"origin": ORIGIN}).status_code == 404
    forged = client.post("/accounts/connect/google", data={}, headers={"origin": ORIGIN}, follow_redirects=False)
    assert forged.status_code == 403


def test_account_health_is_in_words_and_the_demos_finished_accounts_are_not_errors(client):
    """Given an account mid-sync, a demo account disconnected when its emulator stopped and a
    revoked one, then each says where it stands in a sentence, and only the revoked one is
    marked as a problem."""
    ana = seed_user(client.app.state.db, "ana@north.example")
    with client.app.state.db.tx() as conn:
        demo = conn.execute(
            "INSERT INTO accounts (user_id, provider, address, status, last_error, last_synced_at)"
            " VALUES (%s, 'microsoft', 'ana@demo.example', 'disabled', 'demo account: its emulator has stopped',"
            " now() - interval '2 hours') RETURNING id",
            (ana.user_id,),
        ).fetchone()[0]
        revoked = conn.execute(
            "INSERT INTO accounts (user_id, provider, address, status, last_error)"
            " VALUES (%s, 'google', 'ana@revoked.example', 'auth_revoked', 'invalid_grant') RETURNING id",
            (ana.user_id,),
        ).fetchone()[0]
    _signed_in(client, ana)
    home = client.get("/").text
    tones = {
        int(account): tone
        for tone, account in re.findall(r'class="account (tone-\w+) [^"]*" data-account="(\d+)"', home)
    }
    assert tones[demo] == "tone-quiet" and tones[revoked] == "tone-bad" and tones[ana.account_id] == "tone-busy"
    text = _visible_text(home)
    assert "Disconnected (the demo's emulator has stopped); last synced 2 hours ago. Its mail stays in Kith." in text
    assert "First sync under way: 25% read so far." in text
    assert "Access was withdrawn at the provider: reconnect to go on syncing." in text


def test_the_tie_page_shows_the_whole_history_since_the_first_contact_and_the_ledger_in_sentences(client, ben):
    """Given a tie that was busy two years ago and has been quiet since, when its page opens,
    then the history chart starts at the first contact (month by month) and holds the old
    mail, the ledger reads as sentences, and Ben's tie is not found for Ana."""
    ana = seed_user(client.app.state.db, "ana@north.example")
    pid = ana.people[5]
    long_ago = AS_OF - timedelta(days=730)
    with client.app.state.db.tx() as conn:
        for k in range(12):
            when = long_ago + timedelta(days=7 * k)
            _interaction(
                conn, ana.user_id, ana.account_id, f"old{k}", "email", when, "person5@north.example", [ana.email], False
            )
        conn.execute(
            "UPDATE score_snapshots SET payload = payload || %s WHERE user_id = %s AND person_id = %s",
            (
                Jsonb(
                    {
                        "name": "Ana Ruiz",
                        "ledger": {
                            "initiated_by_you": 5,
                            "initiated_by_them": 9,
                            "replies_by_you": 3,
                            "replies_by_them": 0,
                            "meetings_you_organised": 0,
                            "meetings_they_organised": 0,
                            "median_reply_hours_you": 20.0,
                            "median_reply_hours_them": 1.6,
                            "messages_to_them": 0.0,
                            "window_days": 180,
                        },
                    }
                ),
                ana.user_id,
                pid,
            ),
        )
    _signed_in(client, ana)
    page = client.get(f"/ties/{pid}")
    assert page.status_code == 200
    chart = json.loads(unescape(re.search(r"id=\"history-chart\"[^>]*data-chart='([^']*)'", page.text).group(1)))
    assert chart["unit"] == "month"
    assert chart["starts"][0] == long_ago.date().replace(day=1).isoformat()
    email_in = next(s for s in chart["series"] if s["key"] == "email_in")["data"]
    assert sum(email_in) == 12 and sum(email_in[:4]) == 12  # the strong past is on the chart
    text = _visible_text(page.text)
    assert "You started 5 of the last 14 conversations (in 180 days); Ana started 9." in text
    assert "Ana usually replies within 2 hours, you within a day." in text
    assert "You answered 3 messages of theirs; Ana answered 0 messages of yours." in text
    for raw in RAW:
        assert raw not in text, raw
    assert re.search(r'<time datetime="\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ" data-local="date">', page.text)
    missing = client.get(f"/ties/{ben.people[0]}")
    assert missing.status_code == 404 and "south.example" not in missing.text


def test_dashboard_routes_need_a_session(client):
    """Without a session every page sends the browser to sign in and every action is refused."""
    ana = seed_user(client.app.state.db, "ana@north.example")
    client.cookies.clear()
    assert 'id="signin"' in client.get("/").text
    assert client.get(f"/ties/{ana.people[0]}", follow_redirects=False).status_code == 303
    assert client.post("/accounts/connect/google", follow_redirects=False).status_code == 303
    assert client.post("/uploads?name=x.mbox", content=b"From x").status_code == 401
    assert client.get("/uploads/abc").status_code == 401


def test_a_user_never_scored_still_sees_ties_computed_from_the_data(client):
    """Given a user with mail but no scoring yet, when the home page opens, then the table and
    the chart hold the ties computed from the data, and their tie pages open."""
    ana = seed_user(client.app.state.db, "ana@north.example", snapshots=False)
    _signed_in(client, ana)
    home = client.get("/")
    assert home.status_code == 200
    rows = [int(r) for r in re.findall(r'<tr id="tie-(\d+)"', home.text)]
    assert rows and set(rows) <= set(ana.people)
    chart = json.loads(unescape(re.search(r"id=\"scatter\"[^>]*data-chart='([^']*)'", home.text).group(1)))
    assert chart["n"] == len(rows)
    assert client.get(f"/ties/{rows[0]}").status_code == 200


def test_each_tie_to_deepen_says_why_it_is_on_the_list_escaped(client):
    """Given scored ties to deepen, one whose first reason holds markup, when the home page
    opens, then each item of the list gives its tie's first reason beside the suggestion,
    the markup as text, and the table below gives no reason line."""
    ana = seed_user(client.app.state.db, "ana@north.example")
    hostile = "Awaiting your reply <script>alert(3)</script>"
    with client.app.state.db.tx() as conn:
        conn.execute(
            "UPDATE score_snapshots SET payload = payload || %s WHERE user_id = %s AND person_id = %s",
            (Jsonb({"explanation": [hostile, "Contact on 30 of the last 52 weeks"]}), ana.user_id, ana.people[0]),
        )
    _signed_in(client, ana)
    home = client.get("/").text
    section = home[home.index('id="deepen"') : home.index("</section>", home.index('id="deepen"'))]
    items = re.findall(r'<li data-person="(\d+)">(.*?)</li>', section, flags=re.S)
    assert len(items) >= 2
    reasons = {int(pid): re.findall(r'<p class="reason">([^<]*)</p>', body) for pid, body in items}
    assert reasons[ana.people[0]] == ["Awaiting your reply &lt;script&gt;alert(3)&lt;/script&gt;"]
    assert reasons[ana.people[3]] == ["4 one-to-one meetings in the last 90 days"]
    assert "<script>alert(3)" not in home
    assert home.count('class="reason"') == len(items)  # only the list to deepen has them
