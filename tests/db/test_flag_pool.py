"""The deployment's flag gate on a real database (service/ties/flag_pool.py): each scoring
counts the user's raw flags of the months before, and the counts of every user, pooled,
decide whether cooling is shown to anyone."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from types import SimpleNamespace

from psycopg.types.json import Jsonb

from analytics import flag_gate
from service import store
from service.ties import evidence, flag_pool
from service.ties.scoring import compute_ties, score_user
from tests.support.analytics import AS_OF, DAY, T_END, conversation, regular
from tests.support.evidence import history, write_history

# A user's month: 4 active ties flagged cooling, against 20 active clear ones of which 10 were in touch after.
FAILS = flag_gate.Counts(cooling=4, cooling_touched=2, clear=20, clear_touched=10)  # ratio 1.0
CLEARS = flag_gate.Counts(cooling=4, cooling_touched=0, clear=20, clear_touched=10)  # ratio 0.0


def month(y: int, m: int) -> datetime:
    return datetime(y, m, 1, tzinfo=timezone.utc)


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
        conn.execute("INSERT INTO flag_checks (user_id, flags_at, counts) VALUES (%s, %s, %s)", (user, at, Jsonb(data)))


def members(database, domain: str, n: int, counts: flag_gate.Counts) -> list[int]:
    """`n` users at `domain`, each with `counts` for February 2026."""
    with database.tx() as conn:
        ids = [store.create_user(conn, f"u{i}@{domain}") for i in range(n)]
    for user in ids:
        keep(database, user, month(2026, 2), counts)
    return ids


def cooling_shown(database, user: int) -> bool:
    with database.tx() as conn:
        ties = compute_ties(conn, user, AS_OF)
    return any("cooling" in t["flags"] for t in ties)


def test_the_pooled_outcomes_of_the_deployments_users_decide_whether_cooling_is_shown(database):
    # Given Ana, whose tie with person 1 meets the cooling test, and no pooled evidence yet
    ana = write_history(database, "ana@north.example", cooling_history())
    assert cooling_shown(database, ana)  # the shipped constant decides
    # When eight other users' flags of February were in touch after as often as the rest
    team = others(database, 8)
    for user in team:
        keep(database, user, month(2026, 2), FAILS)
    # Then Ana is shown no cooling flag, and her accuracy check says why, without a figure of theirs
    assert not cooling_shown(database, ana)
    with database.tx() as conn:
        said = evidence.accuracy(conn, ana, AS_OF).sentences
    assert said[-1] == (
        "Kith does not show cooling flags now: on the mail of the people using this Kith, ties that met its cooling "
        "test were in touch afterwards more than half as often as other active ties."
    )
    assert not any(ch.isdigit() for ch in said[-1])
    # And when their flags of three more months went quiet, the flag is back (ratio 0.25)
    for user in team:
        for m in (12, 1, 3):
            keep(database, user, month(2025 + (m < 12), m), CLEARS)
    assert cooling_shown(database, ana)
    with database.tx() as conn:
        assert not any("does not show" in line for line in evidence.accuracy(conn, ana, AS_OF).sentences)


def test_the_pool_holds_the_months_whose_outcome_ended_in_the_last_180_days(database, caplog):
    # A pool on 1 June 2026: months whose 90-day outcome ended after 3 December 2025
    assert [datetime.fromtimestamp(m, timezone.utc).month for m in flag_gate.check_months(T_END)] == [
        10,
        11,
        12,
        1,
        2,
        3,
    ]
    ana = write_history(database, "ana@north.example", cooling_history())
    team = others(database, 8)
    # Given failing months just outside (September 2025; April 2026, whose outcome is not known yet)
    for user in team:
        keep(database, user, month(2025, 9), FAILS)
        keep(database, user, month(2026, 4), FAILS)
    with database.tx() as conn:
        assert flag_pool.counts(conn, AS_OF) == []
    assert cooling_shown(database, ana)
    # Given a failing October and November for seven users, and a malformed row for the eighth
    for user in team[1:]:
        keep(database, user, month(2025, 10), FAILS)
        keep(database, user, month(2025, 11), FAILS)
    keep(database, team[0], month(2025, 11), {"cooling": "many"})
    with caplog.at_level(logging.WARNING, logger="service.ties.flag_pool"), database.tx() as conn:
        pool = flag_pool.counts(conn, AS_OF)
    # Then each user's months are summed, and the bad row is left out and said
    assert pool == [FAILS + FAILS] * 7
    assert [r.getMessage() for r in caplog.records] == [
        f"flag counts of user {team[0]} for 2025-11-01 00:00:00+00:00 left out of the pool: "
        "flag counts: cooling is 'many', not a count"
    ]
    assert not cooling_shown(database, ana)


def test_a_scoring_counts_the_users_flags_of_each_month_in_the_pool(database, monkeypatch):
    # Given a user with 600 days of mail, five ties of which went quiet before 3 March 2026
    user = write_history(database, "ana@north.example", history())
    # When the user is scored as of 1 June 2026
    score_user(database, user, AS_OF)
    # Then each month of the pool with 90 days of mail before it is counted, as the pure count gives it
    with database.tx() as conn:
        rows = dict(conn.execute("SELECT flags_at, counts FROM flag_checks WHERE user_id = %s", (user,)).fetchall())
    expected = {m: flag_gate.counts_at(history(), m) for m in flag_gate.check_months(T_END)}
    assert all(v is not None for v in expected.values())  # the mail began 600 days before
    assert {at.timestamp(): flag_gate.Counts.from_json(c) for at, c in rows.items()} == expected
    assert expected[month(2026, 3).timestamp()].cooling == 5
    # And a scoring while a first sync still reads older mail counts nothing
    with database.tx() as conn:
        conn.execute("DELETE FROM flag_checks")
    monkeypatch.setattr(flag_pool.coverage, "live", lambda conn, uid: SimpleNamespace(whole_since=AS_OF))
    with database.tx() as conn:
        assert flag_pool.record(conn, user, AS_OF) == 0
        assert conn.execute("SELECT count(*) FROM flag_checks").fetchone()[0] == 0


def test_kith_flags_tells_the_operator_what_decides_each_flag(settings, database, tmp_path):
    from tests.support.cli import kith_env, run_kith

    env = kith_env(settings.database_url, settings.redis_url, str(tmp_path / "home"), "cli-test-key")
    # Given three users' counts: too few for the pool to decide
    team = others(database, 8)
    for user in team[:3]:
        keep(database, user, month(2026, 2), FAILS)
    proc = run_kith(env, "flags", "--as-of", "2026-06-01")
    assert proc.returncode == 0, proc.stderr
    cooling, dormant = " ".join(proc.stdout.split()).split(" Dormant: ")  # rich wraps at the console's width
    assert cooling == (
        "Cooling: shown, as measured on the development backtest: there, 284 active ties flagged cooling were in "
        "two-way touch afterwards at 0.25 times the rate of other active ties (95% interval 0.16 to 0.38); the bar is "
        "at most 0.5 times. This deployment's evidence does not decide yet: 3 users counted in the last 180 days, "
        "of the 5 needed."
    )
    assert dormant == (
        "shown, as measured on the development backtest: there, of 80 ties flagged dormant, none was back in two-way "
        "touch afterwards; the bar is at most 0.2 times. This deployment's evidence does not decide yet: 3 users "
        "counted in the last 180 days, of the 5 needed."
    )
    # Given all eight: 32 flags, in touch as often as the other active ties, in every user's mail
    for user in team[3:]:
        keep(database, user, month(2026, 2), FAILS)
    doc = json.loads(run_kith(env, "flags", "--as-of", "2026-06-01", "--json").stdout)
    assert doc[0]["flag"] == "cooling" and doc[0]["shown"] is False and doc[0]["decided_by"] == "deployment"
    assert doc[0]["ratio"] == 1.0 and doc[0]["flagged"] == 32 and doc[0]["deployment"]["users"] == 8
    assert doc[0]["summary"] == (
        "Cooling: not shown. On the mail of 8 users counted in the last 180 days, 32 active ties flagged "
        "cooling were in two-way touch afterwards at 1.00 times the rate of other active ties (95% interval 1.00 "
        "to 1.00); the bar is at most 0.5 times."
    )


def test_the_operator_is_told_why_the_deployment_did_not_decide():
    pooled = flag_gate.pooled([flag_gate.Counts(1, 0, 20, 10)] * 6)
    assert flag_pool._why_not(pooled["cooling"]) == "6 flagged ties, of the 20 needed"
    assert flag_pool._why_not(flag_gate.pooled([flag_gate.Counts(30, 0, 20, 10)])["cooling"]) == (
        "1 user counted in the last 180 days, of the 5 needed"
    )
    thin = flag_gate.pooled([flag_gate.Counts(dormant=5, dormant_revived=0, dormant_expected=0.5)] * 5)
    assert flag_pool._why_not(thin["dormant"]) == "2.5 revivals expected, of the 5 needed"
    mixed = [flag_gate.Counts(5, touched, 20, 10) for touched in (0, 0, 1, 1, 2, 2, 3, 3, 4, 0)]
    assert flag_pool._why_not(flag_gate.pooled(mixed)["cooling"]) == (
        "its 50 flagged ties give 0.64 times (95% interval 0.32 to 0.96), on both sides of the bar"
    )


def comes_back(seed: int) -> list:
    """Three ties every three days until 200 days before 1 June 2026, silent for 90 days,
    then every three days again (cooling on 1 February, back in touch within 90 days), and
    four steady fortnightly ties."""
    ex = []
    for c in (1, 2, 3):
        ex += regular(c, every_days=3, start_days_ago=500, stop_days_ago=200, seed=seed)
        ex += regular(c, every_days=3, start_days_ago=110, seed=seed)
    for c in range(4, 8):
        ex += regular(c, every_days=14, start_days_ago=500, seed=seed)
    return ex


def test_a_deployment_whose_cooling_flags_come_back_hides_cooling_end_to_end(database):
    """No counts written by hand: eight users' months are counted from their stored mail (as
    each scoring does, test above), and the pooled counts hide cooling from a ninth user."""
    # Given Ana, whose tie with person 1 meets the cooling test, shown by the shipped constant
    ana = write_history(database, "ana@north.example", cooling_history())
    assert cooling_shown(database, ana)
    # When eight users whose cooling ties all came back have their months counted as of 1 June 2026
    for seed in range(8):
        user = write_history(database, f"user{seed}@south.example", comes_back(seed), domain=f"s{seed}.example")
        with database.tx() as conn:
            assert flag_pool.record(conn, user, AS_OF) == 6
    with database.tx() as conn:
        pool = flag_pool.counts(conn, AS_OF)
        decided = flag_pool.gate(conn, AS_OF)["cooling"]
    # Then their months pooled hold 24 cooling flags, every one back in touch, as often as the clear ties
    assert len(pool) == 8 and sum(c.cooling for c in pool) == 24 and sum(c.cooling_touched for c in pool) == 24
    assert decided.source == "deployment" and decided.estimate == 1.0 and decided.low > decided.bar
    # And Ana is shown no cooling flag
    assert not cooling_shown(database, ana)


def test_each_organisation_is_decided_on_its_own_users_mail_before_the_deployments(settings, database, tmp_path):
    """One deployment serving two organisations: at south.example 16 users' cooling flags
    came back as often as their other active ties; at north.example 5 users' never did.
    Pooled, the deployment's flags fail the bar (0.76 times), but north's own users settle
    it for north: cooling is shown there, hidden at south, and a user of a free-mail domain
    (no organisation) follows the deployment."""
    members(database, "south.example", 16, FAILS)
    members(database, "north.example", 5, CLEARS)
    # Given three users, each with a tie that meets the cooling test
    ana = write_history(database, "ana@north.example", cooling_history())
    bo = write_history(database, "bo@south.example", cooling_history())
    cy = write_history(database, "cy@gmail.com", cooling_history())
    with database.tx() as conn:
        assert [flag_pool.organisation(conn, u) for u in (ana, bo, cy)] == ["north.example", "south.example", None]
        deployment = flag_gate.pooled(flag_pool.counts(conn, AS_OF))["cooling"]
        assert len(flag_pool.by_organisation(conn, AS_OF)["north.example"]) == 5
        decided = {u: flag_pool.gate(conn, AS_OF, u)["cooling"] for u in (ana, bo, cy)}
    assert deployment.users == 21 and deployment.low > deployment.bar
    assert (decided[ana].source, decided[ana].users) == ("organisation", 5)
    assert (decided[bo].source, decided[bo].users) == ("organisation", 16)
    assert decided[cy].source == "deployment"
    # Then Ana sees her cooling tie; Bo and Cy do not
    assert cooling_shown(database, ana)
    assert not cooling_shown(database, bo) and not cooling_shown(database, cy)
    # And the accuracy check says why to those it hides it from, without a figure, and nothing to Ana
    with database.tx() as conn:
        said = {u: evidence.accuracy(conn, u, AS_OF).sentences for u in (ana, bo, cy)}
    assert not any("does not show" in line for line in said[ana])
    assert said[bo][-1] == (
        "Kith does not show cooling flags now: on the mail of the people of your organisation using this Kith, ties "
        "that met its cooling test were in touch afterwards more than half as often as other active ties."
    )
    assert said[cy][-1].startswith("Kith does not show cooling flags now: on the mail of the people using this Kith,")
    assert not any(ch.isdigit() for ch in said[bo][-1] + said[cy][-1])
    # And the operator is told each organisation's decision beside the deployment's
    from tests.support.cli import kith_env, run_kith

    env = kith_env(settings.database_url, settings.redis_url, str(tmp_path / "home"), "cli-test-key")
    proc = run_kith(env, "flags", "--as-of", "2026-06-01", "--json")
    assert proc.returncode == 0, proc.stderr
    cooling = json.loads(proc.stdout)[0]
    assert cooling["shown"] is False and cooling["decided_by"] == "deployment"
    assert [(o["domain"], o["users"], o["shown"], o["flagged"]) for o in cooling["organisations"]] == [
        ("north.example", 5, True, 20),
        ("south.example", 16, False, 64),
    ]
    assert cooling["summary"].endswith(
        " For the 5 users at north.example: shown. On their mail, of 20 active ties flagged cooling, none was in "
        "two-way touch afterwards. For the 16 users at south.example: not shown. On their mail, 64 active ties "
        "flagged cooling were in two-way touch afterwards at 1.00 times the rate of other active ties (95% interval "
        "1.00 to 1.00)."
    )


def test_an_organisation_that_hides_a_flag_for_itself_does_not_hide_it_from_another(settings, database, tmp_path):
    """Given 16 users at south.example whose cooling flags came back (south hides cooling on
    its own evidence) and 6 at west.example with a flag each (too few to measure), then a
    west user with a cooling tie still sees it (the shipped constant decides for the users
    outside south), and the operator is told so."""
    members(database, "south.example", 16, FAILS)
    members(database, "west.example", 6, flag_gate.Counts(cooling=1, cooling_touched=0, clear=20, clear_touched=10))
    dee = write_history(database, "dee@west.example", cooling_history())
    bo = write_history(database, "bo@south.example", cooling_history())
    assert cooling_shown(database, dee) and not cooling_shown(database, bo)
    with database.tx() as conn:
        assert not flag_gate.shown("cooling", flag_gate.decide(flag_pool.counts(conn, AS_OF)))  # one pool would hide it
        said = evidence.accuracy(conn, dee, AS_OF).sentences
    assert not any("does not show" in line for line in said)
    from tests.support.cli import kith_env, run_kith

    env = kith_env(settings.database_url, settings.redis_url, str(tmp_path / "home"), "cli-test-key")
    cooling = json.loads(run_kith(env, "flags", "--as-of", "2026-06-01", "--json").stdout)[0]
    assert cooling["shown"] is True and cooling["decided_by"] == "development backtest"
    assert cooling["deployment"] == {"users": 6, "flagged": 6, "expected": None}
    assert [(o["domain"], o["shown"]) for o in cooling["organisations"]] == [("south.example", False)]
    assert cooling["summary"].endswith(
        "the bar is at most 0.5 times. The evidence of the users outside the organisations below does not decide "
        "yet: 6 flagged ties, of the 20 needed. For the 16 users at south.example: not shown. On their mail, 64 "
        "active ties flagged cooling were in two-way touch afterwards at 1.00 times the rate of other active ties "
        "(95% interval 1.00 to 1.00)."
    )


def test_kith_flags_prints_a_hostile_domain_inert(settings, database, tmp_path):
    """Given users whose addresses carry an escape sequence and markup in their domain, and
    who decide cooling for themselves, when the operator runs `kith flags`, then the domain
    is printed as its own letters: no control byte reaches the terminal, no markup is read."""
    from tests.support.cli import kith_env, run_kith

    members(database, "[bold]x\x1b[31m.example", 5, CLEARS)
    members(database, "south.example", 8, FAILS)
    env = kith_env(settings.database_url, settings.redis_url, str(tmp_path / "home"), "cli-test-key")
    proc = run_kith(env, "flags", "--as-of", "2026-06-01")
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout
    assert "For the 5 users at [bold]x[31m.example: shown." in " ".join(proc.stdout.split())
