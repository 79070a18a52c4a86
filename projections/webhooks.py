"""Webhooks read model: ``webhook_endpoints`` (its queries, and those of the delivery log the
webhooks policy and the delivery job keep, are in projections/webhooks_queries.py). The
secret is never projected. A workspace's deletion removes its endpoints."""

from __future__ import annotations

from typing import Any

from psycopg import Cursor
from psycopg.types.json import Jsonb

from domain.webhooks import WebhookEndpoint
from domain.workspaces import Workspace
from projections.base import Projection, handles

COLUMNS = {"url": "url", "events": "events", "description": "description", "active": "active"}


class WebhooksProjection(Projection):
    name = "webhooks"
    tables = ("webhook_endpoints",)

    def _set(self, cur: Cursor, e: Any, assignments: str, values: list[Any]) -> None:
        cur.execute(
            f"UPDATE webhook_endpoints SET {assignments}updated_at = %s, version = %s"
            " WHERE id = %s",
            [*values, e.timestamp, e.originator_version, e.originator_id],
        )

    @handles(WebhookEndpoint.Registered)
    def registered(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute(
            "INSERT INTO webhook_endpoints (id, workspace_id, url, events, description, active,"
            " created_by, version, created_at, updated_at)"
            " VALUES (%s, %s, %s, %s, %s, true, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING",
            (
                e.originator_id,
                e.workspace_id,
                e.url,
                Jsonb(list(e.events)),
                e.description,
                e.actor_id,
                e.originator_version,
                e.timestamp,
                e.timestamp,
            ),
        )

    @handles(WebhookEndpoint.Updated)
    def updated(self, cur: Cursor, e: Any, position: int) -> None:
        assignments, values = "", []
        for key, value in e.changes.items():
            assignments += f"{COLUMNS[key]} = %s, "
            values.append(Jsonb(list(value)) if key == "events" else value)
        if e.changes.get("active"):
            assignments += "disabled_reason = NULL, "
        self._set(cur, e, assignments, values)

    @handles(WebhookEndpoint.Disabled)
    def disabled(self, cur: Cursor, e: Any, position: int) -> None:
        self._set(cur, e, "active = false, disabled_reason = %s, ", [e.reason])

    @handles(
        WebhookEndpoint.SecretRotated,
        WebhookEndpoint.Pinged,
        WebhookEndpoint.RedeliveryRequested,
    )
    def touched(self, cur: Cursor, e: Any, position: int) -> None:
        self._set(cur, e, "", [])

    @handles(WebhookEndpoint.Deleted)
    def deleted(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute("DELETE FROM webhook_endpoints WHERE id = %s", (e.originator_id,))

    @handles(Workspace.Deleted)
    def workspace_deleted(self, cur: Cursor, e: Any, position: int) -> None:
        cur.execute("DELETE FROM webhook_endpoints WHERE workspace_id = %s", (e.originator_id,))
