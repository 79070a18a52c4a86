"""The embedded default: with no DATABASE_URL, run PostgreSQL from the pgserver wheel in a
local data folder, so `make run` needs nothing installed."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
import structlog

log = structlog.get_logger("embedded")
EMBEDDED_DB = "worksync"
_server = None  # kept alive for the life of this process: pgserver stops it at exit


def start_embedded_postgres(data_dir: str) -> str:
    """Start (or attach to) the embedded server; return a DATABASE_URL for its database."""
    global _server
    import pgserver  # imported here: only the embedded mode needs it

    pgdata = Path(data_dir).resolve() / "pgdata"
    pgdata.mkdir(parents=True, exist_ok=True)
    _server = pgserver.get_server(pgdata)
    admin_url = _server.get_uri()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (EMBEDDED_DB,)
        ).fetchone()
        if not exists:
            conn.execute(f"CREATE DATABASE {EMBEDDED_DB}")
    url = _server.get_uri(EMBEDDED_DB)
    log.info("embedded postgres running", data_dir=str(pgdata))
    return url


def resolve_database_url(database_url: str | None, data_dir: str) -> str:
    """DATABASE_URL if set; otherwise the embedded server's URL (exported for child processes)."""
    if database_url:
        return database_url
    url = start_embedded_postgres(data_dir)
    os.environ["DATABASE_URL"] = url
    return url
