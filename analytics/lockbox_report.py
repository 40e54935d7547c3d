"""The lockbox figures, for the closing note of issue 15 only (`--lockbox`).

Two views, each with the models fitted on development people only (grouped by fold as in
development, so no lockbox person's mail reaches a prior or the logistic baseline):

1. the lockbox people (a fifth of the employees) at every development date and every
   lockbox date (Enron: January 2001 to January 2002), so including outcomes in the
   lockbox months;
2. the development people at the dates whose outcomes fall in the lockbox months (Enron:
   1 November 2001, 1 December 2001, 1 January 2002).

The dates come from the mail's timeline (analytics/timeline.py).

Nothing here is used while developing: run it once, at the end.
"""

from __future__ import annotations

from analytics import lockbox as lb
from analytics.corpus import Mail, people, prior_pool, sample_egos
from analytics.scorecard import summarise, table
from analytics.timeline import timeline
from analytics.yardstick import Study


def report(everything: Mail, *, n_boot: int = 200, refit: int = 3, n_dev: int | None = None) -> str:
    span = timeline(everything)
    mail = lb.mail_before(everything, span.end)
    everyone = people(everything)
    dev_pool = prior_pool(mail, lb.development_egos(everyone))
    box = sample_egos(mail, lb.lockbox_egos(everyone), len(everyone))
    dev = sample_egos(mail, lb.development_egos(everyone), len(everyone) if n_dev is None else n_dev)
    out = []
    for title, egos, dates in (
        ("lockbox people, at the development and lockbox dates", box, span.development_dates() + span.lockbox_dates()),
        ("development people, outcomes in the lockbox months", dev, span.lockbox_dates()),
    ):
        study = Study(mail, egos, dates, lockbox=True, refit=refit, prior_egos=dev_pool)
        assert not set(lb.lockbox_egos(study.pool)), "a lockbox person in the prior pool"
        out.append(f"== {title}\n" + table(summarise(study.evaluate(), n_boot=n_boot)))
    return "\n".join(out)
