"""HTTP models of imports (application/imports.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from fastapi import UploadFile
from pydantic import BaseModel, Field

from interfaces.http.schemas import Strict


class TrelloImportForm(Strict):
    """The multipart form of a Trello import."""

    file: UploadFile = Field(description="the board's JSON export from Trello")
    include_archived_lists: bool = Field(
        default=False, description="keep archived lists (as columns) instead of skipping them"
    )


class WorkSyncImportForm(Strict):
    """The multipart form of a WorkSync import."""

    file: UploadFile = Field(description="a WorkSync workspace export (JSON)")


class UnmatchedMember(BaseModel):
    trello_id: str
    name: str
    username: str
    reason: str


class ImportReport(BaseModel):
    already_imported: bool = Field(
        default=False, description="the export was imported here before: nothing was made"
    )
    unmatched_members: list[UnmatchedMember] = Field(
        default_factory=list,
        description="Trello members no workspace member matches by e-mail: left unassigned",
    )
    skipped_lists: list[str] = Field(
        default_factory=list, description="archived lists left out (with their cards)"
    )
    skipped_cards: int = 0
    cards_with_more_members: int = Field(
        default=0, description="cards whose first matched member only was assigned"
    )


class WorkspaceImportOut(BaseModel):
    id: UUID
    workspace_id: UUID
    requested_by: UUID
    source: Literal["trello", "worksync"]
    status: Literal["pending", "running", "done", "failed"]
    filename: str | None = None
    project_id: UUID | None = None
    board_id: UUID | None = None
    counts: dict[str, int] = Field(
        default_factory=dict,
        description="what was made: columns, cards, archived_cards, tasks (checklists),"
        " subtasks (items), done_subtasks, comments",
    )
    report: ImportReport = Field(default_factory=ImportReport)
    error: str | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None


def to_out(row: dict[str, Any]) -> WorkspaceImportOut:
    return WorkspaceImportOut(
        **{k: v for k, v in row.items() if k in WorkspaceImportOut.model_fields and v is not None}
    )
