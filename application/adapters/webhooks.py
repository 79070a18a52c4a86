"""What the webhook delivery job needs of PostgreSQL and the network: an endpoint's turn and
its delivery log (``PgDeliveryLog``), and the HTTP client that posts to the address that was
checked (``HttpxTransport``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import datetime
from urllib.parse import urlsplit
from uuid import UUID

import httpx
import psycopg
from psycopg.rows import dict_row

from application.webhooks import Target
from application.webhooks_delivery import Answer, Pending

HEAD = (
    "SELECT d.id, d.event, d.body, d.attempts, d.next_attempt_at, d.first_attempt_at,"
    " t.url, t.secret, t.failing_since"
    " FROM webhook_deliveries d JOIN webhook_targets t ON t.endpoint_id = d.endpoint_id"
    " WHERE d.endpoint_id = %s AND d.status = 'pending'"
    " AND (t.active OR d.event = 'ping' OR d.redelivery_of IS NOT NULL)"
    " ORDER BY d.position, d.created_at, d.id LIMIT 1"
)
DUE = (
    "SELECT EXISTS (SELECT 1 FROM webhook_deliveries d"
    " JOIN webhook_targets t ON t.endpoint_id = d.endpoint_id"
    " WHERE d.endpoint_id = %s AND d.status = 'pending' AND d.next_attempt_at <= now()"
    " AND (t.active OR d.event = 'ping' OR d.redelivery_of IS NOT NULL))"
)
ATTEMPTED = (
    "UPDATE webhook_deliveries SET attempts = attempts + 1,"
    " first_attempt_at = coalesce(first_attempt_at, %(at)s), last_attempt_at = %(at)s,"
    " response_code = %(code)s, latency_ms = %(latency)s, response_excerpt = %(excerpt)s,"
    " error = %(error)s, status = %(status)s, next_attempt_at = %(next)s,"
    " completed_at = %(completed)s WHERE id = %(id)s"
)
LOCK = "SELECT pg_try_advisory_lock(hashtextextended('webhook-endpoint:' || %s::text, 0))"
UNLOCK = "SELECT pg_advisory_unlock(hashtextextended('webhook-endpoint:' || %s::text, 0))"


class PgTurn:
    def __init__(self, conn: psycopg.Connection, endpoint_id: UUID) -> None:
        self.conn = conn
        self.endpoint_id = endpoint_id

    def head(self) -> Pending | None:
        with self.conn.cursor(row_factory=dict_row) as cur:
            row = cur.execute(HEAD, (self.endpoint_id,)).fetchone()
        return Pending(**row) if row else None

    def _attempted(
        self, d: Pending, a: Answer, at: datetime, status: str, next_at: datetime | None
    ) -> None:
        self.conn.execute(
            ATTEMPTED,
            {
                "at": at,
                "code": a.status,
                "latency": a.latency_ms,
                "excerpt": a.excerpt,
                "error": a.error,
                "status": status,
                "next": next_at or at,
                "completed": None if status == "pending" else at,
                "id": d.id,
            },
        )

    def succeeded(self, delivery: Pending, answer: Answer, at: datetime) -> None:
        with self.conn.transaction():
            self._attempted(delivery, answer, at, "succeeded", None)
            self.conn.execute(
                "UPDATE webhook_targets SET failing_since = NULL, last_success_at = %s"
                " WHERE endpoint_id = %s",
                (at, self.endpoint_id),
            )

    def _failing(self, at: datetime) -> datetime:
        row = self.conn.execute(
            "UPDATE webhook_targets SET failing_since = coalesce(failing_since, %s)"
            " WHERE endpoint_id = %s RETURNING failing_since",
            (at, self.endpoint_id),
        ).fetchone()
        return row[0] if row else at

    def retry(self, delivery: Pending, answer: Answer, at: datetime, next_at: datetime) -> None:
        with self.conn.transaction():
            self._attempted(delivery, answer, at, "pending", next_at)
            self._failing(at)

    def failed(self, delivery: Pending, answer: Answer, at: datetime) -> datetime:
        with self.conn.transaction():
            self._attempted(delivery, answer, at, "failed", None)
            return self._failing(at)

    def schedule(self, at: datetime) -> bool:
        """Claim the wake-up at ``at`` unless one is queued for then or earlier (one that
        is a minute overdue was lost: it is replaced)."""
        row = self.conn.execute(
            "UPDATE webhook_targets SET wake_at = %s WHERE endpoint_id = %s"
            " AND (wake_at IS NULL OR wake_at > %s OR wake_at < now() - interval '1 minute')"
            " RETURNING 1",
            (at, self.endpoint_id, at),
        ).fetchone()
        return row is not None


class PgDeliveryLog:
    """The delivery log, on connections from ``connect`` (autocommit: a pool the composition
    root opens for the delivery job)."""

    def __init__(self, connect: Callable[[], AbstractContextManager[psycopg.Connection]]) -> None:
        self._connection = connect

    @contextmanager
    def turn(self, endpoint_id: UUID) -> Iterator[PgTurn | None]:
        """The endpoint's turn (a session advisory lock), or None while another has it."""
        with self._connection() as conn:
            if not conn.execute(LOCK, (endpoint_id,)).fetchone()[0]:
                yield None
                return
            try:
                yield PgTurn(conn, endpoint_id)
            finally:
                conn.execute(UNLOCK, (endpoint_id,))

    def due(self, endpoint_id: UUID) -> bool:
        with self._connection() as conn:
            return bool(conn.execute(DUE, (endpoint_id,)).fetchone()[0])

    def woke(self, endpoint_id: UUID, at: datetime) -> None:
        """The wake-up queued for ``at`` has come: another may be queued."""
        with self._connection() as conn:
            conn.execute(
                "UPDATE webhook_targets SET wake_at = NULL WHERE endpoint_id = %s AND wake_at = %s",
                (endpoint_id, at),
            )

    def delivery_exists(self, endpoint_id: UUID, delivery_id: UUID) -> bool:
        with self._connection() as conn:
            return delivery_exists(conn, endpoint_id, delivery_id)


