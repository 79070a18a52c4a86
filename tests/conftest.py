"""Test fixtures on the real PostgreSQL: each xdist worker gets its own migrated database,
and tests that need a pristine log get a fresh database cloned from a migrated template."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from application.config import Settings
from interfaces.bootstrap import migrate
from interfaces.http.app import create_app

ADMIN_URL = os.environ.get(
    "WORKSYNC_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _url(dbname: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(ADMIN_URL)
    info["dbname"] = dbname
    return psycopg.conninfo.make_conninfo(**info)


def _recreate(dbname: str, template: str | None = None) -> str:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        suffix = f' TEMPLATE "{template}"' if template else ""
        conn.execute(f'CREATE DATABASE "{dbname}"{suffix}')
    return _url(dbname)


def _drop(dbname: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


@pytest.fixture(scope="session")
def worker_id_safe(worker_id: str) -> str:
    """Unique per worker and per run: concurrent test runs never share a database."""
    return f"{worker_id.replace('-', '_')}_{os.getpid()}"


@pytest.fixture(scope="session")
def template_db(worker_id_safe: str) -> Iterator[str]:
    """A migrated, empty database used as the template for fresh databases."""
    name = f"worksync_tpl_{worker_id_safe}"
    migrate(_recreate(name))
    yield name
    _drop(name)


@pytest.fixture(scope="session")
def database_url(template_db: str, worker_id_safe: str) -> Iterator[str]:
    """This worker's shared database (migrated)."""
    name = f"worksync_test_{worker_id_safe}"
    yield _recreate(name, template_db)
    _drop(name)


@pytest.fixture
def fresh_database_url(template_db: str) -> Iterator[str]:
    """A database of this test's own, with an empty log."""
    name = f"worksync_fresh_{uuid.uuid4().hex[:12]}"
    yield _recreate(name, template_db)
    _drop(name)


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "bcrypt_rounds": 4,
        "db_pool_size": 4,
        "projection_wait_timeout": 10.0,
        "log_level": "warning",
        "rate_limit_enabled": False,  # tests/test_rate_limits.py covers the limits
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture(scope="session")
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, with_projector=True)
    with TestClient(app) as test_client:
        yield test_client


class Api:
    """A thin helper over the test client for signed-in calls."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    def register(
        self, email: str | None = None, password: str = "correct horse", name: str = "Ann"
    ) -> dict:
        email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
        response = self.client.post(
            "/api/v1/auth/register", json={"email": email, "password": password, "name": name}
        )
        assert response.status_code == 201, response.text
        body = response.json()
        body["headers"] = {"Authorization": f"Bearer {body['access_token']}"}
        body["password"] = password
        return body

    def create_workspace(self, user: dict, name: str = "Acme", **extra: Any) -> dict:
        response = self.client.post(
            "/api/v1/workspaces", json={"name": name, **extra}, headers=user["headers"]
        )
        assert response.status_code == 201, response.text
        return response.json()


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)
