"""The stationary organisation's mail (analytics/stationary_org.py): readable by the
backtest, the same for the same seed, and with no tie that fades."""

from __future__ import annotations

import numpy as np
import pytest

from analytics.corpus import load_edges, messages
from analytics.stationary_org import COLLEAGUES, END, START, generate, main


def test_its_mail_is_read_as_the_enron_edition_is(tmp_path):
    assert main([str(tmp_path), "--people", "40", "--messages", "3000", "--seed", "3"]) == 0
    mail = messages(*load_edges(tmp_path))
    assert mail.invalid_rows == 0 and len(mail) > 3000  # every message, and answers to about half
    assert mail.time.min() >= START and mail.time.max() <= END + 3 * 86400
    assert set(np.unique(mail.sender)) <= set(range(40))


def test_the_same_seed_gives_the_same_mail_and_another_seed_other_mail():
    assert generate(30, 500, 1) == generate(30, 500, 1)
    assert generate(30, 500, 1) != generate(30, 500, 2)


def test_each_person_writes_to_the_same_few_people_all_the_time():
    """Nobody's ties start or end: a person's second half of the mail goes to the people
    of their first half (their colleagues, and those they answer), a few dozen of 100."""
    rows = generate(100, 40000, 5)
    middle = START + (END - START) / 2
    for person in range(100):
        early = {r for s, r, t in rows if s == person and t < middle}
        late = [r for s, r, t in rows if s == person and t >= middle]
        assert len(early) <= 40
        assert sum(r in early for r in late) >= 0.9 * len(late)


def test_years_start_the_mail_earlier_at_the_same_end():
    rows = generate(40, 4000, 3, years=6.0)
    times = np.array([t for _, _, t in rows])
    assert times.max() <= END + 3 * 86400
    # Six years before the end, not at START: the first messages come in the first months.
    assert END - 6 * 365.25 * 86400 <= times.min() < END - 5.9 * 365.25 * 86400
    assert times.min() < START - 2.5 * 365.25 * 86400
    with pytest.raises(ValueError, match="more than 0"):
        generate(40, 10, 3, years=0.0)


def test_too_few_people_are_refused():
    with pytest.raises(ValueError, match="more than"):
        generate(COLLEAGUES, 10, 0)
