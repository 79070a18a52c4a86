"""One serialization for what the service exports: a workspace export (application/exports.py)
and a user's personal-data export (``GET /auth/me/export``) render values the same way
(``plain``: ids as strings, times ISO 8601, decimals as numbers, JSON as it is).

The workspace export's JSON document (``FORMAT``, ``FORMAT_VERSION``)::

    {"format": "worksync-workspace-export", "format_version": 1, "exported_at": "...",
     "workspace": {...the workspaces row...},
     "collections": {"members": [...], "projects": [...], "project_members": [...],
                     "boards": [...], "columns": [...], "cards": [...], "tasks": [...],
                     "comments": [...], "comment_reactions": [...], "time_entries": [...],
                     "milestones": [...], "milestone_assignees": [...],
                     "deliverables": [...], "team_members": [...], "allocations": [...],
                     "files": [...], "attachments": [...]}}

Each collection holds every column of its read table (``COLLECTIONS``), rows ordered by id,
so an import can recreate the workspace. The CSV export is a zip of one ``<collection>.csv``
per collection (header row, JSON columns as JSON text) plus ``workspace.json``.
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from uuid import UUID

FORMAT = "worksync-workspace-export"
FORMAT_VERSION = 1
# collection -> the read table it comes from
COLLECTIONS: dict[str, str] = {
    "members": "workspace_members",
    "projects": "projects",
    "project_members": "project_members",
    "boards": "kanban_boards",
    "columns": "kanban_columns",
    "cards": "kanban_cards",
    "tasks": "tasks",
    "comments": "comments",
    "comment_reactions": "comment_reactions",
    "time_entries": "time_entries",
    "milestones": "milestones",
    "milestone_assignees": "milestone_assignees",
    "deliverables": "deliverables",
    "team_members": "team_members",
    "allocations": "resource_allocations",
    "files": "files",
    "attachments": "attachments",
}


def plain(value: Any) -> Any:
    """A JSON-ready copy: UUIDs as strings, dates and times ISO 8601, decimals as numbers."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value.as_tuple().exponent >= 0 else float(value)  # as FastAPI
    if isinstance(value, bytes | memoryview):
        return bytes(value).hex()
    return value


def document(
    workspace: dict[str, Any], collections: dict[str, list[dict[str, Any]]], exported_at: datetime
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "exported_at": plain(exported_at),
        "workspace": plain(workspace),
        "collections": {name: plain(collections[name]) for name in COLLECTIONS},
    }


def to_json(doc: dict[str, Any]) -> bytes:
    return json.dumps(doc, ensure_ascii=False, sort_keys=True).encode()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def to_csv_zip(doc: dict[str, Any], columns: dict[str, list[str]]) -> bytes:
    """A zip of one CSV per collection (its table's columns, in order) and workspace.json."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        head = {k: v for k, v in doc.items() if k != "collections"}
        archive.writestr("workspace.json", json.dumps(head, ensure_ascii=False, sort_keys=True))
        for name, rows in doc["collections"].items():
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow(columns[name])
            for row in rows:
                writer.writerow([_cell(row[c]) for c in columns[name]])
            archive.writestr(f"{name}.csv", text.getvalue())
    return out.getvalue()
