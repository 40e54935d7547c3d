"""Where the team's bands are chosen: teams of five synthetic worlds other than the test's.

tests/db/test_team_world.py measures "who knows X best" on the team of seeds 1000-1004.
The band rule (service/teams/ranking.py) must be chosen elsewhere, on teams built the same
way from other seeds (tests/support/team_world.teammates(base=...)). This module builds
such teams through the whole pipeline (files -> import -> scoring), keeps for each member
exactly what the team reads of their latest snapshot (shares._LATEST_TIES) and the world's
truth of the shared contacts, and scores a band rule on them offline:

    .venv/bin/python -m tests.support.team_study collect --base 1000 2000 ... 15000 --out DIR
    .venv/bin/python -m tests.support.team_study score DIR [--months personal]
    .venv/bin/python -m tests.support.team_study causes DIR

`collect` needs KITH_DATABASE_URL (a server); it makes and drops one database per team,
named h_team_study_<base> (about 25 s a team). It also keeps, for each shared address, the
times and kinds of the rows the model read (`events`), which no snapshot keeps. `score`
prints, per team and in all, the figures of the test: strict (the first-ranked teammate
holds the truly strongest tie), even (ties on band and month broken at random) and the
misses; `--months personal` measures the month of the last personal two-way contact
instead of the one shared. `causes` says why each miss is one (`causes`), and what a band
that were the world's true strength itself would score (`ceiling`): the bound of every
band rule of three bands and a month.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterable
from datetime import date, datetime, timezone
from pathlib import Path

import psycopg
from psycopg import sql

import analytics
from analytics.features import personal_two_way
from analytics.frame import build_frame
from analytics.scoring import epoch
from ingest.sandbox.world import DEFAULT_AS_OF
from service import db as kdb
from service import people
from service.teams import ranking, shares
from service.ties.feedback import domains_of, latest_words
from service.ties.scoring import score_user
from tests.support.team_world import import_world, teammates

KNOWN = 15  # the weakest band that is shared (as in tests/db/test_team_world.py)
TEST_BASE = 1000  # the team tests/db/test_team_world.py measures (seeds 1000-1004)
AS_OF = DEFAULT_AS_OF.timestamp()  # every teammate's world ends there (team_world.teammates)
DAY = 86400.0


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
                    events = _events(conn, user_id, m.world.as_of, set(m.truth))
                truth = {
                    a: {
                        "strength": m.world.truth[a].true_strength,
                        "flags": sorted(m.world.truth[a].flags),
                        "archetype": m.world.truth[a].archetype,
                    }
                    for a in m.truth
                }
                out.append(
                    {
                        "seed": base + m.index,
                        "truth": truth,
                        "ties": [list(r) for r in rows],
                        "features": features,
                        "events": events,
                    }
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


def _events(conn, user_id: int, as_of, wanted: set[str]) -> dict[str, dict]:
    """For each shared address: the times (epoch seconds) of the rows the model reads of
    its person, with what each is: a personal two-way contact (`personal`, the events the
    steady two-way rate counts), an answer (`reply`), a meeting and its audience (`size`).
    For studying band and month rules offline; snapshots keep none of it."""
    exchanges, info = people.load_exchanges(conn, user_id, as_of, include_colleagues=True)
    frame = build_frame(exchanges, epoch(as_of))
    personal = personal_two_way(frame, end=epoch(as_of))
    out: dict[str, dict] = {}
    for i, person in enumerate(frame.contacts.tolist()):
        addresses = [str(a).lower() for a in (info.get(person) or {}).get("addresses") or ()]
        hit = [a for a in addresses if a in wanted]
        if not hit:
            continue
        rows = frame.c == i
        entry = {
            "t": frame.t[rows].tolist(),
            "personal": personal[rows].tolist(),
            "reply": frame.reply[rows].tolist(),
            "meeting": frame.meeting[rows].tolist(),
            "size": frame.size[rows].tolist(),
            "direction": frame.direction[rows].tolist(),
        }
        for a in hit:
            out[a] = entry
    return out


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


Month = Callable[[list], date | None]  # a snapshot row -> the month its share shows


def shared_month(row: list) -> date | None:
    """The month a share shows (service/teams/ranking.py): the last two-way contact the
    snapshot kept (an answer either way, or a meeting of at most five people)."""
    _strength, _addresses, last, ledger, _flags, *kept = row
    return ranking.month_start(kept[0]) if len(kept) >= 2 and kept[1] else ranking.month_of(last, ledger)


def personal_month(mate: dict) -> Month:
    """The alternative measured against `shared_month`: the month of the last personal
    two-way contact (an answer or a meeting of at most three people: the events the
    steady two-way rate counts, analytics.features.personal_two_way), from `events`."""

    def month(row: list) -> date | None:
        times = []
        for address in row[1] or ():
            events = mate["events"].get(str(address).lower(), EMPTY)
            times += [t for t, personal in zip(events["t"], events["personal"]) if personal]
        return _month(max(times)) if times else None

    return month


EMPTY = {"t": [], "personal": []}


def _month(t: float) -> date:
    moment = datetime.fromtimestamp(t, timezone.utc)
    return date(moment.year, moment.month, 1)


def _shares(user_id: int, rows: Iterable[list], band: Band, month: Month = shared_month) -> dict[str, ranking.Share]:
    """ranking.shares_of with the band decided by `band` and the month by `month`:
    address -> share."""
    best: dict[str, ranking.Share] = {}
    for row in rows:
        b = band(row)
        if b is None:
            continue
        for raw in row[1] or ():
            address = str(raw).strip().lower()
            s = ranking.Share(user_id, address, b, month(row))
            if address not in best or ranking._key(s) < ranking._key(best[address]):
                best[address] = s
    return best


def _shared_contacts(mates: list[dict]) -> list[str]:
    return sorted(
        a for a in mates[0]["truth"] if sum(m["truth"].get(a, {}).get("strength", 0) >= KNOWN for m in mates) >= 2
    )


def _months(mates: list[dict], months: str) -> list[Month]:
    return [shared_month if months == "shared" else personal_month(m) for m in mates]


def score(team: dict, band: Band = current_band, months: str = "shared") -> dict:
    """The test's figures for one team under a band rule (`months`: "shared", the month
    the team is shown, or "personal", `personal_month`)."""
    mates = team["mates"]
    per = [_shares(i, _rows(m), band, mo) for i, (m, mo) in enumerate(zip(mates, _months(mates, months)))]
    strict, even, misses = 0, 0.0, []
    for address in _shared_contacts(mates):
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
    return {"n": len(_shared_contacts(mates)), "strict": strict, "even": even, "misses": misses}


def _recent(mate: dict, address: str, days: int = 90) -> int:
    """Personal two-way contacts with the address in the `days` before the world's as_of."""
    events = mate["events"].get(address, EMPTY)
    start = AS_OF - days * DAY
    return sum(1 for t, p in zip(events["t"], events["personal"]) if p and start <= t < AS_OF)


