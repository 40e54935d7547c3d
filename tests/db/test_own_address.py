"""The wrong own address: an import none of whose mail the user sent is said so, with the
likely address; and the user's other sending addresses are learned from their mail."""

from __future__ import annotations

from service import store
from service.imports import import_file
from service.people import senders

from tests.support.old_mail import ALIAS, ME, write_old_mbox


def test_aliases_are_same_domain_senders_with_the_users_name_or_its_short_form():
    # Given the user's address, and senders seen in their mail
    own = {ME}
    seen = [
        (ME, "Robert Badeer"),
        ("rbadeer@enron.com", None),  # short form of robert.badeer, same domain
        ("bob@enron.com", "Robert Badeer"),  # the user's name, same domain
        ("robert.badeer@gmail.com", "Robert Badeer"),  # the name on a mail provider's domain
        ("rbadeer@gmail.com", None),  # a short form on a mail provider's domain: maybe a namesake
        ("rbadeer@other.example", None),  # another organisation
        ("zed.young@enron.com", "Zed Young"),
    ]
    # Then the short form and the same name on the user's domain are theirs, and nothing else
    assert senders.aliases(seen, own) == {"rbadeer@enron.com", "bob@enron.com"}


def test_an_import_from_the_wrong_address_is_said_so_with_the_likely_one(database, tmp_path):
    # Given a user whose address is not in the mailbox imported for them
    path = tmp_path / "old.mbox"
    total = write_old_mbox(path, alias_every=3)
    with database.tx() as conn:
        user_id = store.create_user(conn, "me@example.org", "Me")
    import_file(database, user_id, "mbox", path)
    with database.tx() as conn:
        check = senders.check(conn, user_id)
    # Then the check names the count, the given address and the mailbox's owner
    assert check.wrong_address and check.top_sender == ME
    words = check.warning(cli=True)
    assert words.startswith(f"None of the {total} messages was sent from me@example.org;")
    assert f"pass --address {ME}" in words
    assert "--address" not in check.warning(cli=False)
    # When the import is run again with the right address
    import_file(database, user_id, "mbox", path, addresses=[ME])
    with database.tx() as conn:
        fixed = senders.check(conn, user_id)
        learned = conn.execute(
            "SELECT address, source FROM user_addresses WHERE user_id = %s AND address = %s", (user_id, ALIAS)
        ).fetchall()
    # Then there is nothing to warn of, and the short-form alias is learned as the user's
    assert fixed.from_user and fixed.warning(cli=True) is None
    assert learned == [(ALIAS, "sent")]


def test_no_mail_is_no_warning(database):
    with database.tx() as conn:
        user_id = store.create_user(conn, "new@example.org", "New")
        assert senders.check(conn, user_id).warning(cli=True) is None


def test_the_dashboard_shows_the_same_warning(settings, tmp_path):
    from fastapi.testclient import TestClient

    from service.api.app import create_app
    from service.auth import create_token

    # Given a user whose import holds none of their own mail, signed in to the dashboard
    with TestClient(create_app(settings)) as client:
        db = client.app.state.db
        path = tmp_path / "old.mbox"
        write_old_mbox(path)
        with db.tx() as conn:
            user_id = store.create_user(conn, "me@example.org", "Me")
            token = create_token(conn, user_id)
        import_file(db, user_id, "mbox", path)
        client.post("/signin", data={"token": token}, headers={"origin": "http://testserver"}, follow_redirects=False)
        # When the home page is opened
        home = client.get("/").text
        # Then it says none of the messages was sent from the given address, and names the likely one
        assert "was sent from me@example.org" in home and ME in home
