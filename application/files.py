"""Files use cases: uploads into a workspace (bytes to storage, the file's metadata to the
log), deletion, and attachments of a file to a card, task, comment or project.

Storage is a port (``Storage``) with two adapters in application/adapters/files_storage.py (a local
folder, S3-compatible). The log never holds bytes: ``File.Uploaded`` is recorded once the
object is committed in storage, and the stored object is removed after ``File.Deleted`` by
the ``files_storage`` policy (an outbox row the dispatcher delivers until storage confirms).
Workspace deletion removes the workspace's objects the same way; a user's erasure deletes
the files they uploaded.

Attaching is decided by one rule (``AttachTargets``): the caller must be allowed to edit the
target, and the file must be in the target's workspace.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from application.access import live_project, require
from application.adapters.store import EventStore, Saved
from application.authorization import Action, allowed
from application.errors import Forbidden, NotFound
from application.files_content import Received, Receiver, ScanSession, StoredUpload
from application.milestones import live_milestone
from application.tasks import invalid, live_task
from domain.comments import Comment
from domain.files import BadName, File, check_name, storage_key, workspace_prefix
from domain.identity import User
from domain.kanban import Card
from domain.projects import Project
from domain.shared import Gone
from domain.workspaces import Workspace
from projections.base import handles
from projections.policy import Loader, Policy, PolicyContext


class Storage(Protocol):
    """Where files' bytes are kept, by key (ours: ``domain.files.storage_key``)."""

    def begin(self, key: str) -> StoredUpload: ...

    def read(self, key: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes from ``start`` up to and including ``end`` (None: to the end);
        FileNotFoundError (on the first ``next``) when the object is not there."""
        ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None:
        """Remove an object; one already gone is no error."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Remove every object under a prefix; returns how many."""
        ...

    def url(self, key: str, *, filename: str, mime_type: str, expires: int) -> str | None:
        """A short-lived URL serving the object itself, or None (served by the API)."""
        ...


class Scanner(Protocol):
    def session(self) -> ScanSession: ...


@dataclass(frozen=True)
class Target:
    """What an attachment is on: where it lives, checked editable by the caller."""

    type: str
    id: UUID
    workspace_id: UUID
    project_id: UUID | None


class AttachTargets:
    """The one rule for attaching (and detaching): the target must be live and the caller
    allowed to edit it. A new kind of target is a method here and a name in
    ``domain.files.ATTACHABLE_TYPES``."""

    def __init__(
        self,
        store: EventStore,
        milestone_of: Callable[[UUID], UUID | None] = lambda deliverable_id: None,
    ) -> None:
        self.store = store
        self.milestone_of = milestone_of  # deliverable id -> its milestone's id (read model)

    def editable(self, attachable_type: str, attachable_id: UUID, actor_id: UUID) -> Target:
        resolve = getattr(self, f"_{attachable_type}", None)
        if resolve is None:
            raise NotFound(f"files cannot be attached to a {attachable_type}")
        return resolve(attachable_id, actor_id)

    def _card(self, card_id: UUID, actor_id: UUID) -> Target:
        card = self.store.load(Card, card_id, "card")
        if card.deleted:
            raise NotFound("card not found")
        require(self.store, card.workspace_id, actor_id, Action.KANBAN_WRITE, "card")
        if self.store.load(Project, card.project_id, "card").deleted:
            raise NotFound("card not found")
        return Target("card", card_id, card.workspace_id, card.project_id)

    def _task(self, task_id: UUID, actor_id: UUID) -> Target:
        task = live_task(self.store, task_id, actor_id, Action.TASK_WRITE)
        return Target("task", task_id, task.workspace_id, task.project_id)

    def _project(self, project_id: UUID, actor_id: UUID) -> Target:
        project = live_project(self.store, project_id, actor_id, Action.PROJECT_WRITE)
        return Target("project", project_id, project.workspace_id, project.id)

    def _comment(self, comment_id: UUID, actor_id: UUID) -> Target:
        """A comment is edited by its author alone (with a role that writes comments)."""
        comment = self.store.load(Comment, comment_id, "comment")
        ancestor: Comment | None = comment
        while ancestor is not None:
            if ancestor.deleted:
                raise NotFound("comment not found")
            parent = ancestor.parent_comment_id
            ancestor = self.store.load(Comment, parent, "comment") if parent else None
        require(self.store, comment.workspace_id, actor_id, Action.COMMENT_WRITE, "comment")
        if self.store.load(Project, comment.project_id, "comment").deleted:
            raise NotFound("comment not found")
        if comment.author_id != actor_id:
            raise Forbidden("only the comment's author may attach files to it")
        return Target("comment", comment_id, comment.workspace_id, comment.project_id)

    def _deliverable(self, deliverable_id: UUID, actor_id: UUID) -> Target:
        """A deliverable of a live milestone the caller may write milestones in."""
        milestone_id = self.milestone_of(deliverable_id)
        if milestone_id is None:
            raise NotFound("deliverable not found")
        milestone = live_milestone(self.store, milestone_id, actor_id, Action.MILESTONE_WRITE)
        if str(deliverable_id) not in milestone.deliverables:
            raise NotFound("deliverable not found")
        return Target("deliverable", deliverable_id, milestone.workspace_id, milestone.project_id)


@dataclass(frozen=True)
class PlannedUpload:
    file_id: UUID
    workspace_id: UUID
    key: str


class FilesService:
    def __init__(
        self,
        store: EventStore,
        storage: Storage,
        *,
        allowed: frozenset[str],
        max_bytes: int,
        scanner: Scanner | None = None,
        locate: Callable[[UUID], UUID | None] | None = None,
        milestone_of: Callable[[UUID], UUID | None] = lambda deliverable_id: None,
    ) -> None:
        self.store = store
        self.storage = storage
        self.allowed = allowed
        self.max_bytes = max_bytes
        self.scanner = scanner
        self.locate = locate or (lambda attachment_id: None)  # attachment id -> file id
        self.targets = AttachTargets(store, milestone_of)

    # Uploads ---------------------------------------------------------------------------

    def plan_upload(self, *, workspace_id: UUID, actor_id: UUID) -> PlannedUpload:
        """Before a byte is read: the caller may upload to this workspace (members who
        write; viewers 403, outsiders 404); the new file's id and storage key."""
        self._workspace_role(workspace_id, actor_id, Action.FILE_WRITE)
        file_id = uuid.uuid4()
        return PlannedUpload(file_id, workspace_id, storage_key(workspace_id, file_id))

    @staticmethod
    def display_name(name: str) -> str:
        """The name checked (domain.files.check_name), a bad one as a 422 on the file."""
        try:
            return check_name(name)
        except BadName as e:
            raise invalid("file", e.detail) from None

    def receiver(self, plan: PlannedUpload, *, declared: str | None) -> Receiver:
        return Receiver(
            lambda: self.storage.begin(plan.key),
            declared=declared,
            allowed=self.allowed,
            limit=self.max_bytes,
            scan=self.scanner.session() if self.scanner else None,
        )

    def record_upload(
        self,
        *,
        plan: PlannedUpload,
        actor_id: UUID,
        name: str,
        received: Received,
        is_public: bool,
    ) -> Saved:
        """The stored object becomes a file of the workspace (``File.Uploaded``). If this
        fails, the caller removes the object (nothing refers to it)."""

        def command() -> tuple[UUID, list[File]]:
            self._workspace_role(plan.workspace_id, actor_id, Action.FILE_WRITE)
            file = File(
                file_id=plan.file_id,
                workspace_id=plan.workspace_id,
                name=self.display_name(name),
                original_name=name,
                storage_key=plan.key,
                file_size=received.file_size,
                mime_type=received.mime_type,
                checksum=received.checksum,
                is_public=is_public,
                actor_id=actor_id,
            )
            return plan.file_id, [file]

        return self.store.run(command)

    def _workspace_role(self, workspace_id: UUID, actor_id: UUID, action: Action) -> str:
        try:
            workspace = self.store.load(Workspace, workspace_id, "workspace", copy=False)
        except NotFound:
            raise NotFound("workspace not found") from None
        if workspace.deleted:
            raise NotFound("workspace not found")
        return require(self.store, workspace_id, actor_id, action, "workspace")

    # Deletion --------------------------------------------------------------------------

    def _live_file(self, file_id: UUID, actor_id: UUID) -> tuple[File, str]:
        file = self.store.load(File, file_id, "file")
        if file.deleted:
            raise NotFound("file not found")
        role = require(self.store, file.workspace_id, actor_id, Action.FILE_READ, "file")
        return file, role

    def delete(self, *, file_id: UUID, actor_id: UUID) -> Saved:
        """The uploader (with a role that writes files) or a workspace owner or admin."""

        def command() -> tuple[None, list[File]]:
            file, role = self._live_file(file_id, actor_id)
            moderator = allowed(role, Action.FILE_MANAGE)
            if not moderator and not allowed(role, Action.FILE_WRITE):
                raise Forbidden(f"your role '{role}' may not delete files")
            file.delete(actor_id, moderator=moderator)
            return None, [file]

        return self.store.run(command)

    # Attachments -------------------------------------------------------------------------

    def attach(
        self, *, file_id: UUID, attachable_type: str, attachable_id: UUID, actor_id: UUID
    ) -> Saved:
        def command() -> tuple[UUID, list[File]]:
            file, _ = self._live_file(file_id, actor_id)
            target = self.targets.editable(attachable_type, attachable_id, actor_id)
            if target.workspace_id != file.workspace_id:
                raise invalid(
                    "file_id",
                    "the file is not in the workspace of the object it would be attached to",
                )
            attachment_id = uuid.uuid4()
            file.attach(actor_id, attachment_id, target.type, target.id, target.project_id)
            return attachment_id, [file]

        return self.store.run(command)

    def detach(self, *, attachment_id: UUID, actor_id: UUID) -> Saved:
        """Whoever may edit the object the attachment is on."""
        file_id = self.locate(attachment_id)
        if file_id is None:
            raise NotFound("attachment not found")

        def command() -> tuple[None, list[File]]:
            file, _ = self._live_file(file_id, actor_id)
            kind, target_id = file.target_of(attachment_id)  # Missing: a 404
            self.targets.editable(kind, target_id, actor_id)
            file.detach(actor_id, attachment_id)
            return None, [file]

        return self.store.run(command)


class FileStoragePolicy(Policy):
    """Removes stored bytes once the log says they are gone: after ``File.Deleted`` and
    ``Workspace.Deleted`` an outbox row (kind ``files``) that the dispatcher delivers until
    storage confirms; a user's erasure deletes the files they uploaded (new ``File.Deleted``
    events, whose objects then go the same way)."""

    name = "files_storage"

    def __init__(self, loader: Loader) -> None:
        super().__init__(loader)

    @handles(File.Deleted)
    def file_deleted(self, ctx: PolicyContext, e: Any) -> None:
        ctx.outbox("files", {"delete": e.storage_key})

    @handles(Workspace.Deleted)
    def workspace_deleted(self, ctx: PolicyContext, e: Any) -> None:
        ctx.outbox("files", {"delete_prefix": workspace_prefix(e.originator_id)})

    @handles(User.Deleted)
    def user_erased(self, ctx: PolicyContext, e: Any) -> None:
        # The files read model names them (this policy follows the projection closely; a
        # file uploaded in the instant before the erasure could be missed).
        ctx.cur.execute("SELECT id FROM files WHERE uploaded_by = %s", (e.originator_id,))
        for (file_id,) in ctx.cur.fetchall():
            try:
                file = ctx.load(File, file_id)
                file.delete(e.originator_id, moderator=True)
            except (NotFound, Gone):
                continue
            ctx.save(file)
