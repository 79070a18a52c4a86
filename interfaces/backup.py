"""``worksync backup PATH``: the event log and the tables no projection can rebuild, from one
consistent snapshot, streamed and compressed, with a manifest and checksums.

The event log (``worksync_events``) is the system of record; every read table is a
projection of it and is rebuilt on restore (``interfaces/backup_restore.py``). What the log
cannot give back is kept beside it: the security tables (per-user data keys for the
crypto-shredded personal fields, refresh sessions, reset tokens, security events), the
policies' own state (``resource_*`` of the workload policy), idempotency keys and parked
events. The list is computed: every table of the schema except the projections' tables and
the bookkeeping below, so a table added later is backed up unless it is declared rebuildable.

A backup is a directory: ``<table>.copy.gz`` per table (PostgreSQL's text COPY format,
gzip), ``manifest.json`` (format, version, created_at, the log head, each table's columns,
rows, bytes and SHA-256) and ``manifest.sha256`` (the manifest's own SHA-256). Every table is
read in one REPEATABLE READ, READ ONLY transaction: one snapshot, taken while writers go on.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC
from importlib import metadata
from pathlib import Path
from typing import IO, Any

import psycopg
from psycopg import sql

FORMAT = "worksync-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
MANIFEST_SUM = "manifest.sha256"
EVENTS = "worksync_events"
# Kept out of a backup: the migration runner's record and the projections' positions (a
# restore migrates and rebuilds), aggregate snapshots (a cache of the log), and the outbox
# (side effects already decided: a restore must not send them again; see README "Backup").
NOT_BACKED_UP = frozenset(
    {"schema_migrations", "projection_tracking", "worksync_snapshots", "outbox"}
)
CHUNK = 1 << 20


def projection_tables() -> frozenset[str]:
    from projections.registry import all_projections

    return frozenset(t for p in all_projections() for t in p.tables)


def backed_up_tables(conn: psycopg.Connection) -> list[str]:
    """The log first, then every other table no projection rebuilds (partitions are read
    through their parent, and partitioned tables are projections')."""
    rows = conn.execute(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition"
        " ORDER BY c.relname"
    ).fetchall()
    skip = projection_tables() | NOT_BACKED_UP | {EVENTS}
    return [EVENTS] + [name for (name,) in rows if name not in skip]


def columns_of(conn: psycopg.Connection, table: str) -> list[str]:
    rows = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0"
        " AND NOT attisdropped ORDER BY attnum",
        (f"public.{table}",),
    ).fetchall()
    return [r[0] for r in rows]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class _HashingWriter:
    """A binary file that hashes and counts what is written to it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()


@dataclass(frozen=True)
class BackupReport:
    path: Path
    head: int
    tables: dict[str, int]  # rows
    bytes: int


def _version() -> str:
    try:
        return metadata.version("worksync")
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a checkout
        return "unknown"


def _copy_table(cur: psycopg.Cursor, table: str, columns: list[str], target: Path) -> dict:
    """Stream one table's COPY into a gzip file; its rows, size and SHA-256."""
    names = sql.SQL(", ").join(map(sql.Identifier, columns))
    if table == EVENTS:  # the log in its order
        statement = sql.SQL("COPY (SELECT {} FROM {} ORDER BY notification_id) TO STDOUT")
    else:
        statement = sql.SQL("COPY {1} ({0}) TO STDOUT")
    statement = statement.format(names, sql.Identifier(table))
    rows = 0
    with target.open("wb") as raw:
        hashing = _HashingWriter(raw)
        with (
            gzip.GzipFile(fileobj=hashing, mode="wb", compresslevel=5, mtime=0) as out,
            cur.copy(statement) as copy,
        ):
            for data in copy:
                out.write(data)
                rows += bytes(data).count(b"\n")
        raw.flush()
        os.fsync(raw.fileno())
    return {
        "columns": columns,
        "rows": rows,
        "bytes": hashing.size,
        "sha256": hashing.digest.hexdigest(),
    }


def backup(database_url: str, path: str | os.PathLike[str]) -> BackupReport:
    """Write a backup of ``database_url`` into the directory ``path`` (new or empty)."""
    target = Path(path)
    if target.exists() and (not target.is_dir() or any(target.iterdir())):
        raise FileExistsError(f"{target} exists and is not an empty directory")
    target.mkdir(parents=True, exist_ok=True)
    tables: dict[str, Any] = {}
    with psycopg.connect(database_url) as conn:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        with conn.cursor() as cur:
            head, created_at = cur.execute(
                f"SELECT coalesce(max(notification_id), 0), now() FROM {EVENTS}"
            ).fetchone()
            for table in backed_up_tables(conn):
                columns = columns_of(conn, table)
                tables[table] = _copy_table(cur, table, columns, target / f"{table}.copy.gz")
            tracking = dict(cur.execute("SELECT name, position FROM projection_tracking"))
            migrations = [
                r[0] for r in cur.execute("SELECT version FROM schema_migrations ORDER BY 1")
            ]
        conn.rollback()
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "worksync_version": _version(),
        "created_at": created_at.astimezone(UTC).isoformat(),
        "log_head": int(head),
        "migrations": migrations,
        "positions": tracking,  # for the record: projections are rebuilt, policies set to head
        "tables": tables,
    }
    body = json.dumps(manifest, indent=2, sort_keys=True).encode()
    (target / MANIFEST).write_bytes(body)
    (target / MANIFEST_SUM).write_text(f"{hashlib.sha256(body).hexdigest()}  {MANIFEST}\n")
    return BackupReport(
        target,
        int(head),
        {t: v["rows"] for t, v in tables.items()},
        sum(v["bytes"] for v in tables.values()) + len(body),
    )
