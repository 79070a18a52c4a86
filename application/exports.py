"""Workspace exports for admins: every project, board, card, task, comment, time entry,
milestone and allocation of a workspace as one JSON document or a zip of CSV files
(application/exports_format.py), made by a job, kept in the files storage under
``workspaces/<id>/exports/<export id>`` for ``EXPORTS_TTL_DAYS``, announced to who asked by an
``export_ready`` notification (delivered to their Inbox, once per export).

Owners and admins of the workspace ask for, list and download exports (``workspace:export``);
members and viewers are refused (403), anyone else does not see the workspace (404). The
record of each request is the ``workspace_exports`` table (application/adapters/exports.py):
pending, running, then ready (with size, SHA-256 and row counts) or failed (with the error).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol
from uuid import UUID

import structlog

from application.adapters.exports import ExportRecords
from application.authorization import Action, authorize
from application.errors import NotFound
from application.exports_format import document, to_csv_zip, to_json
from application.files import Storage
from application.notifications import NotificationsService

log = structlog.get_logger("exports")

FORMATS = ("json", "csv")
MEDIA_TYPES = {"json": "application/json", "csv": "application/zip"}
SUFFIXES = {"json": "json", "csv": "zip"}


class ExportScheduler(Protocol):
    def schedule(self, export_id: UUID) -> None: ...


def export_key(workspace_id: UUID, export_id: UUID) -> str:
    return f"workspaces/{workspace_id}/exports/{export_id}"


def filename(row: dict[str, Any]) -> str:
    made = row["created_at"].astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    return f"workspace-{row['workspace_id']}-{made}.{SUFFIXES[row['format']]}"


class ExportsService:
    def __init__(
        self,
        records: ExportRecords,
        storage: Storage,
        notifications: NotificationsService,
        scheduler: ExportScheduler | None = None,
        ttl_days: int = 7,
    ) -> None:
        self.records = records
        self.storage = storage
        self.notifications = notifications
        self.scheduler = scheduler
        self.ttl = timedelta(days=ttl_days)

    def authorize(self, *, workspace_id: UUID, actor_id: UUID) -> None:
        """Owners and admins (403 for members and viewers, 404 for anyone else)."""
        authorize(
            self.records.role_of(workspace_id, actor_id), Action.WORKSPACE_EXPORT, what="workspace"
        )

    def request(self, *, workspace_id: UUID, actor_id: UUID, fmt: str) -> dict[str, Any]:
        """Record an export request and queue its job; the new record."""
        self.authorize(workspace_id=workspace_id, actor_id=actor_id)
        export_id = uuid.uuid4()
        self.records.create(export_id, workspace_id, actor_id, fmt)
        if self.scheduler is not None:
            self.scheduler.schedule(export_id)
        return self.get(workspace_id=workspace_id, export_id=export_id, actor_id=actor_id)

    def get(self, *, workspace_id: UUID, export_id: UUID, actor_id: UUID) -> dict[str, Any]:
        self.authorize(workspace_id=workspace_id, actor_id=actor_id)
        row = self.records.get(export_id)
        if row is None or row["workspace_id"] != workspace_id:
            raise NotFound("export not found")
        return row

    def run(self, *, export_id: UUID, now: datetime | None = None) -> str:
        """Make the export (once: a second run of the same job does nothing); its status."""
        if not self.records.start(export_id):
            return "skipped"
        row = self.records.get(export_id)
        assert row is not None
        now = now or datetime.now(UTC)
        key = export_key(row["workspace_id"], export_id)
        try:
            workspace, rows, columns = self.records.collect(row["workspace_id"])
            if workspace is None:
                raise NotFound("the workspace is gone")
            doc = document(workspace, rows, now)
            data = to_json(doc) if row["format"] == "json" else to_csv_zip(doc, columns)
            upload = self.storage.begin(key)
            try:
                upload.write(data)
                upload.commit()
            except BaseException:
                upload.abort()
                raise
            self.records.finish(
                export_id,
                key=key,
                size=len(data),
                checksum=hashlib.sha256(data).hexdigest(),
                counts={name: len(items) for name, items in rows.items()},
                expires_at=now + self.ttl,
            )
        except Exception as e:
            log.warning("exports.failed", export_id=str(export_id), error=str(e))
            self.records.fail(export_id, str(e) or type(e).__name__)
            return "failed"
        self.notifications.export_ready(
            user_id=row["requested_by"],
            export_id=export_id,
            workspace_id=row["workspace_id"],
            fmt=row["format"],
        )
        log.info("exports.ready", export_id=str(export_id), bytes=len(data))
        return "ready"

    def export_now(self, *, workspace_id: UUID, now: datetime | None = None) -> bytes:
        """The workspace's JSON export made at once, in this process (``worksync export``)."""
        workspace, rows, _ = self.records.collect(workspace_id)
        if workspace is None:
            raise NotFound("workspace not found")
        return to_json(document(workspace, rows, now or datetime.now(UTC)))

    def purge_expired(self, now: datetime | None = None) -> int:
        return purge_expired(self.records, self.storage, now or datetime.now(UTC))


def purge_expired(records: ExportRecords, storage: Storage, now: datetime) -> int:
    """Remove the exports past their expiry (file and record); how many."""
    gone = 0
    for export_id, key in records.expired(now):
        if key:
            storage.delete(key)
        records.forget(export_id)
        gone += 1
    return gone
