"""People: who the user is, who is behind each address, the user's rules, and the
analytics input built from them. Every SQL function takes a psycopg 3 connection and runs
inside the caller's transaction.

    own.py          the user's own addresses (user_addresses)
    senders.py      is the user among the senders (the wrong-address check); their other addresses
    persons.py      persons behind addresses; the user's merges and splits (by hand wins)
    suggestions.py  merge suggestions: worked out, accepted, rejected
    rules.py        allow/block rules and the organisation's domains (colleagues)
    refresh.py      refresh_people: gives new addresses persons, recomputes suggestions
    records.py      plain values of the assembly: InteractionRow, Directory, AnalyticsInput
    assembly.py     PURE: rows + Directory -> exchanges, people info, exclusions
    book.py         PURE: who each raw address is (the user, a person, nobody yet), once
    non_ties.py     PURE: one-way senders, lists and bystanders left out across the mailbox
    exchanges.py    reads rows and Directory, calls assembly (load_exchanges, exclusions)
    exclusion_pages.py  cursor pages of the exclusions for the API and the CLI

Reads never write. `refresh_people` is an explicit step of whoever writes interactions or
scores (`refresh_after` in `service.sync` and `service.imports`;
`service.ties.scoring.score_user` before it scores); loading the input only reads, so it
runs in a READ ONLY transaction. Decisions are made by the pure
`ingest.identity` (who is who) and `ingest.noise` (what is not a relationship).
"""

from __future__ import annotations

from . import exclusion_pages, senders
from .assembly import assemble
from .book import is_own
from .exchanges import analytics_input, exclusion_rows, exclusions, load_directory, load_exchanges
from .own import add_own_addresses, own_addresses
from .persons import list_people, merge_people, split_person
from .records import AnalyticsInput, Directory, InteractionRow
from .refresh import refresh_after, refresh_people
from .rules import delete_rule, is_colleague, list_rules, org_domains, set_org_domains, set_rule
from .suggestions import merge_suggestions, resolve_suggestion

__all__ = [
    "AnalyticsInput",
    "Directory",
    "InteractionRow",
    "add_own_addresses",
    "analytics_input",
    "assemble",
    "delete_rule",
    "exclusion_pages",
    "exclusion_rows",
    "exclusions",
    "is_colleague",
    "is_own",
    "list_people",
    "list_rules",
    "load_directory",
    "load_exchanges",
    "merge_people",
    "merge_suggestions",
    "org_domains",
    "own_addresses",
    "refresh_after",
    "refresh_people",
    "resolve_suggestion",
    "senders",
    "set_org_domains",
    "set_rule",
    "split_person",
]
