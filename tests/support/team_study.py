"""Where the team's bands are chosen: teams of five synthetic worlds other than the test's.

tests/db/test_team_world.py measures "who knows X best" on the team of seeds 1000-1004.
The band rule (service/teams/ranking.py) must be chosen elsewhere, on teams built the same
way from other seeds (tests/support/team_world.teammates(base=...)). This module builds
such teams through the whole pipeline (files -> import -> scoring), keeps for each member
exactly what the team reads of their latest snapshot (shares._LATEST_TIES) and the world's
truth of the shared contacts, and scores a band rule on them offline:

    .venv/bin/python -m tests.support.team_study collect --base 2000 3000 4000 5000 --out DIR
    .venv/bin/python -m tests.support.team_study score DIR

`collect` needs KITH_DATABASE_URL (a server); it makes and drops one database per team,
named h_team_study_<base>. `score` prints, per team and in all, the figures of the test:
strict (the first-ranked teammate holds the truly strongest tie), even (ties on band and
month broken at random) and the misses.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import psycopg
from psycopg import sql

import analytics
from service import db as kdb
from service import people
from service.teams import ranking, shares
from service.ties.feedback import domains_of, latest_words
from service.ties.scoring import score_user
from tests.support.team_world import import_world, teammates

KNOWN = 15  # the weakest band that is shared (as in tests/db/test_team_world.py)
TEST_BASE = 1000  # the team tests/db/test_team_world.py measures (seeds 1000-1004)


def _url(server: str, name: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(server)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**info)


def collect(server: str, base: int, tmp: Path) -> dict:
    """One team of five (seeds base .. base + 4): what the team reads of each member's
    latest snapshot, and each member's truth of the shared contacts."""
    name = f"h_team_study_{base}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        kdb.migrate(_url(server, name))
        database = kdb.Database(_url(server, name), min_size=1, max_size=2)
        try:
            mates = teammates(5, base=base)
            out = []
            for m in mates:
                user_id = import_world(database, m.world, tmp)
                score_user(database, user_id, m.world.as_of)
                with database.tx() as conn:
                    rows = conn.execute(shares._LATEST_TIES, {"u": user_id}).fetchall()
                    features = _features(conn, user_id, m.world.as_of)
                truth = {
                    a: {
                        "strength": m.world.truth[a].true_strength,
                        "flags": sorted(m.world.truth[a].flags),
                        "archetype": m.world.truth[a].archetype,
                    }
                    for a in m.truth
                }
                out.append(
                    {"seed": base + m.index, "truth": truth, "ties": [list(r) for r in rows], "features": features}
                )
        finally:
            database.close()
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    return {"base": base, "mates": out}


def _features(conn, user_id: int, as_of) -> dict[str, dict]:
    """Each scored address's model features (analytics.TieScore.features), as the scoring
    of service.ties.scoring.compute_ties computed them; snapshots do not keep them."""
    exchanges, info = people.load_exchanges(conn, user_id, as_of, include_colleagues=True)
    scores = analytics.score_ties(
        exchanges, as_of, feedback=latest_words(conn, user_id, as_of), domains=domains_of(info)
    )
    return {
        str(a).lower(): s.features for s in scores if s.contact in info for a in info[s.contact].get("addresses") or ()
    }


Band = Callable[[list], int | None]  # a snapshot row (shares._LATEST_TIES) -> band


def current_band(row: list) -> int | None:
    """The band service/teams/ranking.py gives a snapshot row (its rate, when kept, last)."""
    strength, _addresses, _last, _ledger, flags, *kept = row
    rate = kept[2] if len(kept) >= 3 else None
    return ranking.band_of(float(strength), flags, rate)


def _rows(mate: dict) -> list[list]:
    """A member's snapshot rows, each with its steady two-way rate: the row's own when the
    snapshot kept it, else the one the scoring computed (`features`, from a collection made
    before snapshots kept it)."""
    out = []
    for row in mate["ties"]:
        row = list(row)
        if len(row) < 8:
            feats = next((mate["features"].get(str(a).lower()) for a in row[1] or ()), None) or {}
            log1p_rate = feats.get("two_way_rate")
            row = row[:7] + [None if log1p_rate is None else round(math.expm1(log1p_rate), 2)]
        out.append(row)
    return out


def _shares(user_id: int, rows: Iterable[list], band: Band) -> dict[str, ranking.Share]:
    """ranking.shares_of with the band decided by `band`: address -> share."""
    best: dict[str, ranking.Share] = {}
    for row in rows:
        b = band(row)
        if b is None:
            continue
        _strength, addresses, last, ledger, _flags, *kept = row
        month = ranking.month_start(kept[0]) if len(kept) >= 2 and kept[1] else ranking.month_of(last, ledger)
        for raw in addresses or ():
            address = str(raw).strip().lower()
            s = ranking.Share(user_id, address, b, month)
            if address not in best or ranking._key(s) < ranking._key(best[address]):
                best[address] = s
    return best


def score(team: dict, band: Band = current_band) -> dict:
    """The test's figures for one team under a band rule."""
    mates = team["mates"]
    per = [_shares(i, _rows(m), band) for i, m in enumerate(mates)]
    shared = sorted(
        a for a in mates[0]["truth"] if sum(m["truth"].get(a, {}).get("strength", 0) >= KNOWN for m in mates) >= 2
    )
    strict, even, misses = 0, 0.0, []
    for address in shared:
        truths = [m["truth"].get(address, {}).get("strength", 0) for m in mates]
        best = max(truths)
        ranked = ranking.best_per_member([p[address] for p in per if address in p])
        if ranked and truths[ranked[0].user_id] == best:
            strict += 1
        else:
            misses.append((address, truths, [(s.user_id, s.band, ranking.month_text(s.month)) for s in ranked]))
        if ranked:
            top = [truths[s.user_id] == best for s in ranked if ranking._key(s)[:2] == ranking._key(ranked[0])[:2]]
            even += sum(top) / len(top)
    return {"n": len(shared), "strict": strict, "even": even, "misses": misses}


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.team_study")
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--base", type=int, nargs="+", required=True)
    c.add_argument("--out", type=Path, required=True)
    s = sub.add_parser("score")
    s.add_argument("dir", type=Path)
    args = parser.parse_args(argv)
    if args.command == "collect":
        server = os.environ["KITH_DATABASE_URL"]
        args.out.mkdir(parents=True, exist_ok=True)
        for base in args.base:
            with tempfile.TemporaryDirectory() as tmp:
                team = collect(server, base, Path(tmp))
            (args.out / f"team-{base}.json").write_text(json.dumps(team, default=str))
            print(f"team {base}: collected", flush=True)
        return 0
    total = {"n": 0, "strict": 0, "even": 0.0}
    for path in sorted(args.dir.glob("team-*.json"), key=lambda p: int(p.stem.split("-")[1])):
        team = json.loads(path.read_text())
        got = score(team)
        test = team["base"] == TEST_BASE
        if not test:
            for k in total:
                total[k] += got[k]
        label = " (the test's team: not for choosing)" if test else ""
        print(f"team {team['base']}{label}: strict {got['strict']}/{got['n']}, even {got['even']:.1f}/{got['n']}")
        for miss in got["misses"]:
            print("   miss", miss)
    n = total["n"] or 1
    print(
        f"all but the test's team: strict {total['strict']}/{total['n']} = {total['strict'] / n:.1%}, "
        f"even {total['even']:.1f} = {total['even'] / n:.1%}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
