"""HTTP models of workspace exports (application/exports.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel

from interfaces.http.pagination import Page, encode_cursor
from interfaces.http.schemas import Strict

ExportFormat = Literal["json", "csv"]


class ExportCreate(Strict):
    """``json``: one document (format ``worksync-workspace-export``, ``format_version``);
    ``csv``: a zip of one CSV file per collection."""

    format: ExportFormat = "json"


class WorkspaceExportOut(BaseModel):
    id: UUID
    workspace_id: UUID
    requested_by: UUID
    format: ExportFormat
    status: Literal["pending", "running", "ready", "failed"]
    size: int | None = None
    checksum: str | None = None  # SHA-256 of the file
    counts: dict[str, int] = {}
    error: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    expires_at: datetime | None = None
    download_url: str | None = None  # once ready


def to_out(row: dict[str, Any]) -> WorkspaceExportOut:
    out = WorkspaceExportOut(
        **{k: v for k, v in row.items() if k in WorkspaceExportOut.model_fields}
    )
    if row["status"] == "ready":
        out.download_url = f"/api/v1/workspaces/{row['workspace_id']}/exports/{row['id']}/download"
    return out


def exports_page(rows: list[dict[str, Any]], limit: int) -> Page[WorkspaceExportOut]:
    more = len(rows) > limit
    rows = rows[:limit]
    cursor = encode_cursor(rows[-1]["created_at"], rows[-1]["id"]) if more else None
    return Page[WorkspaceExportOut](data=[to_out(r) for r in rows], next_cursor=cursor)
