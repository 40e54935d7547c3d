"""Where mail is synced from: one `Provider` per source, and `REGISTRY`, the only list of them.

A provider is a name ("google"), a display name ("Google") and a module that implements

    SCOPES                                        what the OAuth consent asks for
    start_flow(settings, db, user_id, redirect_uri, login_hint=None) -> oauth_states.Started
    exchange(settings, saved_flow, redirect_query) -> oauth_accounts.exchanged(...)
    connect_cli(settings, db, email, no_browser=...)    `kith connect <name>` (loopback redirect)
    connect_demo(settings, db, user_id, world)    `kith demo`: its emulator seeded with `world`,
                                                  connected headlessly -> (emulator, settings, account id)
    emulator_url(emulator)                        where that emulator listens, for the demo's output
    build_connector(settings, db, account_id)     -> an ingest Connector for a connected account

Everything that depends on which providers exist asks this module: the connect routes and
the OAuth callback (service.api.connect), `kith connect` and `kith sync` (service.cli), the
sync of one account (service.sync) and of all (service.jobs.actors), the accounts API and its
schema, the dashboard's reconnect, the digest's wording, the demo, and which account
addresses are the user's own (service.store). Adding IMAP or JMAP is one module and one line
in `REGISTRY`. File sources (mbox, ics, memory) are imported, not synced, and are not here.

The provider modules are imported when first used, not with this package: service.store
asks `synced()` while the provider modules themselves use service.store.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from ingest.errors import InputError


class UnknownProvider(InputError):
    """A name that is not in REGISTRY (a typo, or a file source asked to sync)."""


@dataclass(frozen=True)
class Provider:
    name: str
    label: str
    module: Any  # a dotted path (imported on first use), or the module or object itself
    # The sync resources that hold mail (the rest are calendars): a first sync's coverage
    # (service.coverage) waits for each of them.
    mail_resources: tuple[str, ...] = ()
    # Messages per second a first sync reads under the provider's own quota (None: no fixed
    # quota; coverage then uses the rate observed so far).
    quota_rate: float | None = None

    @property
    def impl(self) -> Any:
        if isinstance(self.module, str):
            return importlib.import_module(self.module)
        return self.module

    @property
    def scopes(self) -> tuple[str, ...]:
        return tuple(self.impl.SCOPES)

    def callback_path(self) -> str:
        return f"/v1/connect/{self.name}/callback"

    def callback_url(self, base_url: str) -> str:
        return base_url.rstrip("/") + self.callback_path()

    def again(self) -> str:
        """What a refused sign-in tells the person to do."""
        return f"start connecting {self.label} again"

    def start_flow(self, settings, db, user_id: int, redirect_uri: str, login_hint: str | None = None):
        return self.impl.start_flow(settings, db, user_id, redirect_uri, login_hint=login_hint)

    def exchange(self, settings, saved: dict, auth_response: dict) -> dict:
        return self.impl.exchange(settings, saved, auth_response)

    def connect_cli(self, settings, db, email: str, **options) -> int:
        return self.impl.connect_cli(settings, db, email, **options)

    def connect_demo(self, settings, db, user_id: int, world):
        return self.impl.connect_demo(settings, db, user_id, world)

    def emulator_url(self, emulator) -> str:
        return self.impl.emulator_url(emulator)

    def build_connector(self, settings, db, account_id: int, **options):
        return self.impl.build_connector(settings, db, account_id, **options)


REGISTRY: dict[str, Provider] = {
    provider.name: provider
    for provider in (
        # Gmail's per-user quota: 250 units/s, ~226 messages per 1,000 units.
        Provider("google", "Google", "service.providers.google", ("gmail",), quota_rate=250 * 226 / 1000),
        Provider("microsoft", "Microsoft 365", "service.providers.microsoft", ("mail:sentitems", "mail:inbox")),
    )
}


def names() -> tuple[str, ...]:
    return tuple(REGISTRY)


def synced(name: str) -> bool:
    """Whether accounts of `name` are synced from a provider (not imported from files)."""
    return name in REGISTRY


def get(name: str) -> Provider:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownProvider(f"unknown provider {name!r}: use {' or '.join(REGISTRY)}") from None


def label(name: str) -> str:
    """The provider's display name; a file source's own name."""
    return REGISTRY[name].label if name in REGISTRY else name


__all__ = ["Provider", "REGISTRY", "UnknownProvider", "names", "synced", "get", "label"]