def delivery_exists(conn: psycopg.Connection, endpoint_id: UUID, delivery_id: UUID) -> bool:
    row = conn.execute(
        "SELECT 1 FROM webhook_deliveries WHERE endpoint_id = %s AND id = %s",
        (endpoint_id, delivery_id),
    ).fetchone()
    return row is not None


class HttpxTransport:
    """POSTs to the checked address itself (the URL's host in ``Host`` and, for https, in
    TLS SNI and the certificate check), no redirects, no proxy from the environment; keeps
    the first ``excerpt_bytes`` of the answer."""

    def __init__(self, timeout: float = 10.0, excerpt_bytes: int = 1024) -> None:
        self.excerpt_bytes = excerpt_bytes
        self.client = httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False)

    def post(self, target: Target, headers: dict[str, str], body: bytes) -> Answer:
        parts = urlsplit(target.url)
        address = f"[{target.address}]" if ":" in target.address else target.address
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        url = f"{target.scheme}://{address}:{target.port}{path}"
        default_port = 443 if target.scheme == "https" else 80
        host = f"[{target.host}]" if ":" in target.host else target.host
        headers = {
            **headers,
            "Host": host if target.port == default_port else f"{host}:{target.port}",
        }
        extensions = {"sni_hostname": target.host} if target.scheme == "https" else {}
        started = time.perf_counter()
        try:
            with self.client.stream(
                "POST", url, content=body, headers=headers, extensions=extensions
            ) as response:
                latency = int((time.perf_counter() - started) * 1000)
                excerpt = bytearray()
                for chunk in response.iter_raw():
                    excerpt += chunk
                    if len(excerpt) >= self.excerpt_bytes:
                        break
            text = bytes(excerpt[: self.excerpt_bytes]).decode("utf-8", "replace")
            return Answer(response.status_code, latency, text.replace("\x00", ""))
        except httpx.HTTPError as e:
            latency = int((time.perf_counter() - started) * 1000)
            return Answer(None, latency, error=f"{type(e).__name__}: {e}"[:500])

    def close(self) -> None:
        self.client.close()
