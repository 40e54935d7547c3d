"""Configuration: nothing set means embedded PostgreSQL and Redis under KITH_HOME; set URLs win."""

import psycopg
import redis

from service import db as kdb, embedded
from service.config import Settings


def test_nothing_configured_starts_embedded_servers_under_kith_home(tmp_path, monkeypatch):
    # Given no database or Redis URL
    monkeypatch.delenv("KITH_DATABASE_URL", raising=False)
    monkeypatch.delenv("KITH_REDIS_URL", raising=False)
    home = tmp_path / "home"
    settings = Settings(home=home)
    assert settings.database_url is None and settings.redis_url is None
    try:
        # When the settings are resolved
        resolved = embedded.resolve(settings)
        # Then PostgreSQL runs from KITH_HOME and takes migrations, and Redis answers
        assert str(home.resolve() / "pgdata") in resolved.database_url
        kdb.migrate(resolved.database_url)
        with psycopg.connect(resolved.database_url) as conn:
            assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)
        client = redis.Redis.from_url(resolved.redis_url)
        assert client.ping()
        assert (home / "redis.db").exists() or any(home.iterdir())
    finally:
        embedded.stop(home.resolve())


def test_configured_urls_are_used_as_they_are(tmp_path):
    settings = Settings(
        home=tmp_path, database_url="postgresql://db.example/kith", redis_url="redis://cache.example:6379/3"
    )
    resolved = embedded.resolve(settings)
    assert resolved.database_url == "postgresql://db.example/kith"
    assert resolved.redis_url == "redis://cache.example:6379/3"


def test_development_secret_key_is_generated_once_with_mode_0600(tmp_path, monkeypatch):
    monkeypatch.delenv("KITH_SECRET_KEY", raising=False)
    settings = Settings(home=tmp_path)
    first = settings.secret()
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    assert Settings(home=tmp_path).secret() == first
