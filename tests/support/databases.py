"""Test databases on the real PostgreSQL (``WORKSYNC_TEST_ADMIN_URL``), and the settings the
tests run with."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from functools import cache
from typing import Any

import psycopg

from application.config import Settings

ADMIN_URL = os.environ.get(
    "WORKSYNC_TEST_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def url_of(dbname: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(ADMIN_URL)
    info["dbname"] = dbname
    return psycopg.conninfo.make_conninfo(**info)


def recreate_database(dbname: str, template: str | None = None) -> str:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')
        suffix = f' TEMPLATE "{template}"' if template else ""
        conn.execute(f'CREATE DATABASE "{dbname}"{suffix}')
    return url_of(dbname)


def drop_database(dbname: str) -> None:
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)')


@cache
def files_folder() -> str:
    """This test process's local file store (removed when it exits)."""
    folder = tempfile.mkdtemp(prefix="worksync-files-")
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return folder


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "files_dir": files_folder(),
        "bcrypt_rounds": 4,
        "db_pool_size": 4,
        "projection_wait_timeout": 10.0,
        "log_level": "warning",
        "rate_limit_enabled": False,  # tests/test_rate_limits.py covers the limits
        "maintenance_enabled": False,  # tests/test_retention.py runs it
    }
    values.update(overrides)
    return Settings(**values)
