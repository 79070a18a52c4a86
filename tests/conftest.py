"""Test fixtures on the real PostgreSQL: each xdist worker gets its own migrated database,
and tests that need a pristine log get a fresh database cloned from a migrated template."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from application.config import Settings
from interfaces.bootstrap import migrate
from interfaces.http.app import create_app
from tests.support.api import Api
from tests.support.databases import (
    BackgroundDrops,
    drop_database,
    make_settings,
    recreate_database,
)
from tests.support.logs import console_logging


@pytest.fixture(scope="session", autouse=True)
def plain_tracebacks() -> None:
    """Logged exceptions rendered as plain text, not rich with every frame's locals."""
    console_logging()


@pytest.fixture(scope="session")
def worker_id_safe(worker_id: str) -> str:
    """Unique per worker and per run: concurrent test runs never share a database."""
    return f"{worker_id.replace('-', '_')}_{os.getpid()}"


@pytest.fixture(scope="session")
def template_db(worker_id_safe: str) -> Iterator[str]:
    """A migrated, empty database used as the template for fresh databases."""
    name = f"worksync_tpl_{worker_id_safe}"
    migrate(recreate_database(name))
    yield name
    drop_database(name)


@pytest.fixture(scope="session")
def database_url(template_db: str, worker_id_safe: str) -> Iterator[str]:
    """This worker's shared database (migrated)."""
    name = f"worksync_test_{worker_id_safe}"
    yield recreate_database(name, template_db)
    drop_database(name)


@pytest.fixture(scope="session")
def background_drops() -> Iterator[BackgroundDrops]:
    drops = BackgroundDrops()
    yield drops
    drops.close()


@pytest.fixture
def fresh_database_url(template_db: str, background_drops: BackgroundDrops) -> Iterator[str]:
    """A database of this test's own, with an empty log (dropped in the background after)."""
    name = f"worksync_fresh_{uuid.uuid4().hex[:12]}"
    yield recreate_database(name, template_db)
    background_drops.drop(name)


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture(scope="session")
def client(settings: Settings) -> Iterator[TestClient]:
    app = create_app(settings, with_projector=True)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def api(client: TestClient) -> Api:
    return Api(client)