def causes(team: dict, cuts: tuple[int, int], band: Band = current_band) -> list[dict]:
    """Why each miss of the team is one (needs a collection with `events`):

    cause      "tie": the truly strongest teammate has the first-ranked one's band and
               month (the answer cannot order them); "band": a lower band than the
               first-ranked; "month": the same band and an earlier month; "unlisted":
               not shared at all
    group      the month of either was set by a meeting of four or five people (no
               personal two-way contact: neither the rate nor the world's truth counts it)
    mail       "truth": the truly strongest had more personal two-way contacts in the last
               90 days than the first-ranked; "answer": as many or fewer (the world's
               truth is the plan's expected rate, which the mail then does not show)
    separable  whether bands cut on the true strength itself at `cuts` (`ceiling`'s)
               would give the two different bands
    """
    mates = team["mates"]
    rows = [_rows(m) for m in mates]
    per = [_shares(i, r, band) for i, r in enumerate(rows)]
    alt = [_shares(i, r, band, personal_month(m)) for i, (m, r) in enumerate(zip(mates, rows))]
    out = []
    for address in _shared_contacts(mates):
        truths = [m["truth"].get(address, {}).get("strength", 0) for m in mates]
        best = max(truths)
        ranked = ranking.best_per_member([p[address] for p in per if address in p])
        if not ranked or truths[ranked[0].user_id] == best:
            continue
        first = ranked[0]
        strongest = next(i for i, t in enumerate(truths) if t == best)
        held = per[strongest].get(address)
        if held is None:
            cause = "unlisted"
        elif held.band < first.band:
            cause = "band"
        elif held.month == first.month:
            cause = "tie"
        else:
            cause = "month"
        group = any(
            per[i].get(address) and per[i][address].month != alt[i][address].month for i in (first.user_id, strongest)
        )
        recent = (_recent(mates[first.user_id], address), _recent(mates[strongest], address))
        out.append(
            {
                "address": address,
                "first": (first.user_id, truths[first.user_id], mates[first.user_id]["truth"][address]["archetype"]),
                "strongest": (strongest, best, mates[strongest]["truth"][address]["archetype"]),
                "cause": cause,
                "group": group,
                "mail": "truth" if recent[1] > recent[0] else "answer",
                "recent": recent,
                "separable": _true_band(truths[first.user_id], cuts) != _true_band(best, cuts),
            }
        )
    return out


