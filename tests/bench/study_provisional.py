"""Offline study of bench_provisional.py's overlap: the provisional top 10 against the final.

No emulator, database or quota: the bench's world (`world_of`, fifteen years) is turned into
the exchanges Kith scores with the adapter of tests/unit/test_analytics_world.py (Google
mail and the primary calendar, people by the world's truth) and scored with the real
`analytics.score_ties` twice, as the bench's two scorings see the mail:

- final: everything;
- provisional: the calendar whole (a first sync reads calendars first) and the mail of the
  last `--days` days (the Gmail sync reads newest first; the first provisional scoring runs
  once the last 180 days are whole). Variants measured for issue 17: `--cut all` drops the
  calendar before the edge too (every tie seen over the same window), `--prior-rows N` and
  `--no-recalibrate` set the provisional StrengthModel's blend and recalibration. The
  provisional scoring is told where the mail starts (`since`, as compute_ties tells it
  from service.coverage); `--no-since` scores as before issue 17's fix.

Two top 10s are compared per world. "shown": what the bench reads (and the API and
dashboard show) — the strength as stored, an integer, then person id; here the person id is
the world's (the truth's addresses in sorted order, as `refresh_people` numbers the people
of one first refresh), an approximation of the ids a real first refresh gives. "model": the
order `score_ties` returns (strength, then the model's score).

    .venv/bin/python tests/bench/study_provisional.py --worlds 7:200000 11:200000 13:200000 7:20000
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from analytics import StrengthModel, score_ties
from tests.bench.bench_provisional import world_of
from tests.unit.test_analytics_world import world_exchanges

AS_OF = datetime(2026, 12, 6, 10, 0, tzinfo=timezone.utc)


def google_exchanges(seed: int, messages: int):
    world = world_of(messages, AS_OF, seed=seed)
    google = dataclasses.replace(
        world,
        messages=world.messages_for("google"),
        events=tuple(e for e in world.events if e.account == "google" and e.calendar_id == "primary"),
    )
    return world_exchanges(google)


def shown_top(scores, n: int = 10) -> list[int]:
    return [s.contact for s in sorted(scores, key=lambda s: (-round(s.strength), s.contact))[:n]]


def model_top(scores, n: int = 10) -> list[int]:
    return [s.contact for s in scores[:n]]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worlds", nargs="+", default=["7:200000"], help="seed:messages")
    parser.add_argument("--days", type=int, default=181, help="days of mail the provisional scoring sees")
    parser.add_argument("--cut", choices=("mail", "all"), default="mail", help="what the coverage edge cuts")
    parser.add_argument("--prior-rows", type=float, default=None, help="provisional model: StrengthModel prior_rows")
    parser.add_argument("--no-recalibrate", action="store_true", help="provisional model: no recalibration")
    parser.add_argument(
        "--no-since", action="store_true", help="score_ties not told where the mail starts (as before issue 17's fix)"
    )
    args = parser.parse_args()
    for spec in args.worlds:
        seed, messages = (int(x) for x in spec.split(":"))
        started = time.monotonic()
        exchanges, truth = google_exchanges(seed, messages)
        edge = (AS_OF - timedelta(days=args.days)).timestamp()
        seen = [x for x in exchanges if x.at >= edge or (args.cut == "mail" and x.kind != "email")]
        options: dict = {"recalibrate": not args.no_recalibrate}
        if args.prior_rows is not None:
            options["prior_rows"] = args.prior_rows
        final_model, prov_model = StrengthModel(), StrengthModel(**options)
        final = score_ties(exchanges, AS_OF, model=final_model)
        # As compute_ties does: the mail is whole since the edge (service.coverage).
        provisional = score_ties(seen, AS_OF, model=prov_model, since=None if args.no_since else edge)
        common = [s for s in final if s.contact in {p.contact for p in provisional} and s.strength >= 40]
        strength_of = {p.contact: p.strength for p in provisional}
        gap = sum(abs(s.strength - strength_of[s.contact]) for s in common) / max(len(common), 1)
        full_at_100 = sum(round(s.strength) >= 100 for s in final)
        prov_at_100 = sum(round(s.strength) >= 100 for s in provisional)
        shown = len(set(shown_top(final)) & set(shown_top(provisional)))
        model = len(set(model_top(final)) & set(model_top(provisional)))
        print(
            f"seed {seed} messages {messages}: provisional top 10 in the final top 10: shown order {shown}/10, "
            f"model order {model}/10; ties shown at strength 100: final {full_at_100}, provisional {prov_at_100} "
            f"({time.monotonic() - started:.0f} s); mean |provisional - final| strength of final >= 40: {gap:.1f}",
            flush=True,
        )
        both = [s for s in final if s.contact in strength_of]
        gap_top50 = sum(abs(s.strength - strength_of[s.contact]) for s in both[:50]) / max(len(both[:50]), 1)
        gap_all = sum(abs(s.strength - strength_of[s.contact]) for s in both) / max(len(both), 1)
        one_sided = [s for s in both if truth[s.contact].archetype.startswith("one_sided")]
        final_of = {s.contact: s.strength for s in final}
        print(
            f"  recalibration (a, b): final {_recal(final_model)}, provisional {_recal(prov_model)}; "
            f"mean |provisional - final|: final top 50 {gap_top50:.1f}, all {len(both)} ties {gap_all:.1f}; "
            f"shown at 100: final {full_at_100 / len(final):.1%}, provisional {prov_at_100 / len(provisional):.1%}"
        )
        if one_sided:
            print(
                "  one-sided ties (truth / final / provisional): "
                + ", ".join(
                    f"{truth[s.contact].true_strength}/{final_of[s.contact]:.0f}/{strength_of[s.contact]:.0f}"
                    for s in one_sided
                )
                + f"; mean |provisional - truth| {_mean_gap(one_sided, strength_of, truth):.1f}, "
                f"|final - truth| {_mean_gap(one_sided, final_of, truth):.1f}"
            )
        by_final = {s.contact: (i + 1, s) for i, s in enumerate(final)}
        by_prov = {s.contact: (i + 1, s) for i, s in enumerate(provisional)}
        for person in sorted(set(model_top(final)) | set(model_top(provisional)), key=lambda p: by_final[p][0]):
            (fr, fs), (pr, ps) = by_final[person], by_prov[person]
            tie = truth[person]
            print(
                f"  person {person:4d} {tie.archetype:15s} true {tie.true_strength:3d} | final #{fr:<3d} "
                f"{fs.strength:5.1f} score {fs.features['score']:5.2f} | provisional #{pr:<3d} {ps.strength:5.1f} "
                f"score {ps.features['score']:5.2f}"
            )


def _recal(model: StrengthModel) -> str:
    if model.recal_ is None:
        return "none"
    a, b = model.recal_
    return f"({a:+.2f}, {b:.2f})"


def _mean_gap(ties, strength_of: dict, truth: dict) -> float:
    return sum(abs(strength_of[s.contact] - truth[s.contact].true_strength) for s in ties) / len(ties)


if __name__ == "__main__":
    main()
