"""The JSON shapes of the accounts routes: a connected account with its sync health, and the
OAuth connect request and answer (`service.api.accounts`)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from .. import providers
from .schemas import Address, Request_


class Account(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": 3,
                    "provider": "google",
                    "address": "me@example.org",
                    "status": "incremental",
                    "last_error": None,
                    "last_synced_at": "2026-11-24T09:00:00Z",
                    "synced_share": 1.0,
                    "cursor_advanced_at": "2026-11-24T09:00:00Z",
                    "needs_reconnect": False,
                    "resources": [
                        {
                            "resource": "mail",
                            "state": "incremental",
                            "items_seen": 12034,
                            "items_total": 12034,
                            "cursor_advanced_at": "2026-11-24T09:00:00Z",
                            "last_error": None,
                        }
                    ],
                    "quarantined": 0,
                    "quarantine_note": None,
                }
            ]
        }
    )
    id: int
    provider: str
    address: str
    status: str
    last_error: str | None
    last_synced_at: datetime | None
    synced_share: float | None = Field(description="Share of the mailbox synced (0..1), when known.")
    cursor_advanced_at: datetime | None
    needs_reconnect: bool
    resources: list[dict[str, Any]]
    quarantined: int = Field(0, description="Items of this account set aside as unreadable.")
    quarantine_note: str | None = Field(None, description="The quarantine in words, when there is one.")


def _synced_provider(name: str) -> str:
    if not providers.synced(name):
        raise ValueError(f"unknown provider: use {' or '.join(providers.names())}")
    return name


# Checked against the registry when a request comes, so the schema's enum is read then too.
ProviderName = Annotated[
    str,
    AfterValidator(_synced_provider),
    Field(json_schema_extra=lambda schema: schema.update(enum=list(providers.names()))),
]


class ConnectIn(Request_):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"provider": "google", "login_hint": "me@example.org"}]}
    )
    provider: ProviderName
    login_hint: Address | None = None


class ConnectOut(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "provider": "google",
                    "authorize_url": "https://accounts.google.com/o/oauth2/auth?response_type=code&...",
                }
            ]
        }
    )
    provider: str
    authorize_url: str = Field(description="Open this in the user's browser to grant access.")


class Accepted(BaseModel):
    status: Literal["queued"]
    account_id: int
