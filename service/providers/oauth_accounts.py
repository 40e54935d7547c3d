"""Attaching a mailbox that finished an OAuth flow to a Kith user, for both providers.

A provider module turns the redirect into an *exchanged* dict — {"provider", "address",
"scopes", "credentials"} — and nothing more; attaching it is the same for Google and
Microsoft, and happens only once the starter has confirmed it:

    web      callback -> exchange -> oauth_states.hold -> confirmation page -> POST -> attach
    CLI      loopback -> exchange -> attach: the terminal that started the flow holds its
             nonce in memory and is told which mailbox goes to which Kith user; a mailbox
             another Kith user has connected needs a yes typed at that terminal
    headless the same in-process path, for an authority that consents by itself (emulators)

Reconnecting an account that was revoked or disconnected resets it and its resources so
the next sync runs, from their cursors where they have one (service.account_state's
`connect` transition).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ingest.errors import InputError

from ..account_state import CONNECT, transition
from ..config import Settings
from ..db import Database, scalar
from ..store import ensure_account
from . import oauth_states
from .credentials import save_credentials

log = logging.getLogger(__name__)

# Given the exchanged mailbox's address: may it be connected although another Kith user has it?
ConfirmShared = Callable[[str], bool]
# (settings, the flow saved at start, the redirect's query) -> the exchanged dict
Exchange = Callable[[Settings, dict, dict], dict]


def exchanged(provider: str, address: str, scopes, credentials: dict) -> dict:
    return {
        "provider": provider,
        "address": address.strip().lower(),
        "scopes": list(scopes),
        "credentials": credentials,
    }


def kith_email(db: Database, user_id: int) -> str:
    with db.tx() as conn:
        row = conn.execute("SELECT email FROM users WHERE id = %s", (user_id,)).fetchone()
    if row is None:
        raise InputError("the Kith user who started this sign-in no longer exists")
    return row[0]


def connected_elsewhere(db: Database, user_id: int, provider: str, address: str) -> bool:
    """Whether another Kith user has this mailbox connected (a disconnected one does not count)."""
    with db.tx() as conn:
        return bool(
            scalar(
                conn.execute(
                    "SELECT EXISTS (SELECT 1 FROM accounts WHERE provider = %s AND address = %s AND user_id <> %s "
                    "AND status <> 'disabled')",
                    (provider, address.strip().lower(), user_id),
                )
            )
        )


def attach(settings: Settings, db: Database, user_id: int, done: dict) -> int:
    """Store the exchanged mailbox as `user_id`'s account (new or reconnected); its id."""
    with db.tx() as conn:
        account_id = ensure_account(conn, user_id, done["provider"], done["address"], scopes=done["scopes"])
        save_credentials(conn, settings, account_id, done["credentials"])
        transition(conn, account_id, *CONNECT, error=None)
    log.info("%s account %s connected for user %s", done["provider"], account_id, user_id)
    return account_id


def complete_in_process(
    settings: Settings,
    db: Database,
    provider: str,
    exchange: Exchange,
    auth_response: dict,
    nonce: str,
    *,
    again: str,
    confirm_shared: ConfirmShared,
    say: Callable[[str], object] | None = None,
) -> int:
    """Finish a flow whose starter is this process (CLI, headless): answer, exchange, attach."""
    state = auth_response.get("state") or ""
    user_id, flow = oauth_states.answer(settings, db, provider, state, nonce, again=again)
    try:
        done = exchange(settings, flow, auth_response)
        if say is not None:
            say(f"Connecting the mailbox {done['address']} to the Kith account of {kith_email(db, user_id)}.")
        if connected_elsewhere(db, user_id, provider, done["address"]) and not confirm_shared(done["address"]):
            raise InputError(
                f"{done['address']} is already connected to another Kith account, and connecting "
                "it here too was not confirmed"
            )
        return attach(settings, db, user_id, done)
    finally:
        oauth_states.burn(db, state)


def in_process(provider: str, exchange: Exchange, again: str):
    """A provider's `complete_flow(settings, db, auth_response, nonce, confirm_shared=..., say=None)`:
    finish, in this process, the flow it started (`nonce` from its start_flow); the account id.
    Without `confirm_shared`, a mailbox another Kith user has is refused. The web callback
    instead holds the tokens for a confirmation (service.api.connect)."""

    def complete_flow(
        settings: Settings,
        db: Database,
        auth_response: dict,
        nonce: str,
        confirm_shared: ConfirmShared = lambda address: False,
        say=None,
    ) -> int:
        return complete_in_process(
            settings, db, provider, exchange, auth_response, nonce, again=again, confirm_shared=confirm_shared, say=say
        )

    return complete_flow


def ask_terminal(prompt: Callable[[str], str] = input) -> ConfirmShared:
    """A ConfirmShared that asks at the terminal; no answer (no terminal) is a no."""

    def confirm(address: str) -> bool:
        try:
            reply = prompt(f"{address} is already connected to another Kith account. Connect it here too? [y/N] ")
        except EOFError:
            return False
        return reply.strip().lower() in ("y", "yes")

    return confirm


__all__ = [
    "ConfirmShared",
    "Exchange",
    "exchanged",
    "kith_email",
    "connected_elsewhere",
    "attach",
    "complete_in_process",
    "in_process",
    "ask_terminal",
]
