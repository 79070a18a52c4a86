"""HTTP models of the files context: a file's metadata, an attachment, the upload form."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, Field

from domain.files import ATTACHABLE_TYPES
from interfaces.http.schemas import Strict

AttachableType = Literal["card", "task", "comment", "project", "deliverable"]
assert set(AttachableType.__args__) == set(ATTACHABLE_TYPES)  # type: ignore[attr-defined]


class FileOut(BaseModel):
    id: UUID
    workspace_id: UUID
    name: str = Field(description="the name shown and used for downloads")
    original_name: str = Field(description="the name as uploaded (display only)")
    file_size: int
    mime_type: str = Field(description="decided from the bytes, never from the declaration")
    checksum: str = Field(description="SHA-256 of the bytes, hex; also the download's ETag")
    uploaded_by: UUID | None
    is_public: bool
    version: int
    created_at: datetime
    download_url: str = Field(description="where the bytes are: this file with ?download=true")


class AttachmentSummary(BaseModel):
    """An attachment as its target's read shows it."""

    id: UUID
    file_id: UUID
    name: str
    mime_type: str
    file_size: int
    attached_by: UUID | None
    attached_at: datetime


class AttachmentCreate(Strict):
    file_id: UUID
    attachable_type: AttachableType
    attachable_id: UUID


class AttachmentOut(BaseModel):
    id: UUID
    file_id: UUID
    workspace_id: UUID
    project_id: UUID | None
    attachable_type: str
    attachable_id: UUID
    attached_by: UUID | None
    attached_at: datetime
    name: str = Field(description="the file's name")
    mime_type: str
    file_size: int


UPLOAD_FORM: dict[str, Any] = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "the file (one part named `file`, with its filename"
                        " and content type)",
                    }
                },
                "additionalProperties": False,
            },
            "encoding": {"file": {"contentType": "application/octet-stream"}},
        }
    },
}


def file_out(row: dict[str, Any]) -> FileOut:
    return FileOut(
        **{k: v for k, v in row.items() if k in FileOut.model_fields},
        download_url=f"/api/v1/files/{row['id']}?download=true",
    )
