"""Webhooks read queries: a workspace's endpoints (the webhooks projection) and an
endpoint's delivery log (written by the webhooks policy and the delivery job)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from projections.queries import fetch_all, fetch_one

ENDPOINT_COLUMNS = (
    "e.id, e.workspace_id, e.url, e.events, e.description, e.active, e.disabled_reason,"
    " e.created_by, e.version, e.created_at, e.updated_at,"
    " t.failing_since, t.last_success_at"
)
ENDPOINT_FROM = "webhook_endpoints e LEFT JOIN webhook_targets t ON t.endpoint_id = e.id"
DELIVERY_COLUMNS = (
    "d.id, d.endpoint_id, d.workspace_id, d.position, d.event, d.redelivery_of, d.status,"
    " d.attempts, d.next_attempt_at, d.first_attempt_at, d.last_attempt_at, d.response_code,"
    " d.latency_ms, d.response_excerpt, d.error, d.created_at, d.completed_at"
)


async def list_endpoints(
    conn: AsyncConnection,
    workspace_id: UUID,
    *,
    limit: int,
    after: tuple[datetime, UUID] | None = None,
) -> list[dict[str, Any]]:
    """A workspace's endpoints, oldest first (keyset on created_at, id)."""
    query = f"SELECT {ENDPOINT_COLUMNS} FROM {ENDPOINT_FROM} WHERE e.workspace_id = %s"
    params: list[Any] = [workspace_id]
    if after is not None:
        query += " AND (e.created_at, e.id) > (%s, %s)"
        params += list(after)
    query += " ORDER BY e.created_at, e.id LIMIT %s"
    return await fetch_all(conn, query, [*params, limit])


async def get_endpoint(conn: AsyncConnection, endpoint_id: UUID) -> dict[str, Any] | None:
    return await fetch_one(
        conn, f"SELECT {ENDPOINT_COLUMNS} FROM {ENDPOINT_FROM} WHERE e.id = %s", (endpoint_id,)
    )


async def list_deliveries(
    conn: AsyncConnection,
    endpoint_id: UUID,
    *,
    status: str | None,
    limit: int,
    before: tuple[datetime, UUID] | None = None,
) -> list[dict[str, Any]]:
    """An endpoint's deliveries, newest first (keyset on created_at, id)."""
    query = f"SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries d WHERE d.endpoint_id = %s"
    params: list[Any] = [endpoint_id]
    if status is not None:
        query += " AND d.status = %s"
        params.append(status)
    if before is not None:
        query += " AND (d.created_at, d.id) < (%s, %s)"
        params += list(before)
    query += " ORDER BY d.created_at DESC, d.id DESC LIMIT %s"
    return await fetch_all(conn, query, [*params, limit])


async def get_delivery(
    conn: AsyncConnection, endpoint_id: UUID, delivery_id: UUID
) -> dict[str, Any] | None:
    return await fetch_one(
        conn,
        f"SELECT {DELIVERY_COLUMNS}, d.body FROM webhook_deliveries d"
        " WHERE d.endpoint_id = %s AND d.id = %s",
        (endpoint_id, delivery_id),
    )