def _true_band(strength: int, cuts: tuple[int, int]) -> int:
    return 3 if strength >= cuts[0] else 2 if strength >= cuts[1] else 1


def ceiling(teams: list[dict]) -> tuple[tuple[int, int], int, int]:
    """The best a band could do were it the world's true strength itself, cut in three
    (strong >= c1 > medium >= c2 > weak; who is listed and the months as shared), over
    `teams`: (the best cuts, the first of those tied; contacts picked right; contacts).
    A band computed from the mail cannot know the truth, so this bounds every band rule
    of three bands and a month."""
    cases = _cases(teams)
    by_cuts = {(c1, c2): _picked(cases, (c1, c2)) for c1 in range(KNOWN + 1, 101) for c2 in range(KNOWN, c1)}
    cuts = max(sorted(by_cuts), key=lambda k: by_cuts[k])
    return cuts, by_cuts[cuts], len(cases)


def at_cuts(teams: list[dict], cuts: tuple[int, int]) -> tuple[int, int]:
    """`ceiling`'s figure at given cuts: (contacts picked right, contacts)."""
    cases = _cases(teams)
    return _picked(cases, cuts), len(cases)


def _cases(teams: list[dict]) -> list[tuple[int, list[tuple[int, date | None, int]]]]:
    """Per shared contact: the truly strongest's true strength, and each listed teammate's
    (true strength, month shown, index)."""
    out = []
    for team in teams:
        mates = team["mates"]
        per = [_shares(i, _rows(m), current_band) for i, m in enumerate(mates)]
        for address in _shared_contacts(mates):
            truths = [m["truth"].get(address, {}).get("strength", 0) for m in mates]
            listed = [(truths[s.user_id], s.month, s.user_id) for p in per if (s := p.get(address))]
            out.append((max(truths), listed))
    return out


def _picked(cases, cuts: tuple[int, int]) -> int:
    def key(x):
        return (-_true_band(x[0], cuts), -(x[1].toordinal() if x[1] else 0), x[2])

    return sum(1 for best, listed in cases if listed and min(listed, key=key)[0] == best)


def _main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.support.team_study")
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("collect")
    c.add_argument("--base", type=int, nargs="+", required=True)
    c.add_argument("--out", type=Path, required=True)
    s = sub.add_parser("score")
    s.add_argument("dir", type=Path)
    s.add_argument("--months", choices=("shared", "personal"), default="shared")
    w = sub.add_parser("causes")
    w.add_argument("dir", type=Path)
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
    teams = [
        json.loads(p.read_text()) for p in sorted(args.dir.glob("team-*.json"), key=lambda p: int(p.stem.split("-")[1]))
    ]
    if args.command == "causes":
        return _print_causes(teams)
    total = {"n": 0, "strict": 0, "even": 0.0}
    for team in teams:
        got = score(team, months=args.months)
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


def _print_causes(teams: list[dict]) -> int:
    """Each miss with its cause, the tallies for the test's team and the others, and the
    ceiling of a band that were the true strength itself (cuts chosen on the others)."""
    others = [t for t in teams if t["base"] != TEST_BASE]
    cuts, got, n = ceiling(others)
    print(
        f"ceiling (bands = true strength cut at {cuts[0]}/{cuts[1]}, chosen on the others): {got}/{n} = {got / n:.1%}"
    )
    for test in (True, False):
        tally: dict[tuple, int] = {}
        for team in teams:
            if (team["base"] == TEST_BASE) != test:
                continue
            if test:
                t_got, t_n = at_cuts([team], cuts)
                print(f"ceiling on the test's team at those cuts: {t_got}/{t_n} = {t_got / t_n:.1%}")
            for c in causes(team, cuts):
                print(f"team {team['base']} {c['address']}: {c}")
                key = (
                    c["cause"],
                    "group meeting" if c["group"] else "",
                    "mail: " + c["mail"],
                    "separable" if c["separable"] else "",
                )
                tally[key] = tally.get(key, 0) + 1
        print("the test's team:" if test else "the other teams:")
        for key, count in sorted(tally.items(), key=lambda kv: -kv[1]):
            print(f"   {count:3d}  {' / '.join(k for k in key if k)}")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
