"""The team's answers, as the API, dashboard and CLI give them: who knows a person, an
address or a domain; an organisation's reach; key-person risk.

Every answer is asked by a member who shares (membership.sharing_member) and is built
from shares.py's rows alone, so each item carries at most: the contact's address (or the
domain), the teammate (id, name, email), the band and the month. Nothing else exists to
leak.
"""

from __future__ import annotations

import json
import re

from . import membership, ranking, shares
from .ranking import Share

DOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?)+$")
ADDRESS_MAX = 320


def clean_domain(value: str) -> str:
    domain = value.strip().lower().lstrip("@")
    if not DOMAIN.match(domain):
        raise ValueError(f"{value[:80]!r} is not a domain (example.org).")
    return domain


def clean_address(value: str) -> str:
    address = value.strip().lower()
    local, at, domain = address.rpartition("@")
    if not at or not local or len(address) > ADDRESS_MAX or any(c.isspace() for c in address):
        raise ValueError(f"{value[:80]!r} is not an email address.")
    clean_domain(domain)
    return address


def members(conn, user_ids: set[int]) -> dict[int, dict]:
    if not user_ids:
        return {}
    rows = conn.execute(
        "SELECT id, coalesce(name, email), email FROM users WHERE id = ANY(%s)", (sorted(user_ids),)
    ).fetchall()
    return {r[0]: {"user_id": r[0], "name": r[1], "email": r[2]} for r in rows}


def _known(s: Share, people: dict[int, dict]) -> dict:
    return {"member": people[s.user_id], "band": ranking.band_name(s.band), "month": ranking.month_text(s.month)}


def who_knows(
    conn,
    team_id: int,
    user_id: int,
    *,
    address: str | None = None,
    domain: str | None = None,
    person: int | None = None,
) -> dict:
    """Sharing teammates who know the address, the person (of the asker's own book) or
    someone at the domain, ranked by band then recency. Exactly one of the three."""
    membership.sharing_member(conn, team_id, user_id)
    given = [x for x in (address, domain, person) if x is not None]
    if len(given) != 1:
        raise ValueError("Give exactly one of address, domain or person.")
    if domain is not None:
        target = {"kind": "domain", "value": clean_domain(domain)}
        found = shares.by_domain_best(conn, team_id, target["value"])
    else:
        if address is not None:
            addresses = [clean_address(address)]
            target = {"kind": "address", "value": addresses[0]}
        else:
            addresses = shares.person_addresses(conn, user_id, int(person or 0))
            target = {"kind": "person", "value": str(int(person or 0))}
        found = shares.by_addresses(conn, team_id, addresses)
    ranked = ranking.best_per_member(found)
    people = members(conn, {s.user_id for s in ranked})
    return target | {"known_by": [_known(s, people) for s in ranked]}


def org_reach_json(conn, team_id: int, user_id: int, domain: str) -> str:
    """The people at an organisation reachable through the team, and who to ask for each,
    as the API's JSON text (rendered by PostgreSQL: shares.reach_json)."""
    membership.sharing_member(conn, team_id, user_id)
    domain = clean_domain(domain)
    return '{"domain": ' + json.dumps(domain) + ', "people": ' + shares.reach_json(conn, team_id, domain) + "}"


def org_reach(conn, team_id: int, user_id: int, domain: str) -> dict:
    """The people at an organisation reachable through the team, and who to ask for each."""
    result: dict = json.loads(org_reach_json(conn, team_id, user_id, domain))
    return result


def key_person_risk(conn, team_id: int, user_id: int) -> dict:
    """Organisations where a single teammate holds every strong tie of the team."""
    membership.sharing_member(conn, team_id, user_id)
    risky = ranking.key_person_risk(shares.strong(conn, team_id), ignore=membership.own_domains(conn, team_id))
    people = members(conn, {s.user_id for _, s in risky})
    return {
        "organisations": [
            {"domain": domain, "only": people[s.user_id], "band": "strong", "month": ranking.month_text(s.month)}
            for domain, s in risky
        ]
    }
