"""The outbox dispatcher: delivers the side effects policies recorded, at least once.

Each ``outbox`` row (written by a policy in the transaction of its position) names a
``kind``; a deliverer per kind takes it: it either delivers it (``True``: e.g. mail written
to the log) or hands it to something that delivers it later with the row's key (``False``:
e.g. a job queued on Redis; the job marks the row delivered, and a key seen twice is
delivered once). A deliverer that raises (Redis down) leaves the row for later, with
exponential backoff. Rows are taken with ``FOR UPDATE SKIP LOCKED``, so several dispatchers
can run; a row handed over but not delivered after ``requeue_after`` is handed over again.
A delivered row keeps its key, kind, policy, position and times, not its payload (which may
hold personal data or a link).

Woken by NOTIFY on ``worksync_outbox`` (sent with the policy's commit), else every second.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
import structlog
from psycopg import Connection, sql

from projections.policy import OUTBOX_CHANNEL

log = structlog.get_logger("outbox")


@dataclass(frozen=True)
class OutboxItem:
    key: str
    kind: str
    payload: dict[str, Any]
    attempts: int


Deliver = Callable[[OutboxItem], bool]

DUE = (
    "SELECT id, key, kind, payload, attempts FROM outbox WHERE delivered_at IS NULL"
    " AND next_attempt_at <= now() AND kind = ANY(%s)"
    " AND (enqueued_at IS NULL OR enqueued_at < now() - make_interval(secs => %s))"
    " ORDER BY id LIMIT %s FOR UPDATE SKIP LOCKED"
)
DELIVERED = (
    "UPDATE outbox SET delivered_at = now(), enqueued_at = coalesce(enqueued_at, now()),"
    " attempts = attempts + 1, last_error = NULL, payload = '{}'"
    " WHERE id = %s"
)
ENQUEUED = (
    "UPDATE outbox SET enqueued_at = now(), attempts = attempts + 1, last_error = NULL"
    " WHERE id = %s"
)
FAILED = (
    "UPDATE outbox SET attempts = attempts + 1, last_error = %s,"
    " next_attempt_at = now() + make_interval(secs => %s) WHERE id = %s"
)


class OutboxDispatcher:
    def __init__(
        self,
        conninfo: str,
        deliverers: Mapping[str, Deliver],
        *,
        batch_size: int = 50,
        idle_wait: float = 1.0,
        max_backoff: float = 10.0,
        requeue_after: float = 3600.0,
    ) -> None:
        self.conninfo = conninfo
        self.deliverers = dict(deliverers)
        self.batch_size = batch_size
        self.idle_wait = idle_wait
        self.max_backoff = max_backoff
        self.requeue_after = requeue_after
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="outbox", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def backoff(self, attempts: int) -> float:
        return min(self.max_backoff, 0.5 * 2 ** min(attempts, 16))

    def dispatch(self, conn: Connection) -> int:
        """Deliver or hand over the due rows (one batch); return how many were taken."""
        with conn.transaction():
            rows = conn.execute(
                DUE, (list(self.deliverers), self.requeue_after, self.batch_size)
            ).fetchall()
            for row_id, key, kind, payload, attempts in rows:
                item = OutboxItem(key, kind, payload, attempts)
                try:
                    delivered = self.deliverers[kind](item)
                except Exception as e:
                    error = f"{type(e).__name__}: {e}"
                    conn.execute(FAILED, (error, self.backoff(attempts), row_id))
                    log.warning(
                        "outbox.retry", key=key, kind=kind, attempts=attempts + 1, error=error
                    )
                    continue
                conn.execute(DELIVERED if delivered else ENQUEUED, (row_id,))
        return len(rows)

    def _run(self) -> None:
        while not self._stopping.is_set():
            try:
                with psycopg.connect(self.conninfo, autocommit=True) as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(OUTBOX_CHANNEL)))
                    while not self._stopping.is_set():
                        if self.dispatch(conn) >= self.batch_size:
                            continue
                        for _ in conn.notifies(timeout=self.idle_wait, stop_after=1):
                            pass
            except psycopg.OperationalError as e:
                log.warning("outbox dispatcher lost its connection", error=str(e))
                self._stopping.wait(1.0)
