"""The user's rules about addresses (allow or block an address or a domain) and the
organisation's domains (who counts as a colleague).

Both are read by the assembly of the analytics input (`assembly.py` applies the rules and
marks colleagues); the API and the CLI edit them here. Values are stored canonical, so a
rule matches however the address was spelled in the mail.
"""

from __future__ import annotations

from collections.abc import Iterable

from ingest import identity

from ..db import rows as _rows
from .own import own_addresses


def set_rule(conn, user_id: int, kind: str, value: str, action: str) -> dict:
    if kind not in ("address", "domain") or action not in ("allow", "block"):
        raise ValueError("kind must be address|domain and action allow|block")
    value = identity.canonical(value) if kind == "address" else value.strip().lower().lstrip("@").strip(".")
    if not value or (kind == "address" and "@" not in value and not identity.is_legacy_dn(value)):
        raise ValueError(f"not an {kind}: {value!r}")
    conn.execute(
        "INSERT INTO rules (user_id, kind, value, action) VALUES (%s, %s, %s, %s) "
        "ON CONFLICT (user_id, kind, value) DO UPDATE SET action = EXCLUDED.action, created_at = now()",
        (user_id, kind, value, action),
    )
    return {"kind": kind, "value": value, "action": action}


def delete_rule(conn, user_id: int, kind: str, value: str) -> bool:
    value = identity.canonical(value) if kind == "address" else value.strip().lower().lstrip("@").strip(".")
    cur = conn.execute("DELETE FROM rules WHERE user_id = %s AND kind = %s AND value = %s", (user_id, kind, value))
    return cur.rowcount > 0


def list_rules(conn, user_id: int) -> list[dict]:
    return [
        {"kind": k, "value": v, "action": a, "created_at": c}
        for k, v, a, c in _rows(
            conn,
            "SELECT kind, value, action, created_at FROM rules WHERE user_id = %s ORDER BY kind, value",
            (user_id,),
        )
    ]


def set_org_domains(conn, user_id: int, domains: Iterable[str]) -> list[str]:
    """Replace the user's organisation domains. Free-mail and academic domains are refused
    (ValueError): sharing gmail.com or a university makes nobody a colleague."""
    clean = sorted({d.strip().lower().lstrip("@").strip(".") for d in domains if d and d.strip()})
    shared = [d for d in clean if identity.is_shared_domain(d)]
    if shared:
        raise ValueError(f"shared domains cannot be an organisation: {', '.join(shared)}")
    conn.execute("DELETE FROM org_domains WHERE user_id = %s", (user_id,))
    if clean:
        with conn.cursor() as cur:
            cur.executemany("INSERT INTO org_domains (user_id, domain) VALUES (%s, %s)", [(user_id, d) for d in clean])
    return clean


def org_domains(conn, user_id: int) -> list[str]:
    """The organisation's domains: those the user named, else the non-shared domains of the
    user's own addresses (a work account at northwind.example makes northwind colleagues)."""
    named = [r[0] for r in _rows(conn, "SELECT domain FROM org_domains WHERE user_id = %s ORDER BY domain", (user_id,))]
    if named:
        return named
    return sorted(
        {
            identity.domain_of(a)
            for a in own_addresses(conn, user_id)
            if "@" in a and not identity.is_shared_domain(identity.domain_of(a))
        }
    )


def is_colleague(conn, user_id: int, address: str, domains: Iterable[str] | None = None) -> bool:
    domains = org_domains(conn, user_id) if domains is None else list(domains)
    return identity.in_domains(address, domains)
