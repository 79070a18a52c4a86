"""Configuration: durations, environment variables, and refusing unsafe production settings."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from application.config import ConfigError, Settings, parse_duration
from interfaces.cli import app


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15m", 900), ("30d", 2_592_000), ("3600", 3600), ("2h", 7200), ("45s", 45)],
)
def test_durations_parse_like_the_spec_writes_them(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "15x", "-5m"])
def test_bad_durations_are_rejected(text):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_settings_read_the_spec_environment_variables(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db:5432/ws")
    monkeypatch.setenv("JWT_EXPIRES_IN", "10m")
    monkeypatch.setenv("CORS_ORIGIN", "https://a.example, https://b.example")
    monkeypatch.setenv("NODE_ENV", "staging")
    settings = Settings()
    assert settings.database_url == "postgresql://u@db:5432/ws"
    assert settings.jwt_expires_in == 600
    assert settings.cors_origins == ["https://a.example", "https://b.example"]
    assert settings.app_env == "staging"
    assert not settings.is_production


def test_production_with_default_secrets_refuses_to_start(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/ws")
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        Settings().check_safe()


def test_production_with_real_secrets_starts(monkeypatch):
    monkeypatch.setenv("NODE_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/ws")
    monkeypatch.setenv("JWT_SECRET", "a" * 40)
    monkeypatch.setenv("JWT_REFRESH_SECRET", "b" * 40)
    Settings().check_safe()
    monkeypatch.setenv("BCRYPT_ROUNDS", "10")
    with pytest.raises(ConfigError, match="BCRYPT_ROUNDS"):
        Settings().check_safe()


def test_serve_in_production_with_default_secrets_exits_with_a_clear_message(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db/ws")
    from application import config

    config.get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, ["serve"])
    finally:
        config.get_settings.cache_clear()
    assert result.exit_code == 2
    assert "refusing to start in production" in result.output
