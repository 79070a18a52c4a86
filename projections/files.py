"""Files read model: ``files`` and ``attachments`` (with the attachment's project, so that a
project's deletion takes the attachments of its cards, tasks and comments).

A file's deletion removes its attachments (the spec's ON DELETE CASCADE); the deletion of
what an attachment is on (a card, a board's cards, a task, a comment, a project) removes the
attachment; a workspace's deletion removes its files and attachments (their bytes are removed
from storage by the ``files_storage`` policy).

``CardAttachments`` is the kanban projection's part: the card row's ``attachments`` (the
spec's JSONB column, a summary of each attachment) follows the attachments to the card, so
the board document, which the kanban projection alone writes, shows them.

``deliverable_files`` is the spec's view of the files attached to a milestone's deliverables
(one row per attachment, with the file's name, key, size and type); it goes with the
attachment, the file, the deliverable, its milestone, the project or the workspace.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from psycopg import Cursor
from psycopg.types.json import Jsonb

from domain.comments import Comment
from domain.files import File
from domain.kanban import Board, Card
from domain.milestones import Milestone
from domain.projects import Project
from domain.tasks import Task
from domain.workspaces import Workspace
from projections.base import Projection, handles


class FilesProjection(Projection):
    name = "files"
    tables = ("files", "attachments", "deliverable_files")
    deferred_indexes = (  # files are found by id; attachments by id, file and target
        "idx_files_workspace",
        "idx_files_uploaded_by",
        "idx_attachments_workspace",
    )

    @handles(File.Uploaded)
    def uploaded(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "INSERT INTO files (id, name, original_name, file_path, file_size, mime_type,"
            " checksum, uploaded_by, workspace_id, is_public, version, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
            (
                e.originator_id,
                e.name,
                e.original_name,
                e.storage_key,
                e.file_size,
                e.mime_type,
                e.checksum,
                e.actor_id,
                e.workspace_id,
                e.is_public,
                e.originator_version,
                e.timestamp,
            ),
        )

    @handles(File.Deleted)
    def deleted(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "DELETE FROM deliverable_files WHERE id IN"
            " (SELECT id FROM attachments WHERE file_id = %s)",
            (e.originator_id,),
        )
        cur.execute("DELETE FROM attachments WHERE file_id = %s", (e.originator_id,))
        cur.execute("DELETE FROM files WHERE id = %s", (e.originator_id,))

    def _version(self, cur: Cursor, e: Any) -> None:
        cur.execute(
            "UPDATE files SET version = %s WHERE id = %s", (e.originator_version, e.originator_id)
        )

    @handles(File.Attached)
    def attached(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "INSERT INTO attachments (id, workspace_id, project_id, file_id, attachable_type,"
            " attachable_id, attached_by, attached_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (id) DO NOTHING",
            (
                e.attachment_id,
                e.workspace_id,
                e.project_id,
                e.originator_id,
                e.attachable_type,
                e.attachable_id,
                e.actor_id,
                e.timestamp,
            ),
        )
        if e.attachable_type == "deliverable":
            cur.execute(
                "INSERT INTO deliverable_files (id, deliverable_id, name, file_path, file_size,"
                " mime_type, uploaded_by, uploaded_at, workspace_id)"
                " SELECT %s, %s, original_name, file_path, file_size, mime_type, %s, %s,"
                " workspace_id FROM files WHERE id = %s ON CONFLICT (id) DO NOTHING",
                (e.attachment_id, e.attachable_id, e.actor_id, e.timestamp, e.originator_id),
            )
        self._version(cur, e)

    @handles(File.Detached)
    def detached(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute("DELETE FROM deliverable_files WHERE id = %s", (e.attachment_id,))
        cur.execute("DELETE FROM attachments WHERE id = %s", (e.attachment_id,))
        self._version(cur, e)

    # What attachments are on goes away ----------------------------------------------------

    def _drop(self, cur: Cursor, kind: str, ids: list[UUID]) -> None:
        if ids:
            if kind == "deliverable":
                cur.execute("DELETE FROM deliverable_files WHERE deliverable_id = ANY(%s)", (ids,))
            cur.execute(
                "DELETE FROM attachments WHERE attachable_type = %s AND attachable_id = ANY(%s)",
                (kind, ids),
            )

    @handles(Card.Deleted)
    def card_deleted(self, cur: Cursor, e: Any, position: int) -> None:
        self._drop(cur, "card", [e.originator_id])

    @handles(Board.Deleted)
    def board_deleted(self, cur: Cursor, e: Any, position: int) -> None:
        self._drop(cur, "card", [UUID(str(c)) for c in e.card_ids])

    @handles(Task.Deleted)
    def task_deleted(self, cur: Cursor, e: Any, position: int) -> None:
        self._drop(cur, "task", [e.originator_id])

    @handles(Comment.Deleted)
    def comment_deleted(self, cur: Cursor, e: Any, position: int) -> None:
        self._drop(cur, "comment", [e.originator_id])

    @handles(Milestone.DeliverableRemoved)
    def deliverable_removed(self, cur: Cursor, e: Any, position: int) -> None:
        self._drop(cur, "deliverable", [e.deliverable_id])

    @handles(Milestone.Deleted)
    def milestone_deleted(self, cur: Cursor, e: Any, position: int) -> None:
        self._drop(cur, "deliverable", [UUID(str(d)) for d in e.deliverable_ids or ()])

    @handles(Project.Deleted)
    def project_deleted(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "DELETE FROM deliverable_files WHERE id IN"
            " (SELECT id FROM attachments WHERE project_id = %s)",
            (e.originator_id,),
        )
        cur.execute("DELETE FROM attachments WHERE project_id = %s", (e.originator_id,))

    @handles(Workspace.Deleted)
    def workspace_deleted(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute("DELETE FROM deliverable_files WHERE workspace_id = %s", (e.originator_id,))
        cur.execute("DELETE FROM attachments WHERE workspace_id = %s", (e.originator_id,))
        cur.execute("DELETE FROM files WHERE workspace_id = %s", (e.originator_id,))


# The kanban projection's part --------------------------------------------------------------

WITHOUT = (
    "UPDATE kanban_cards SET attachments = (SELECT coalesce(jsonb_agg(a ORDER BY n), '[]')"
    " FROM jsonb_array_elements(coalesce(attachments, '[]')) WITH ORDINALITY AS x(a, n)"
    " WHERE a->>'id' <> ALL(%s)) WHERE id = %s"
)


def card_attachment(e: Any) -> dict[str, Any]:
    """What a card row says of one attachment (in ``kanban_cards.attachments``)."""
    return {
        "id": str(e.attachment_id),
        "file_id": str(e.originator_id),
        "name": e.name,
        "mime_type": e.mime_type,
        "file_size": e.file_size,
        "attached_by": str(e.actor_id),
        "attached_at": e.timestamp.isoformat(),
    }


class CardAttachments:
    """Mixin for the kanban projection: ``kanban_cards.attachments`` follows the card's
    attachments (attached, detached, their file deleted). No result is read: fit for the
    pipeline mode of a rebuild."""

    @handles(File.Attached, File.Detached, File.Deleted)
    def card_attachments(self, cur: Cursor, e: Any, position: int) -> None:
        if isinstance(e, File.Attached):
            if e.attachable_type == "card":
                cur.execute(
                    "UPDATE kanban_cards SET attachments = coalesce(attachments, '[]') || %s"
                    " WHERE id = %s AND NOT coalesce(attachments, '[]') @> %s",
                    (
                        Jsonb([card_attachment(e)]),
                        e.attachable_id,
                        Jsonb([{"id": str(e.attachment_id)}]),
                    ),
                )
        elif isinstance(e, File.Detached):
            if e.attachable_type == "card":
                cur.execute(WITHOUT, ([str(e.attachment_id)], e.attachable_id))
        else:
            for attachment in e.attachments:
                if attachment["attachable_type"] == "card":
                    cur.execute(WITHOUT, ([str(attachment["id"])], attachment["attachable_id"]))
