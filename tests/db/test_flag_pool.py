"""The deployment's flag gate on a real database (service/ties/flag_pool.py): each scoring
keeps the user's raw flag counts with its accuracy check, and the latest counts of every
user, pooled, decide whether cooling is shown to anyone."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta

from psycopg.types.json import Jsonb

from analytics import flag_gate
from analytics.evidence import measure
from service import store
from service.ties import flag_pool
from service.ties.scoring import compute_ties, score_user
from tests.support.analytics import AS_OF, DAY, T_END, conversation, regular
from tests.support.evidence import CALLS, history, write_history

# Each user's counts: 4 active ties flagged cooling, against 20 active clear ones of which 10 were in touch after.
FAILS = flag_gate.Counts(cooling=4, cooling_touched=2, clear=20, clear_touched=10)  # ratio 1.0
CLEARS = flag_gate.Counts(cooling=4, cooling_touched=0, clear=20, clear_touched=10)  # ratio 0.0


def cooling_history() -> list:
    """Tie 1 went from every 4 days to silent for 85 days (cooling); tie 2 is steady weekly."""
    ex = regular(1, every_days=4, start_days_ago=600, stop_days_ago=100) + conversation(1, T_END - 85 * DAY)
    return ex + regular(2, every_days=7, start_days_ago=600)


def others(database, n: int) -> list[int]:
    with database.tx() as conn:
        return [store.create_user(conn, f"user{i}@south.example") for i in range(n)]


def keep(database, user: int, at: datetime, counts: flag_gate.Counts | dict) -> None:
    data = counts.as_json() if isinstance(counts, flag_gate.Counts) else counts
    with database.tx() as conn:
        conn.execute(
            "INSERT INTO accuracy_checks (user_id, scored_at, payload, flag_counts) VALUES (%s, %s, '{}', %s)",
            (user, at, Jsonb(data)),
        )


def cooling_shown(database, user: int) -> bool:
    with database.tx() as conn:
        ties = compute_ties(conn, user, AS_OF)
    return any("cooling" in t["flags"] for t in ties)


def test_the_pooled_outcomes_of_the_deployments_users_decide_whether_cooling_is_shown(database):
    # Given Ana, whose tie with person 1 meets the cooling test, and no pooled evidence yet
    ana = write_history(database, "ana@north.example", cooling_history())
    assert cooling_shown(database, ana)  # the shipped constant decides
    # When eight other users' checks say cooling flags were in touch as often as the rest
    team = others(database, 8)
    for user in team:
        keep(database, user, AS_OF - timedelta(days=10), FAILS)
    # Then Ana is shown no cooling flag
    assert not cooling_shown(database, ana)
    # And when each user's later check says the flags went quiet, the flag is back
    for user in team:
        keep(database, user, AS_OF - timedelta(days=3), CLEARS)
    assert cooling_shown(database, ana)


def test_each_users_latest_check_of_each_recent_month_counts(database, caplog):
    ana = write_history(database, "ana@north.example", cooling_history())
    team = others(database, 8)
    # Given failing checks older than POOL_DAYS, and checks after the scoring moment
    for user in team:
        keep(database, user, AS_OF - timedelta(days=flag_pool.POOL_DAYS + 1), FAILS)
        keep(database, user, AS_OF + timedelta(days=1), FAILS)
    # Then neither decides (too old; not yet known then): the shipped constant shows cooling
    with database.tx() as conn:
        assert flag_pool.counts(conn, AS_OF) == []
    assert cooling_shown(database, ana)
    # Given a failing check in May and a later one that clears in May, then May's latest counts
    for user in team:
        keep(database, user, datetime(2026, 5, 10, tzinfo=AS_OF.tzinfo), FAILS)
        keep(database, user, datetime(2026, 5, 20, tzinfo=AS_OF.tzinfo), CLEARS)
    with database.tx() as conn:
        assert flag_pool.counts(conn, AS_OF) == [CLEARS] * 8
    assert cooling_shown(database, ana)
    # Given failing checks in March and April too, then each user's months are summed:
    # 12 flags, 4 back in touch, against half the clear ties: a ratio of 0.67, hidden
    for user in team[1:]:
        for month in (3, 4):
            keep(database, user, datetime(2026, month, 15, tzinfo=AS_OF.tzinfo), FAILS)
    # And a malformed row is left out, and said
    keep(database, team[0], datetime(2026, 4, 15, tzinfo=AS_OF.tzinfo), {"cooling": "many"})
    with caplog.at_level(logging.WARNING, logger="service.ties.flag_pool"), database.tx() as conn:
        pool = flag_pool.counts(conn, AS_OF)
    assert sorted(pool, key=lambda c: c.cooling) == [CLEARS] + [CLEARS + FAILS + FAILS] * 7
    assert pool[1].cooling == 12 and pool[1].cooling_touched == 4
    assert [r.getMessage() for r in caplog.records] == [
        f"flag counts of user {team[0]} at 2026-04-15 00:00:00+00:00 left out of the pool: "
        "flag counts: cooling is 'many', not a count"
    ]
    assert not cooling_shown(database, ana)


def test_a_scoring_keeps_the_users_raw_flag_counts_and_shows_no_one_elses(database):
    # Given a user whose calls of 90 days before 1 June can be checked, and another user's counts
    user = write_history(database, "ana@north.example", history())
    other = others(database, 1)[0]
    keep(database, other, AS_OF - timedelta(days=1), FAILS)
    # When the user is scored as of 1 June
    score_user(database, user, AS_OF)
    # Then the check kept with the scoring holds the counts the pure measure gives
    with database.tx() as conn:
        row = conn.execute(
            "SELECT payload, flag_counts FROM accuracy_checks WHERE user_id = %s AND scored_at = %s", (user, AS_OF)
        ).fetchone()
    expected = measure(history(), history(), CALLS, T_END).flags
    assert expected is not None and expected.cooling == 5
    assert flag_gate.Counts.from_json(row[1]) == expected
    # And the answer the user reads carries no counts, theirs or the other user's
    assert "flag_counts" not in row[0] and "cooling_touched" not in str(row[0])


def test_kith_flags_tells_the_operator_what_decides_each_flag(settings, database, tmp_path):
    from tests.support.cli import kith_env, run_kith

    env = kith_env(settings.database_url, settings.redis_url, str(tmp_path / "home"), "cli-test-key")
    # Given three users' checks: too few for the pool to decide
    team = others(database, 8)
    for user in team[:3]:
        keep(database, user, AS_OF - timedelta(days=10), FAILS)
    proc = run_kith(env, "flags", "--as-of", "2026-06-01")
    assert proc.returncode == 0, proc.stderr
    cooling, dormant = " ".join(proc.stdout.split()).split(" Dormant: ")  # rich wraps at the console's width
    assert cooling == (
        "Cooling: shown, as measured on the development backtest: there, 284 active ties flagged cooling were in "
        "two-way touch afterwards at 0.25 times the rate of other active ties (95% interval 0.16 to 0.38); the bar is "
        "at most 0.5 times. This deployment's evidence does not decide yet: 3 users checked in the last 180 days, "
        "of the 5 needed."
    )
    assert dormant == (
        "shown, as measured on the development backtest: there, of 80 ties flagged dormant, none was back in two-way "
        "touch afterwards; the bar is at most 0.2 times. This deployment's evidence does not decide yet: 3 users "
        "checked in the last 180 days, of the 5 needed."
    )
    # Given all eight: 32 flags, in touch as often as the other active ties, in every user's mail
    for user in team[3:]:
        keep(database, user, AS_OF - timedelta(days=10), FAILS)
    doc = json.loads(run_kith(env, "flags", "--as-of", "2026-06-01", "--json").stdout)
    assert doc[0]["flag"] == "cooling" and doc[0]["shown"] is False and doc[0]["decided_by"] == "deployment"
    assert doc[0]["ratio"] == 1.0 and doc[0]["flagged"] == 32 and doc[0]["deployment"]["users"] == 8
    assert doc[0]["summary"] == (
        "Cooling: not shown. On the mail of the 8 users checked in the last 180 days, 32 active ties flagged "
        "cooling were in two-way touch afterwards at 1.00 times the rate of other active ties (95% interval 1.00 "
        "to 1.00); the bar is at most 0.5 times."
    )


def test_the_operator_is_told_why_the_deployment_did_not_decide():
    pooled = flag_gate.pooled([flag_gate.Counts(1, 0, 20, 10)] * 6)
    assert flag_pool._why_not(pooled["cooling"]) == "6 flagged ties, of the 20 needed"
    assert flag_pool._why_not(flag_gate.pooled([flag_gate.Counts(30, 0, 20, 10)])["cooling"]) == (
        "1 user checked in the last 180 days, of the 5 needed"
    )
    thin = flag_gate.pooled([flag_gate.Counts(dormant=5, dormant_revived=0, dormant_expected=0.5)] * 5)
    assert flag_pool._why_not(thin["dormant"]) == "2.5 revivals expected, of the 5 needed"
    mixed = [flag_gate.Counts(5, touched, 20, 10) for touched in (0, 0, 1, 1, 2, 2, 3, 3, 4, 0)]
    assert flag_pool._why_not(flag_gate.pooled(mixed)["cooling"]) == (
        "its 50 flagged ties give 0.64 times (95% interval 0.32 to 0.96), on both sides of the bar"
    )
