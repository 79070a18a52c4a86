"""``worksync restore PATH``: a backup (interfaces/backup.py) into an empty database.

1. Check the manifest's SHA-256 and every file's before touching the database.
2. Refuse a database that holds anything: an event, or a row in a table the backup restores.
3. Migrate (the event store and the numbered SQL migrations), then load the log and the
   other tables in one transaction (COPY FROM, streamed from the gzip files), move each
   serial column's sequence past its largest value, and start every policy at the restored
   log head: their effects (e-mails, notifications, stored files removed) happened before
   the backup, so a restore never sends anything again.
4. Rebuild every projection from the restored log (``projections/rebuild``), then give the
   months of the restored history their partitions.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from eventsourcing.persistence import Mapper
from psycopg import sql

from application.adapters.retention import ensure_partitions
from interfaces.backup import (
    CHUNK,
    EVENTS,
    FORMAT,
    FORMAT_VERSION,
    MANIFEST,
    MANIFEST_SUM,
    sha256_file,
)
from projections.rebuild import RebuildReport
from projections.rebuild_parallel import rebuild_parallel
from projections.registry import all_projections

MapperFactory = Callable[[str], Mapper]


class BackupInvalid(Exception):
    """The backup is incomplete, altered or of another format."""


class DatabaseNotEmpty(Exception):
    """Restore only goes into an empty database."""


@dataclass(frozen=True)
class RestoreReport:
    head: int
    tables: dict[str, int]
    policies: dict[str, int]  # each policy's position at the backup (now: the head)
    rebuilt: list[RebuildReport]


def read_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The manifest, once it and every file it lists match their SHA-256."""
    folder = Path(path)
    try:
        body = (folder / MANIFEST).read_bytes()
        expected = (folder / MANIFEST_SUM).read_text().split()[0]
    except (OSError, IndexError) as e:
        raise BackupInvalid(f"{folder} is not a backup: {e}") from None
    if hashlib.sha256(body).hexdigest() != expected:
        raise BackupInvalid("manifest.json does not match manifest.sha256")
    manifest = json.loads(body)
    if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
        raise BackupInvalid(f"not a {FORMAT} v{FORMAT_VERSION} backup")
    for table, entry in manifest["tables"].items():
        file = folder / f"{table}.copy.gz"
        if not file.is_file():
            raise BackupInvalid(f"{file.name} is missing")
        if sha256_file(file) != entry["sha256"]:
            raise BackupInvalid(f"{file.name} does not match its SHA-256 in the manifest")
    return manifest


def _has_rows(conn: psycopg.Connection, table: str) -> bool:
    if conn.execute("SELECT to_regclass(%s)", (f"public.{table}",)).fetchone()[0] is None:
        return False
    query = sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table))
    return bool(conn.execute(query).fetchone()[0])


def check_empty(database_url: str, tables: list[str]) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        busy = [t for t in tables if _has_rows(conn, t)]
    if busy:
        raise DatabaseNotEmpty(f"the database is not empty ({', '.join(busy)} hold rows)")


def _load(cur: psycopg.Cursor, folder: Path, table: str, entry: dict[str, Any]) -> int:
    columns = sql.SQL(", ").join(map(sql.Identifier, entry["columns"]))
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(sql.Identifier(table), columns)
    with gzip.open(folder / f"{table}.copy.gz", "rb") as data, cur.copy(statement) as copy:
        while chunk := data.read(CHUNK):
            copy.write(chunk)
    return cur.rowcount


def _advance_sequences(cur: psycopg.Cursor, table: str, columns: list[str]) -> None:
    for column in columns:
        sequence = cur.execute(
            "SELECT pg_get_serial_sequence(%s, %s)", (f"public.{table}", column)
        ).fetchone()[0]
        if sequence:
            query = sql.SQL("SELECT setval(%s, coalesce(max({}), 0) + 1, false) FROM {}").format(
                sql.Identifier(column), sql.Identifier(table)
            )
            cur.execute(query, (sequence,))


def restore(
    database_url: str,
    path: str | os.PathLike[str],
    *,
    migrate: Callable[[str], Any],
    mapper_factory: MapperFactory,
    policy_names: tuple[str, ...],
    jobs: int = 1,
    now: datetime | None = None,
) -> RestoreReport:
    folder = Path(path)
    manifest = read_manifest(folder)
    tables: dict[str, dict[str, Any]] = manifest["tables"]
    check_empty(database_url, list(tables))
    migrate(database_url)
    check_empty(database_url, list(tables))  # nothing arrived meanwhile
    head = int(manifest["log_head"])
    loaded: dict[str, int] = {}
    with psycopg.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(sql.Identifier(EVENTS)))
        for table, entry in tables.items():
            loaded[table] = _load(cur, folder, table, entry)
            if loaded[table] != entry["rows"]:
                raise BackupInvalid(
                    f"{table}: {loaded[table]} rows, the manifest says {entry['rows']}"
                )
            _advance_sequences(cur, table, entry["columns"])
        for name in policy_names:
            cur.execute(
                "INSERT INTO projection_tracking (name, position) VALUES (%s, %s)"
                " ON CONFLICT (name) DO UPDATE SET position = excluded.position,"
                " state = 'running', error = NULL, error_position = NULL, updated_at = now()",
                (name, head),
            )
        conn.commit()
    rebuilt = rebuild_parallel(
        database_url,
        all_projections(),
        mapper_factory(database_url),
        mapper_factory,
        jobs=jobs,
    )
    ensure_partitions(database_url, now or datetime.now(UTC), ahead=1)
    positions = manifest.get("positions", {})
    return RestoreReport(
        head, loaded, {name: int(positions.get(name, head)) for name in policy_names}, rebuilt
    )
