"""What `kith backtest` would tell Enron's employees: analytics.evidence on development mail.

Each sampled employee in turn is the user; their calls are made 90 days before `--until`
(default 1 October 2001, so the outcome window ends before the lockbox months) and checked
against the mail since. Printed: each verdict's count, and the claims pooled over the
employees whose answer has numbers (ties and hits summed), Kith beside its baseline.

    .venv/bin/python -m analytics.evidence_study [--data DIR] [--egos 30] [--until 2001-10-01]
"""

from __future__ import annotations

import argparse
from collections import Counter
from datetime import datetime, timezone

from analytics import lockbox as lb
from analytics.corpus import data_folder, ego_exchanges, load_edges, messages, people, sample_egos
from analytics.timeline import timeline
from analytics.evidence import LOOKBACK, Evidence, Share, measure


def pooled(results: list[Evidence], kith: str, plain: str) -> str:
    pairs = [(getattr(e, kith), getattr(e, plain)) for e in results if getattr(e, kith) is not None]
    if not pairs:
        return "no employee had enough ties behind this claim"
    k = Share(sum(a.ties for a, _ in pairs), sum(a.hits for a, _ in pairs))
    p = Share(sum(b.ties for _, b in pairs), sum(b.hits for _, b in pairs))
    return (
        f"{len(pairs)} employees: Kith {k.hits}/{k.ties} = {k.share:.3f}, plain list {p.hits}/{p.ties} = {p.share:.3f}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m analytics.evidence_study")
    ap.add_argument("--data")
    ap.add_argument("--egos", type=int, default=30)
    ap.add_argument("--until", help="YYYY-MM-DD; default: the last development date (Enron: 2001-10-01)")
    args = ap.parse_args(argv)
    everything = messages(*load_edges(data_folder(args.data)))
    span = timeline(everything)
    if args.until:
        until = datetime.fromisoformat(args.until).replace(tzinfo=timezone.utc).timestamp()
    else:
        dates = span.development_dates()
        if not dates:
            raise SystemExit(span.too_short())
        until = dates[-1]
    if until > span.lockbox_start:
        raise SystemExit("--until must be before the lockbox months")
    mail = lb.development_mail(everything)
    egos = sample_egos(mail, lb.development_egos(people(everything)), args.egos)
    results = []
    for ego in egos:
        ex = ego_exchanges(mail, ego)
        results.append(measure(ex, ex, until - LOOKBACK, until))
    print(f"{len(results)} employees, calls on {datetime.fromtimestamp(until - LOOKBACK, timezone.utc):%Y-%m-%d}")
    print("verdicts:", dict(Counter(e.verdict for e in results)))
    print("strong, in touch since:  ", pooled(results, "strong", "strong_recency"))
    print("cooling, quiet since:    ", pooled(results, "cooling", "cooling_recency"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
