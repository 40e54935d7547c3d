"""Settings come from KITH_<NAME> (any case), under what the caller passes; nothing else."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from service.config import Settings


@pytest.fixture
def clean_env(monkeypatch):
    import os

    for key in list(os.environ):
        if key.upper().startswith("KITH_"):
            monkeypatch.delenv(key)
    return monkeypatch


def test_defaults_when_nothing_is_set(clean_env):
    settings = Settings()
    assert settings.database_url is None and settings.redis_url is None
    assert settings.home == Path("./.kith")
    assert settings.google_quota_scale == 1.0
    assert settings.secret_key is None


def test_environment_names_are_read_and_typed(clean_env):
    clean_env.setenv("KITH_DATABASE_URL", "postgresql://db.example/kith")
    clean_env.setenv("kith_redis_url", "redis://cache.example/0")  # names are not case-sensitive
    clean_env.setenv("KITH_HOME", "/srv/kith")
    clean_env.setenv("KITH_GOOGLE_QUOTA_SCALE", "2.5")
    clean_env.setenv("KITH_SECRET_KEY", "s3cret")
    clean_env.setenv("KITH_NOT_A_SETTING", "ignored")
    clean_env.setenv("OTHER_DATABASE_URL", "postgresql://not-ours")
    settings = Settings()
    assert settings.database_url == "postgresql://db.example/kith"
    assert settings.redis_url == "redis://cache.example/0"
    assert settings.home == Path("/srv/kith")
    assert settings.google_quota_scale == 2.5
    assert settings.secret_key is not None and settings.secret_key.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)
    assert not hasattr(settings, "not_a_setting")


def test_arguments_win_over_the_environment(clean_env):
    clean_env.setenv("KITH_DATABASE_URL", "postgresql://from-env/kith")
    clean_env.setenv("KITH_BASE_URL", "https://kith.example.org")
    settings = Settings(database_url="postgresql://from-argument/kith")
    assert settings.database_url == "postgresql://from-argument/kith"
    assert settings.base_url == "https://kith.example.org"


def test_a_bad_value_is_a_clear_error(clean_env):
    clean_env.setenv("KITH_GOOGLE_QUOTA_SCALE", "fast")
    with pytest.raises(ValidationError, match="google_quota_scale"):
        Settings()
