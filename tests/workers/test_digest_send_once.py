"""`kith digest --send` sends a week once: run again (a cron job firing twice) it says the
week was sent and sends nothing; `--resend` sends it again on purpose."""

from __future__ import annotations

from datetime import datetime, timezone

from tests.support.digest import seed_user

from tests.api.test_cli import kith


def test_send_twice_mails_once_and_resend_mails_again(kith, settings, database, tmp_path):
    # Given a user with scored ties
    with database.tx() as conn:
        user_id = seed_user(conn, "zoe@example.org", datetime.now(timezone.utc))
    outbox = tmp_path / "home" / "outbox" / str(user_id)
    # When a cron job sends this week's digest twice
    first = kith("digest", "--user", "zoe@example.org", "--send")
    second = kith("digest", "--user", "zoe@example.org", "--send")
    # Then one email is written, and the second run says it was already sent
    assert "sent the digest for the week of" in first.stderr
    assert len(list(outbox.glob("*.eml"))) == 1
    assert "was already sent" in second.stderr and "nothing sent" in second.stderr
    assert "--resend" in second.stderr
    # When it is re-sent on purpose
    third = kith("digest", "--user", "zoe@example.org", "--resend")
    # Then a second email goes out
    assert "sent the digest" in third.stderr
    assert len(list(outbox.glob("*.eml"))) == 2
