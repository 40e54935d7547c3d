"""The team line of the weekly digest: introductions asked of the user, at most one line,
nothing the user has not shared."""

from __future__ import annotations

from datetime import datetime, timezone

from service import digest
from service.digest import render
from service.digest.team_line import team_line
from service.teams import introductions, membership
from tests.support.team import mate, snapshot

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


def test_the_line_names_the_first_request_and_counts_the_rest():
    # Given no requests, then one, then three
    assert team_line([]) == ""
    one = [{"asked_by": "Ana Ruiz", "contact": "lee@acme.example", "team": "Sales", "id": 1}]
    assert team_line(one) == "Team: Ana Ruiz asked you for an introduction to lee@acme.example."
    three = one + [dict(one[0], id=2), dict(one[0], id=3)]
    line = team_line(three)
    # Then it is one line, naming the first and counting the others
    assert "\n" not in line and line.endswith("and 2 more requests are waiting.")


def _digest_text(settings, database, user_id):
    with database.tx() as conn:
        d = digest.digest_for(settings, conn, user_id, now=NOW)
    html, text = render.render_parts(d, base_url=settings.base_url, secret=settings.secret(), chart=None)
    return d, html, text


def test_a_request_reaches_the_holders_digest_and_leaves_it_when_they_stop_sharing(settings, database):
    # Given Bo shares lee@acme.example and kim@ with a team, and Ana asks him about lee
    ana = mate(
        database, "ana@home.example", "Ana <b>Ruiz</b>", [("lee@acme.example", 80, "2026-11-01T10:00:00Z", True)]
    )
    bo = mate(database, "bo@home.example", "Bo Chen")
    with database.tx() as conn:
        snapshot(conn, bo.user_id, [("lee@acme.example", 75, "2026-11-02T10:00:00Z", True)])
        team = membership.create_team(conn, ana.user_id, "Sales")
        membership.join(conn, team, bo.user_id)
        membership.set_sharing(conn, team, ana.user_id, True)
        membership.set_sharing(conn, team, bo.user_id, True)
        introductions.ask(conn, team, ana.user_id, bo.user_id, "lee@acme.example", "private note text")
    # When Bo's digest is built
    d, html, text = _digest_text(settings, database, bo.user_id)
    # Then it carries one team line, in text and HTML (escaped), and never the note
    assert d.team_line.startswith("Team: Ana <b>Ruiz</b> asked you for an introduction to lee@acme.example")
    assert sum("asked you for an introduction" in line for line in text.splitlines()) == 1
    assert "Ana &lt;b&gt;Ruiz&lt;/b&gt; asked you" in html and "<b>Ruiz</b>" not in html
    assert "private note text" not in text and "private note text" not in html
    # And Ana, who asked, gets no line about it
    assert _digest_text(settings, database, ana.user_id)[0].team_line == ""
    # When Bo stops sharing, the line goes with what he shared
    with database.tx() as conn:
        membership.set_sharing(conn, team, bo.user_id, False)
    d, html, text = _digest_text(settings, database, bo.user_id)
    assert d.team_line == "" and "introduction" not in text


def test_a_request_for_an_address_no_longer_shared_is_not_mentioned(settings, database):
    # Given Bo's newer snapshot no longer holds lee (the tie faded under 15)
    ana = mate(database, "ana@home.example", "Ana Ruiz", [("x@y.example", 80, "2026-11-01T10:00:00Z", True)])
    bo = mate(database, "bo@home.example", "Bo Chen", [("lee@acme.example", 75, "2026-11-02T10:00:00Z", True)])
    with database.tx() as conn:
        team = membership.create_team(conn, ana.user_id, "Sales")
        membership.join(conn, team, bo.user_id)
        membership.set_sharing(conn, team, ana.user_id, True)
        membership.set_sharing(conn, team, bo.user_id, True)
        introductions.ask(conn, team, ana.user_id, bo.user_id, "lee@acme.example", "")
        snapshot(conn, bo.user_id, [("lee@acme.example", 10, "2026-11-20T10:00:00Z", True)], as_of=NOW)
    # Then his digest does not name it
    assert _digest_text(settings, database, bo.user_id)[0].team_line == ""
