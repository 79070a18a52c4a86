"""Test databases on the real PostgreSQL (``WORKSYNC_TEST_ADMIN_URL``), and the settings the
tests run with."""

from __future__ import annotations

import atexit
import os
import queue
import shutil
import tempfile
import threading
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


class BackgroundDrops:
    """Drops databases on a thread of its own. DROP DATABASE waits for a checkpoint (PostgreSQL
    15 forces one), which flushes whatever every test process has dirtied: 0.1-4 s under load,
    ~50 s of a 'make test' run spent in test teardowns. Nothing waits for the drop but the end
    of the session (``close``), which reports any drop that failed."""

    def __init__(self) -> None:
        self._names: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self.failures: list[str] = []
        self._thread = threading.Thread(target=self._run, name="database-drops", daemon=True)
        self._thread.start()

    def drop(self, dbname: str) -> None:
        self._names.put(dbname)

    def _run(self) -> None:
        while (name := self._names.get()) is not None:
            try:
                drop_database(name)
            except psycopg.Error as e:
                self.failures.append(f"{name}: {e}")

    def close(self) -> None:
        self._names.put(None)
        self._thread.join()
        assert not self.failures, self.failures


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
