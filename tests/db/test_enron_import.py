"""Real data: one Enron employee's mail, through the mbox importer and the scorer.

Given Louise Kitchen's part of the Enron metadata written as a headers-only mbox, when it
is imported and scored as of the end of the data, then the 1979 rows are quarantined with
their reason, everything else is kept, and her strongest ties are people she really
exchanged mail with both ways, not people who only cc'd her.
"""

from collections import Counter
from datetime import datetime, timezone

import pytest

from ingest.sandbox.enron import ego_messages, employee_mbox, load_messages, load_people
from service import store
from service.imports import import_file
from service.ties.scoring import score_user

from tests.conftest import ENRON

EMPLOYEE = 107  # Louise Kitchen, President, Enron Online
AS_OF = datetime(2002, 1, 1, tzinfo=timezone.utc)

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not ENRON.exists(), reason="../shared/data/enron-igraph is not beside the repo"),
]


def test_an_employees_top_ties_are_two_way_correspondents(database, tmp_path, capsys):
    people = load_people(ENRON)
    mine = ego_messages(load_messages(ENRON), EMPLOYEE)
    path = tmp_path / "kitchen.mbox"
    assert employee_mbox(ENRON, EMPLOYEE, path) == len(mine)
    me = people[EMPLOYEE].address
    with database.tx() as conn:
        user_id = store.create_user(conn, me, people[EMPLOYEE].name)
    reports = import_file(database, user_id, "mbox", path, addresses=[me])
    bogus = sum(1 for m in mine if m.at.year < 1990)
    assert reports[0].quarantined == bogus
    assert reports[0].written == len(mine) - bogus

    ties = score_user(database, user_id, AS_OF)
    # Two-way correspondents in the 180 days before AS_OF, by the raw data
    window = [m for m in mine if (AS_OF - m.at).days <= 180 and m.at < AS_OF]
    sent_to, got_from = Counter(), Counter()
    for m in window:
        if m.sender == EMPLOYEE:
            sent_to.update(set(m.to) | set(m.cc) | set(m.bcc))
        else:
            got_from[m.sender] += 1
    two_way = {people[p].address for p in sent_to if got_from[p] >= 2 and sent_to[p] >= 2}
    top = ties[:5]
    with capsys.disabled():
        print(
            f"\nEnron, {people[EMPLOYEE].name}: {len(mine)} messages, {bogus} quarantined (1979 dates), "
            f"{len(ties)} ties; top 5 as of {AS_OF.date()}:"
        )
        for t in top:
            print(
                f"  {t['strength']:3d} {t['tier']:7s} {t['contact']:32s} rec {t['reciprocity']:+4d} "
                f"{','.join(t['flags'])} | {'; '.join(t['explanation'][:2])}"
            )
    assert sum(t["contact"] in two_way for t in top) >= 4
    assert me not in {t["contact"] for t in ties}
