"""The ``workspace_imports`` table (migrations/0019): one row per import requested over HTTP,
written by the request (pending, with the validated document) and the import job."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

SHOWN = (
    "id, workspace_id, requested_by, source, status, filename, project_id, board_id, counts,"
    " report, error, created_at, started_at, finished_at"
)


class ImportRecords:
    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo

    def create(
        self,
        import_id: UUID,
        workspace_id: UUID,
        requested_by: UUID,
        source: str,
        filename: str | None,
        payload: dict[str, Any],
    ) -> None:
        with psycopg.connect(self.conninfo) as conn:
            conn.execute(
                "INSERT INTO workspace_imports (id, workspace_id, requested_by, source, filename,"
                " payload) VALUES (%s, %s, %s, %s, %s, %s)",
                (import_id, workspace_id, requested_by, source, filename, Jsonb(payload)),
            )

    def get(self, import_id: UUID) -> dict[str, Any] | None:
        with psycopg.connect(self.conninfo, row_factory=dict_row) as conn:
            return conn.execute(
                f"SELECT {SHOWN} FROM workspace_imports WHERE id = %s",
                (import_id,),
            ).fetchone()

    def start(self, import_id: UUID) -> dict[str, Any] | None:
        """Claim a pending import: its row with the payload (None: another run has it, or it
        is done)."""
        with psycopg.connect(self.conninfo, row_factory=dict_row) as conn:
            return conn.execute(
                "UPDATE workspace_imports SET status = 'running', started_at = now()"
                " WHERE id = %s AND status = 'pending'"
                " RETURNING id, workspace_id, requested_by, source, payload",
                (import_id,),
            ).fetchone()

    def finish(self, import_id: UUID, result: dict[str, Any]) -> None:
        with psycopg.connect(self.conninfo) as conn:
            conn.execute(
                "UPDATE workspace_imports SET status = 'done', payload = NULL, project_id = %s,"
                " board_id = %s, counts = %s, report = %s, finished_at = now() WHERE id = %s",
                (
                    result["project_id"],
                    result["board_id"],
                    Jsonb(result["counts"]),
                    Jsonb(result["report"]),
                    import_id,
                ),
            )

    def fail(self, import_id: UUID, error: str) -> None:
        with psycopg.connect(self.conninfo) as conn:
            conn.execute(
                "UPDATE workspace_imports SET status = 'failed', payload = NULL, error = %s,"
                " finished_at = now() WHERE id = %s",
                (error[:1000], import_id),
            )
