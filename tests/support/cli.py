"""``invoke``: the worksync command line in-process, against a given database."""

from __future__ import annotations

from typer.testing import CliRunner

from application import config
from interfaces.cli import app

runner = CliRunner()


def invoke(monkeypatch, url: str, *args: str):
    monkeypatch.setenv("DATABASE_URL", url)
    config.get_settings.cache_clear()
    try:
        return runner.invoke(app, list(args))
    finally:
        config.get_settings.cache_clear()
