"""Files read queries: a file with the caller's role in its workspace, an attachment, the
attachments of an object, and which file an attachment belongs to (for the write side)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import AsyncConnection, Connection
from psycopg.rows import dict_row

from domain.files import ATTACHABLE_TYPES

FILE_COLUMNS = (
    "f.id, f.workspace_id, f.name, f.original_name, f.file_path, f.file_size, f.mime_type,"
    " f.checksum, f.uploaded_by, f.is_public, f.version, f.created_at"
)
ATTACHMENT_COLUMNS = (
    "a.id, a.file_id, a.workspace_id, a.project_id, a.attachable_type, a.attachable_id,"
    " a.attached_by, a.attached_at, f.name, f.mime_type, f.file_size"
)


def attachments_column(attachable_type: str, id_column: str) -> str:
    """A select-list item ``attachments``: the attachments of the row's object (of a type,
    its id in ``id_column``), oldest first, as the card row's ``attachments`` shows them."""
    assert attachable_type in ATTACHABLE_TYPES
    assert id_column.replace(".", "").replace("_", "").isalnum()
    return (
        "coalesce((SELECT jsonb_agg(jsonb_build_object('id', a.id, 'file_id', a.file_id,"
        " 'name', fa.name, 'mime_type', fa.mime_type, 'file_size', fa.file_size,"
        " 'attached_by', a.attached_by, 'attached_at', a.attached_at)"
        " ORDER BY a.attached_at, a.id) FROM attachments a JOIN files fa ON fa.id = a.file_id"
        f" WHERE a.attachable_type = '{attachable_type}' AND a.attachable_id = {id_column}),"
        " '[]'::jsonb) AS attachments"
    )


async def get_file(
    conn: AsyncConnection, file_id: UUID, user_id: UUID | None
) -> dict[str, Any] | None:
    """A file and the caller's role in its workspace (None: not a member, or anonymous)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {FILE_COLUMNS}, m.role FROM files f LEFT JOIN workspace_members m"
            " ON m.workspace_id = f.workspace_id AND m.user_id = %s WHERE f.id = %s",
            (user_id, file_id),
            prepare=True,
        )
        return await cur.fetchone()


async def get_attachment(conn: AsyncConnection, attachment_id: UUID) -> dict[str, Any] | None:
    """One attachment, with its file's name, type and size (for a caller who made it)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {ATTACHMENT_COLUMNS} FROM attachments a JOIN files f ON f.id = a.file_id"
            " WHERE a.id = %s",
            (attachment_id,),
        )
        return await cur.fetchone()


async def attachments_of(
    conn: AsyncConnection, attachable_type: str, attachable_id: UUID
) -> list[dict[str, Any]]:
    """An object's attachments, oldest first (the object is already authorized)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {ATTACHMENT_COLUMNS} FROM attachments a JOIN files f ON f.id = a.file_id"
            " WHERE a.attachable_type = %s AND a.attachable_id = %s"
            " ORDER BY a.attached_at, a.id",
            (attachable_type, attachable_id),
        )
        return await cur.fetchall()


def milestone_of_deliverable(conn: Connection, deliverable_id: UUID) -> UUID | None:
    """The milestone a deliverable belongs to (the milestones read model), for attaching."""
    row = conn.execute(
        "SELECT milestone_id FROM deliverables WHERE id = %s", (deliverable_id,)
    ).fetchone()
    if row is None:
        return None
    return row["milestone_id"] if isinstance(row, dict) else row[0]


def file_of_attachment(conn: Connection, attachment_id: UUID) -> UUID | None:
    row = conn.execute("SELECT file_id FROM attachments WHERE id = %s", (attachment_id,)).fetchone()
    if row is None:
        return None
    return row["file_id"] if isinstance(row, dict) else row[0]
