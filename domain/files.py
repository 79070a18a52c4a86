"""Files: a file uploaded to a workspace (its bytes are in storage, never in the log: the log
holds what the file is) and the attachments that link it to a card, a task, a comment or a
project. A file owns its attachments, so one file is never attached twice to the same object
and its deletion takes its attachments with it.

Names are checked here: the original name is kept for display only and must not be able to
name a path (separators, ``..``, control or bidirectional-format characters, device names).
The storage key is ours (``storage_key``), never derived from the name.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.shared import Gone, Missing, NotPermitted, RuleBroken

# What a file may be attached to. The one list: a new kind of target (a milestone's
# deliverable) is added here, with its rule in application/files.py ``AttachTargets`` (a
# method ``_deliverable``); interfaces/http/files_schemas.py checks its Literal against it.
ATTACHABLE_TYPES = ("card", "task", "comment", "project", "deliverable")
MAX_NAME = 255
# Windows device names are reserved with any extension (CON, con.txt, LPT1.tar.gz).
RESERVED_NAMES = frozenset(
    {"con", "prn", "aux", "nul"} | {f"com{i}" for i in range(10)} | {f"lpt{i}" for i in range(10)}
)
_SEPARATORS = re.compile(r"[/\\]")


class BadName(RuleBroken):
    """The file's name could name a path or hide what it is (HTTP 422)."""

    code = "bad-file-name"


def check_name(name: str) -> str:
    """The name to display, NFC-normalized and without surrounding spaces; BadName when it
    holds a path separator, is ``.``/``..``, holds a control or format character (e.g. the
    right-to-left override that turns ``exe.pdf`` around), or is a reserved device name."""
    name = unicodedata.normalize("NFC", name).strip()
    if not name:
        raise BadName("the file name is empty")
    if len(name) > MAX_NAME:
        raise BadName(f"the file name is longer than {MAX_NAME} characters")
    if _SEPARATORS.search(name) or name in (".", ".."):
        raise BadName("the file name must not contain a path (/, \\ or ..)")
    for char in name:
        if unicodedata.category(char) in ("Cc", "Cf", "Cs", "Zl", "Zp"):
            raise BadName(
                f"the file name must not contain control or format characters (U+{ord(char):04X})"
            )
    if name.split(".", 1)[0].rstrip(" ").lower() in RESERVED_NAMES:
        raise BadName("the file name is a reserved device name")
    return name


def storage_key(workspace_id: UUID, file_id: UUID) -> str:
    """Where a file's bytes are kept: under its workspace, so that the workspace's files can
    be removed together."""
    return f"{workspace_prefix(workspace_id)}{file_id}"


def workspace_prefix(workspace_id: UUID) -> str:
    return f"workspaces/{workspace_id}/files/"


class File(Aggregate):
    """A file's id is chosen before its bytes are stored (its storage key names it)."""

    @staticmethod
    def create_id(file_id: UUID) -> UUID:
        return file_id

    @event("Uploaded")
    def __init__(
        self,
        file_id: UUID,
        workspace_id: UUID,
        name: str,
        original_name: str,
        storage_key: str,
        file_size: int,
        mime_type: str,
        checksum: str,
        is_public: bool,
        actor_id: UUID,
    ) -> None:
        self.workspace_id = workspace_id
        self.name = name
        self.original_name = original_name
        self.storage_key = storage_key
        self.file_size = file_size
        self.mime_type = mime_type
        self.checksum = checksum
        self.is_public = is_public
        self.uploaded_by = actor_id
        # attachment id -> (attachable type, attachable id, project id)
        self.attachments: dict[str, tuple[str, str, str | None]] = {}
        self.deleted = False

    def _check_live(self) -> None:
        if self.deleted:
            raise Gone("file not found")

    def delete(self, actor_id: UUID, *, moderator: bool) -> None:
        """The uploader or a moderator (a workspace owner or admin); attachments go with it."""
        self._check_live()
        if actor_id != self.uploaded_by and not moderator:
            raise NotPermitted("only the uploader or a workspace owner or admin may delete it")
        self._deleted(
            actor_id=actor_id,
            workspace_id=self.workspace_id,
            storage_key=self.storage_key,
            attachments=[
                {"id": k, "attachable_type": t, "attachable_id": i}
                for k, (t, i, _) in sorted(self.attachments.items())
            ],
        )

    @event("Deleted")
    def _deleted(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        storage_key: str,
        attachments: list[dict[str, Any]],
    ) -> None:
        self.deleted = True
        self.attachments = {}

    def attachment_on(self, attachable_type: str, attachable_id: UUID) -> str | None:
        for key, (kind, target, _) in self.attachments.items():
            if (kind, target) == (attachable_type, str(attachable_id)):
                return key
        return None

    def attach(
        self,
        actor_id: UUID,
        attachment_id: UUID,
        attachable_type: str,
        attachable_id: UUID,
        project_id: UUID | None,
    ) -> None:
        self._check_live()
        if attachable_type not in ATTACHABLE_TYPES:
            raise RuleBroken(f"files cannot be attached to a {attachable_type!r}")
        if self.attachment_on(attachable_type, attachable_id) is not None:
            raise RuleBroken(f"this file is already attached to this {attachable_type}")
        self._attached(
            actor_id=actor_id,
            workspace_id=self.workspace_id,
            project_id=project_id,
            attachment_id=attachment_id,
            attachable_type=attachable_type,
            attachable_id=attachable_id,
            name=self.name,
            mime_type=self.mime_type,
            file_size=self.file_size,
        )

    @event("Attached")
    def _attached(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        project_id: UUID | None,
        attachment_id: UUID,
        attachable_type: str,
        attachable_id: UUID,
        name: str,
        mime_type: str,
        file_size: int,
    ) -> None:
        self.attachments[str(attachment_id)] = (
            attachable_type,
            str(attachable_id),
            str(project_id) if project_id else None,
        )

    def target_of(self, attachment_id: UUID) -> tuple[str, UUID]:
        """What a live attachment of this file is on, or Missing."""
        self._check_live()
        found = self.attachments.get(str(attachment_id))
        if found is None:
            raise Missing("attachment not found")
        return found[0], UUID(found[1])

    def detach(self, actor_id: UUID, attachment_id: UUID) -> None:
        kind, target = self.target_of(attachment_id)
        project = self.attachments[str(attachment_id)][2]
        self._detached(
            actor_id=actor_id,
            workspace_id=self.workspace_id,
            project_id=UUID(project) if project else None,
            attachment_id=attachment_id,
            attachable_type=kind,
            attachable_id=target,
        )

    @event("Detached")
    def _detached(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        project_id: UUID | None,
        attachment_id: UUID,
        attachable_type: str,
        attachable_id: UUID,
    ) -> None:
        del self.attachments[str(attachment_id)]
