"""Imports into a workspace: a Trello board export becomes a project with its board
(application/imports_trello.py reads it, application/imports_build.py says what maps to
what). Owners and admins import (``workspace:import``); members and viewers are refused
(403), anyone else does not see the workspace (404).

An import is one command: every aggregate it makes is saved in one atomic append, so a
failure leaves nothing behind. Its ids are derived from the workspace and the Trello ids, so
importing the same export again finds its project already there and makes nothing (the
answer says ``already_imported``); a concurrent second import clashes on those ids, is
retried, and finds it there too.

Over HTTP the file is read and checked in the request (bad input: 4xx, nothing recorded),
then a job makes it (dramatiq with Redis, a thread of the API process without), recorded in
``workspace_imports`` (application/adapters/imports.py): pending, running, then done (with
counts and the report) or failed (with the error). The CLI imports in its own process.
"""

from __future__ import annotations

import uuid
from typing import Any, Protocol
from uuid import UUID

import structlog

from application.access import require
from application.adapters.imports import ImportRecords
from application.adapters.store import EventStore
from application.authorization import Action
from application.errors import ApplicationError, NotFound
from application.imports_build import Progress, build_trello, imported_id
from application.imports_trello import load_json, parse_trello
from application.imports_worksync import build_worksync, check_worksync, worksync_id
from domain.identity import EmailIndex
from domain.workspaces import Workspace

log = structlog.get_logger("imports")

DEFAULT_MAX_BYTES = 20 * 1024 * 1024


class ImportScheduler(Protocol):
    def schedule(self, import_id: UUID) -> None: ...


