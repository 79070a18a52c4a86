"""The ``files`` outbox kind: stored bytes removed after the log says they are gone
(``application.files.FileStoragePolicy``). Delivered by the outbox dispatcher itself: a
failure (storage unreachable) raises, and the dispatcher tries again with backoff until
storage confirms. Deleting what is already gone succeeds, so a row delivered twice is
harmless."""

from __future__ import annotations

import structlog

from application.files import Storage
from projections.outbox import OutboxItem

log = structlog.get_logger("jobs.files")


class OutboxFiles:
    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def __call__(self, item: OutboxItem) -> bool:
        payload = item.payload
        if "delete" in payload:
            self.storage.delete(payload["delete"])
            log.info("files.deleted", key=payload["delete"])
        elif "delete_prefix" in payload:
            count = self.storage.delete_prefix(payload["delete_prefix"])
            log.info("files.deleted", prefix=payload["delete_prefix"], count=count)
        return True
