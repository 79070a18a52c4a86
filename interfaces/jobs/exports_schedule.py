"""Scheduling workspace exports (the job is ``interfaces.jobs.exports.export_workspace``; its
message is named here so that the composition root builds schedulers without importing the
job). With Redis the export is a dramatiq message for a ``worksync worker``; without Redis the
API process makes it in a thread of its own (the record says pending until it starts)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from uuid import UUID

from dramatiq import Message

from interfaces.jobs.broker import current_broker

QUEUE = "exports"
EXPORT = "export_workspace"  # export_workspace(export_id)


class DramatiqExports:
    def schedule(self, export_id: UUID) -> None:
        message: Message = Message(
            queue_name=QUEUE, actor_name=EXPORT, args=(str(export_id),), kwargs={}, options={}
        )
        current_broker().enqueue(message)


class ThreadExports:
    """Runs each export in a daemon thread of this process."""

    def __init__(self, run: Callable[[UUID], Any]) -> None:
        self.run = run

    def schedule(self, export_id: UUID) -> None:
        threading.Thread(
            target=self.run, args=(export_id,), name=f"export-{export_id}", daemon=True
        ).start()