class ImportsService:
    def __init__(
        self,
        store: EventStore,
        records: ImportRecords,
        scheduler: ImportScheduler | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
    ) -> None:
        self.store = store
        self.records = records
        self.scheduler = scheduler
        self.max_bytes = max_bytes

    def authorize(self, *, workspace_id: UUID, actor_id: UUID) -> None:
        """Owners and admins (403 for members and viewers, 404 for anyone else)."""
        require(self.store, workspace_id, actor_id, Action.WORKSPACE_IMPORT, "workspace")

    def actor_for(self, *, workspace_id: UUID, email: str | None) -> UUID:
        """Who imports from the command line: the account of ``email`` (an owner or admin
        of the workspace), or else the workspace's first owner."""
        try:
            workspace = self.store.load(Workspace, workspace_id, copy=False)
        except NotFound:
            raise NotFound("workspace not found") from None
        if workspace.deleted:
            raise NotFound("workspace not found")
        if email is None:
            return next(u for u, role in workspace.members.items() if role == "owner")
        try:
            index = self.store.load(EmailIndex, EmailIndex.id_for(email), copy=False)
        except NotFound:
            index = None
        if index is None or index.user_id is None:
            raise NotFound(f"no account with the e-mail {email}")
        self.authorize(workspace_id=workspace_id, actor_id=index.user_id)
        return index.user_id

    def read_trello(self, data: bytes) -> dict[str, Any]:
        """The import plan of a Trello export's bytes (BadImport, ImportTooLarge)."""
        return parse_trello(load_json(data, self.max_bytes))

    # Over HTTP: a record and a job ---------------------------------------------------------

    def request_trello(
        self,
        *,
        workspace_id: UUID,
        actor_id: UUID,
        data: bytes,
        filename: str | None,
        include_archived_lists: bool,
    ) -> dict[str, Any]:
        """Check the caller and the file, record the import and queue its job; the record."""
        self.authorize(workspace_id=workspace_id, actor_id=actor_id)
        payload = {"plan": self.read_trello(data), "include_archived_lists": include_archived_lists}
        return self._record(workspace_id, actor_id, "trello", filename, payload)

    def request_worksync(
        self, *, workspace_id: UUID, actor_id: UUID, data: bytes, filename: str | None
    ) -> dict[str, Any]:
        """As ``request_trello``, for a WorkSync workspace export."""
        self.authorize(workspace_id=workspace_id, actor_id=actor_id)
        payload = {"rows": self.read_worksync(data)}
        return self._record(workspace_id, actor_id, "worksync", filename, payload)

    def _record(
        self,
        workspace_id: UUID,
        actor_id: UUID,
        source: str,
        filename: str | None,
        payload: dict[str, Any],
    ) -> dict[str, Any]:
        import_id = uuid.uuid4()
        self.records.create(import_id, workspace_id, actor_id, source, filename, payload)
        if self.scheduler is not None:
            self.scheduler.schedule(import_id)
        return self.get(workspace_id=workspace_id, import_id=import_id, actor_id=actor_id)

    def get(self, *, workspace_id: UUID, import_id: UUID, actor_id: UUID) -> dict[str, Any]:
        self.authorize(workspace_id=workspace_id, actor_id=actor_id)
        row = self.records.get(import_id)
        if row is None or row["workspace_id"] != workspace_id:
            raise NotFound("import not found")
        return row

    def run(self, *, import_id: UUID) -> str:
        """Make a recorded import (once: a second run of the same job does nothing)."""
        row = self.records.start(import_id)
        if row is None:
            return "skipped"
        payload = row["payload"]
        try:
            if row["source"] == "worksync":
                result = self._worksync_result(
                    self.import_worksync(
                        workspace_id=row["workspace_id"],
                        actor_id=row["requested_by"],
                        rows=payload["rows"],
                    )
                )
            else:
                result = self.import_trello(
                    workspace_id=row["workspace_id"],
                    actor_id=row["requested_by"],
                    plan=payload["plan"],
                    include_archived_lists=payload["include_archived_lists"],
                )
        except ApplicationError as e:
            self.records.fail(import_id, e.detail)
            return "failed"
        except Exception as e:
            log.warning("imports.failed", import_id=str(import_id), error=str(e))
            self.records.fail(import_id, "the import failed unexpectedly; nothing was created")
            return "failed"
        self.records.finish(import_id, result)
        log.info("imports.done", import_id=str(import_id), **result["counts"])
        return "done"

    @staticmethod
    def _worksync_result(made: dict[str, Any]) -> dict[str, Any]:
        """What the record of a WorkSync import keeps (its project when there is one)."""
        projects = made["project_ids"]
        return {
            "project_id": projects[0] if len(projects) == 1 else None,
            "board_id": None,
            "counts": made["counts"],
            "report": {"already_imported": made["already_imported"]},
        }

    # The command ---------------------------------------------------------------------------

    def import_trello(
        self,
        *,
        workspace_id: UUID,
        actor_id: UUID,
        plan: dict[str, Any],
        include_archived_lists: bool = False,
        progress: Progress | None = None,
    ) -> dict[str, Any]:
        """Make the plan's project, board, cards, tasks and comments in one atomic append;
        what was made (``project_id``, ``board_id``, ``counts``, ``report``, ``position``)."""

        def command() -> tuple[dict[str, Any], list[Any]]:
            self.authorize(workspace_id=workspace_id, actor_id=actor_id)
            board_id = plan["board"]["id"]
            project_id = imported_id(workspace_id, "project", board_id)
            if self.store.exists(project_id):
                return already_imported(workspace_id, board_id), []
            workspace = self.store.load(Workspace, workspace_id, copy=False)
            emails = self.member_emails(workspace, plan)
            result, made = build_trello(
                plan,
                workspace_id=workspace_id,
                actor_id=actor_id,
                emails=emails,
                include_archived_lists=include_archived_lists,
                progress=progress,
            )
            result["report"]["already_imported"] = False
            return result, made

        saved = self.store.run(command)
        return {**saved.value, "position": saved.position}

    def member_emails(self, workspace: Workspace, plan: dict[str, Any]) -> dict[str, UUID]:
        """The plan's members' e-mail addresses that belong to a member of the workspace."""
        found: dict[str, UUID] = {}
        for member in plan["members"]:
            email = member["email"]
            if not email or email in found:
                continue
            try:
                index = self.store.load(EmailIndex, EmailIndex.id_for(email), copy=False)
            except NotFound:
                continue
            if index.user_id is not None and workspace.role_of(index.user_id) is not None:
                found[email] = index.user_id
        return found

    # WorkSync's own export (the command line) -----------------------------------------------

    def read_worksync(self, data: bytes) -> dict[str, list[dict[str, Any]]]:
        """The collections of a WorkSync workspace export's bytes (BadImport, ImportTooLarge)."""
        return check_worksync(load_json(data, self.max_bytes))

    def import_worksync(
        self, *, workspace_id: UUID, actor_id: UUID, rows: dict[str, list[dict[str, Any]]]
    ) -> dict[str, Any]:
        """Recreate an export's projects, boards, cards, tasks and comments in the workspace
        (application/imports_worksync.py), in one atomic append; idempotent as for Trello."""

        def command() -> tuple[dict[str, Any], list[Any]]:
            self.authorize(workspace_id=workspace_id, actor_id=actor_id)
            ids = [worksync_id(workspace_id, "project", r.get("id")) for r in rows["projects"]]
            if any(self.store.exists(i) for i in ids):
                return {"counts": {}, "project_ids": ids, "already_imported": True}, []
            workspace = self.store.load(Workspace, workspace_id, copy=False)
            result, made = build_worksync(
                rows, workspace_id=workspace_id, actor_id=actor_id, members=set(workspace.members)
            )
            return {**result, "already_imported": False}, made

        saved = self.store.run(command)
        return {**saved.value, "position": saved.position}


def already_imported(workspace_id: UUID, board_id: str) -> dict[str, Any]:
    return {
        "project_id": imported_id(workspace_id, "project", board_id),
        "board_id": imported_id(workspace_id, "board", board_id),
        "counts": {},
        "report": {"already_imported": True},
    }
