"""Scheduling imports (the job is ``interfaces.jobs.imports.run_import``; its message is named
here so that the composition root builds schedulers without importing the job). With Redis
the import is a dramatiq message for a ``worksync worker``; without Redis the API process
makes it in a thread of its own (the record says pending until it starts)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any
from uuid import UUID

from dramatiq import Message

from interfaces.jobs.broker import current_broker

QUEUE = "imports"
IMPORT = "run_import"  # run_import(import_id)


class DramatiqImports:
    def schedule(self, import_id: UUID) -> None:
        message: Message = Message(
            queue_name=QUEUE, actor_name=IMPORT, args=(str(import_id),), kwargs={}, options={}
        )
        current_broker().enqueue(message)


class ThreadImports:
    """Runs each import in a daemon thread of this process."""

    def __init__(self, run: Callable[[UUID], Any]) -> None:
        self.run = run

    def schedule(self, import_id: UUID) -> None:
        threading.Thread(
            target=self.run, args=(import_id,), name=f"import-{import_id}", daemon=True
        ).start()
