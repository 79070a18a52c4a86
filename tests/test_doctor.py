"""`worksync doctor`: every check against real services (PostgreSQL, Redis, an SMTP server,
the storage folder), what it says when one is broken, and its exit status."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import psycopg
import pytest
from aiosmtpd.controller import Controller
from moto.server import ThreadedMotoServer
from typer.testing import CliRunner

from application import config
from interfaces.cli import app
from tests.support.databases import files_folder
from tests.support.live_server import free_port
from tests.support.mail import REDIS_URL, Inbox

runner = CliRunner()


@pytest.fixture
def smtp_port() -> Iterator[int]:
    handler = Inbox()
    handler.port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=handler.port)
    controller.start()
    try:
        yield handler.port
    finally:
        controller.stop()


def doctor(monkeypatch: pytest.MonkeyPatch, **env: str) -> tuple[int, dict[str, list[dict]]]:
    """Run `worksync doctor --json` with this environment; (exit code, checks by name)."""
    for name in ("DATABASE_URL", "DATABASE_READ_URL", "REDIS_URL", "SMTP_HOST", "S3_BUCKET_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FILES_DIR", files_folder())
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(files_folder())  # no .env file of the checkout is read
    config.get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["doctor", "--json"])
    finally:
        config.get_settings.cache_clear()
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    checks: dict[str, list[dict[str, Any]]] = {}
    for check in json.loads(result.stdout.strip().splitlines()[-1]):
        checks.setdefault(check["name"], []).append(check)
    return result.exit_code, checks


def statuses(checks: dict[str, list[dict]], name: str) -> list[str]:
    return [c["status"] for c in checks[name]]


def test_a_healthy_installation_passes(monkeypatch, client, database_url, smtp_port):
    # ``client`` runs the projector on this database: every projection has a runner.
    code, checks = doctor(
        monkeypatch,
        DATABASE_URL=database_url,
        REDIS_URL=REDIS_URL,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(smtp_port),
    )
    assert code == 0, checks
    for name in ("configuration", "database", "redis", "storage", "smtp", "projections"):
        assert statuses(checks, name) == ["ok"], checks[name]
    assert "migrations applied" in checks["database"][0]["detail"]


def test_unreachable_services_fail_and_say_what_to_fix(monkeypatch):
    dead = free_port()
    code, checks = doctor(
        monkeypatch,
        DATABASE_URL=f"postgresql://postgres@127.0.0.1:{dead}/nowhere",
        REDIS_URL=f"redis://127.0.0.1:{dead}/0",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=str(dead),
        FILES_DIR="/proc/no-such-folder",
    )
    assert code == 1
    for name in ("database", "redis", "smtp", "storage"):
        [check] = checks[name]
        assert check["status"] == "fail", check
        assert check["fix"], check
    assert "DATABASE_URL" in checks["database"][0]["fix"]
    assert "projections" not in checks  # not checked without a database


def test_production_with_default_secrets_fails_the_configuration(monkeypatch, database_url):
    code, checks = doctor(monkeypatch, APP_ENV="production", DATABASE_URL=database_url)
    assert code == 1
    configuration = checks["configuration"]
    assert configuration[0]["status"] == "fail"
    assert "JWT_SECRET" in configuration[0]["detail"]
    # ... and the risky parts of a production set-up are pointed out.
    details = " ".join(c["detail"] for c in configuration[1:])
    assert "REDIS_URL" in details
    assert "/metrics" in details


def test_invalid_settings_are_named(monkeypatch):
    code, checks = doctor(monkeypatch, PORT="not-a-port")
    assert code == 1
    [check] = checks["configuration"]
    assert check["status"] == "fail"
    assert "PORT" in check["detail"]
    assert list(checks) == ["configuration"]


def test_an_unmigrated_database_fails(monkeypatch, fresh_database_url):
    with psycopg.connect(fresh_database_url, autocommit=True) as conn:
        conn.execute(
            "DELETE FROM schema_migrations WHERE version = (SELECT max(version) FROM schema_migrations)"
        )
    code, checks = doctor(monkeypatch, DATABASE_URL=fresh_database_url)
    assert code == 1
    assert statuses(checks, "database") == ["fail"]
    assert "worksync migrate" in checks["database"][0]["fix"]


def test_a_failed_projection_is_reported_with_the_way_out(monkeypatch, fresh_database_url):
    with psycopg.connect(fresh_database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO projection_tracking (name, position, state, error, error_position)"
            " VALUES ('kanban', 0, 'failed', 'boom', 1)"
            " ON CONFLICT (name) DO UPDATE SET state = 'failed', error = 'boom',"
            " error_position = 1"
        )
        conn.execute(
            "INSERT INTO projection_tracking (name, position, state)"
            " VALUES ('tasks', 0, 'paused')"
            " ON CONFLICT (name) DO UPDATE SET state = 'paused'"
        )
    code, checks = doctor(monkeypatch, DATABASE_URL=fresh_database_url)
    assert code == 1
    [failed] = checks["projection kanban"]
    assert failed["status"] == "fail"
    assert "boom" in failed["detail"]
    assert "worksync projections resume kanban" in failed["fix"]
    assert statuses(checks, "projection tasks") == ["warn"]
    assert statuses(checks, "projections") == ["warn"]  # and no projector runs at all
    assert statuses(checks, "redis") == ["warn"]
    assert statuses(checks, "smtp") == ["warn"]


def test_a_replica_that_is_not_a_standby_is_pointed_out(monkeypatch, database_url, client):
    code, checks = doctor(monkeypatch, DATABASE_URL=database_url, DATABASE_READ_URL=database_url)
    assert code == 0  # a warning is not a failure
    assert statuses(checks, "read replica") == ["warn"]
    assert "not a standby" in checks["read replica"][0]["detail"]


def test_the_s3_bucket_is_checked(monkeypatch):
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        s3 = {
            "S3_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }
        boto3.client("s3", region_name="us-east-1", endpoint_url=endpoint,
                     aws_access_key_id="testing", aws_secret_access_key="testing",
                     ).create_bucket(Bucket="doctor-files")  # fmt: skip
        _, found = doctor(monkeypatch, S3_BUCKET_NAME="doctor-files", **s3)
        assert statuses(found, "storage") == ["ok"]
        _, missing = doctor(monkeypatch, S3_BUCKET_NAME="no-such-bucket", **s3)
        assert statuses(missing, "storage") == ["fail"]
        assert "create the bucket" in missing["storage"][0]["fix"]
    finally:
        server.stop()
