"""The To line from the store to the short list: stored roles -> Exchange.cc -> a waiting
message suggested on the tie the API shows (service/people, service/ties/scoring.py)."""

from __future__ import annotations

from analytics import Exchange
from service import people
from service.ties.scoring import compute_ties
from tests.support.analytics import AS_OF, DAY, T_END, small_world
from tests.support.evidence import write_history


def test_the_to_line_survives_the_store_and_a_waiting_message_reaches_the_tie(database):
    # Given the small world, contact 2 quiet for 40 days, then writing to the user alone
    # three days ago, and contact 3 copying the user on a note to contact 4 yesterday
    world = [x for x in small_world() if not (2 in (x.sender, *x.recipients) and x.at > T_END - 40 * DAY)]
    ask = Exchange(T_END - 3 * DAY, "email", 2, (0,), key="ask@example.org")
    copied = Exchange(T_END - 1 * DAY, "email", 3, (4, 0), cc=(0,), key="fyi@example.org")
    user = write_history(database, "you@kith.example", world + [ask, copied])
    with database.tx() as conn:
        # When the exchanges are read back from the store
        exchanges, _info = people.load_exchanges(conn, user, AS_OF)
        by_key = {x.key: x for x in exchanges}
        # Then who was off the To line is known
        assert by_key["fyi@example.org"].cc == (0,)
        assert by_key["ask@example.org"].cc == ()
        # And the waiting message is the tie's suggestion, as the API shows it
        ties = compute_ties(conn, user, AS_OF)
    ana = next(t for t in ties if t["contact"] == "p2@example.org")
    assert ana["suggestion"] == (
        "Answer their message of 29 May 2026: it has waited 3 days; you usually answer them within 3 hours."
    )
