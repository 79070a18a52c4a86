"""The ``workspace_exports`` table (migrations/0017) and the reads a workspace export makes
(every row of the workspace in each collection's read table, from one snapshot)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from application.exports_format import COLLECTIONS

# Columns a collection shows that its table does not store: a card's dense position in its
# column is computed where it is read (migrations/0020).
COMPUTED: dict[str, str] = {
    "cards": "(row_number() OVER (PARTITION BY column_id ORDER BY rank, id) - 1)::int AS position",
}


class ExportRecords:
    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo

    def role_of(self, workspace_id: UUID, user_id: UUID) -> str | None:
        with psycopg.connect(self.conninfo) as conn:
            row = conn.execute(
                "SELECT role::text FROM workspace_members WHERE workspace_id = %s AND user_id = %s",
                (workspace_id, user_id),
            ).fetchone()
        return row[0] if row else None

    def create(self, export_id: UUID, workspace_id: UUID, requested_by: UUID, fmt: str) -> None:
        with psycopg.connect(self.conninfo) as conn:
            conn.execute(
                "INSERT INTO workspace_exports (id, workspace_id, requested_by, format)"
                " VALUES (%s, %s, %s, %s)",
                (export_id, workspace_id, requested_by, fmt),
            )

    def get(self, export_id: UUID) -> dict[str, Any] | None:
        with psycopg.connect(self.conninfo, row_factory=dict_row) as conn:
            return conn.execute(
                "SELECT * FROM workspace_exports WHERE id = %s", (export_id,)
            ).fetchone()

    def start(self, export_id: UUID) -> bool:
        """Claim a pending export (false: another run has it, or it is done)."""
        with psycopg.connect(self.conninfo) as conn:
            row = conn.execute(
                "UPDATE workspace_exports SET status = 'running', started_at = now()"
                " WHERE id = %s AND status = 'pending' RETURNING id",
                (export_id,),
            ).fetchone()
        return row is not None

    def finish(
        self,
        export_id: UUID,
        *,
        key: str,
        size: int,
        checksum: str,
        counts: dict[str, int],
        expires_at: datetime,
    ) -> None:
        with psycopg.connect(self.conninfo) as conn:
            conn.execute(
                "UPDATE workspace_exports SET status = 'ready', storage_key = %s, size = %s,"
                " checksum = %s, counts = %s, finished_at = now(), expires_at = %s WHERE id = %s",
                (key, size, checksum, Jsonb(counts), expires_at, export_id),
            )

    def fail(self, export_id: UUID, error: str) -> None:
        with psycopg.connect(self.conninfo) as conn:
            conn.execute(
                "UPDATE workspace_exports SET status = 'failed', error = %s, finished_at = now()"
                " WHERE id = %s",
                (error[:1000], export_id),
            )

    def expired(self, now: datetime) -> list[tuple[UUID, str | None]]:
        with psycopg.connect(self.conninfo) as conn:
            return conn.execute(
                "SELECT id, storage_key FROM workspace_exports WHERE expires_at < %s", (now,)
            ).fetchall()

    def forget(self, export_id: UUID) -> None:
        with psycopg.connect(self.conninfo) as conn:
            conn.execute("DELETE FROM workspace_exports WHERE id = %s", (export_id,))

    def collect(
        self, workspace_id: UUID
    ) -> tuple[dict[str, Any] | None, dict[str, list[dict[str, Any]]], dict[str, list[str]]]:
        """The workspace row, each collection's rows and each collection's columns, read in
        one REPEATABLE READ snapshot."""
        rows: dict[str, list[dict[str, Any]]] = {}
        columns: dict[str, list[str]] = {}
        with psycopg.connect(self.conninfo, row_factory=dict_row) as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            workspace = conn.execute(
                "SELECT * FROM workspaces WHERE id = %s", (workspace_id,)
            ).fetchone()
            for name, table in COLLECTIONS.items():
                with conn.cursor() as cur:
                    computed = sql.SQL(", " + COMPUTED[name] if name in COMPUTED else "")
                    cur.execute(
                        sql.SQL("SELECT *{} FROM {} WHERE workspace_id = %s ORDER BY id").format(
                            computed, sql.Identifier(table)
                        ),
                        (workspace_id,),
                    )
                    columns[name] = [c.name for c in cur.description or ()]
                    rows[name] = cur.fetchall()
            conn.rollback()
        return workspace, rows, columns
