"""The webhooks policy: delivery from the log, so nothing is lost and each endpoint hears its
workspace's events in log order.

For every workspace event (named as real time names it: ``interfaces/realtime/names.py``,
given to the policy as ``describe``), the policy records a ``webhook_deliveries`` row for
each active endpoint of the workspace that wants that name (or ``*``), in the transaction of
the event's position (its id derives from the endpoint and the position: a re-run writes
nothing twice), and an outbox row ``webhooks`` that wakes the endpoint's delivery job. It
keeps what it needs to know of the endpoints in ``webhook_targets`` from their own events,
so it decides each event exactly as the log stood at that event. A ping and a redelivery by
hand are endpoint events: delivered to that endpoint alone, after what is already queued.

Deactivating an endpoint (paused by an admin, disabled by the job, deleted) cancels its
pending deliveries (``cancelled``; they can be redelivered by hand). Endpoint events are not
themselves delivered (they would carry the configuration, and the secret).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.utils import get_topic

from domain.webhooks import ALL_EVENTS, PING, WebhookEndpoint, delivery_id
from projections.base import handles
from projections.policy import Loader, Policy, PolicyContext

QUEUE_KIND = "webhooks"  # the outbox kind that wakes an endpoint's delivery job
NOT_DELIVERED = (  # personal or internal bookkeeping: never a workspace's webhook event
    "domain.identity:",
    "domain.notifications:",
    "domain.webhooks:",
    "domain.tasks:TaskGraph.",
    "domain.milestones_plan:",
)
# (name, payload as real time sends it) of an event, or None when nobody follows it.
Describe = Callable[[Any, int], tuple[str, dict[str, Any]] | None]

INSERT_DELIVERY = (
    "INSERT INTO webhook_deliveries (id, endpoint_id, workspace_id, position, event, body,"
    " redelivery_of, created_at) VALUES (%s, %s, %s, %s, %s, %s::jsonb, %s, %s)"
    " ON CONFLICT (id) DO NOTHING"
)
CANCEL_PENDING = (
    "UPDATE webhook_deliveries SET status = 'cancelled', completed_at = %s, error = %s"
    " WHERE endpoint_id = %s AND status = 'pending'"
)


def body_of(payload: dict[str, Any]) -> dict[str, Any]:
    """The JSON body a delivery sends: the event's name, position, time, actor and resource,
    its workspace and project, and the change (``data``)."""
    return {
        "event": payload["event"],
        "position": payload["position"],
        "time": payload["at"],
        "actor": {"id": payload.get("actor_id")},
        "resource": payload["resource"],
        "workspace_id": payload.get("workspace_id"),
        "project_id": payload.get("project_id"),
        "version": payload.get("version"),
        "data": payload.get("data", {}),
    }


class WebhooksPolicy(Policy):
    name = "webhooks_policy"  # the projection is "webhooks"

    def __init__(self, loader: Loader | None, describe: Describe) -> None:
        super().__init__(loader)
        self.describe = describe

    # Every workspace event may be wanted by some endpoint.
    def handles_topic(self, topic: str) -> bool:
        return not topic.startswith(NOT_DELIVERED) or topic.startswith("domain.webhooks:")

    def passes_over(self, cur: Any, event: Any, seen: dict[str, Any]) -> bool:
        """A workspace event of a workspace with no active endpoint delivers nothing: the
        projections' batch moves the policy past it (most workspaces have no webhooks).
        ``webhook_targets`` changes only with the endpoints' own events, which this never
        passes over, so the table read here is as the policy would find it."""
        if get_topic(type(event)) in self._handlers:
            return False
        described = self.describe(event, 0)
        workspace_id = described[1].get("workspace_id") if described is not None else None
        if workspace_id is None:
            return True
        active = seen.get("active_workspaces")
        if active is None:
            cur.execute(
                "SELECT DISTINCT workspace_id::text FROM webhook_targets"
                " WHERE active AND NOT deleted"
            )
            active = seen["active_workspaces"] = {row[0] for row in cur.fetchall()}
        return str(workspace_id) not in active

    def react(self, cur: Any, event: Any, position: int, mapper: Any) -> int:
        ctx = PolicyContext(self, cur, position, mapper, self.loader)
        handler = self._handlers.get(get_topic(type(event)))
        with cur.connection.transaction():
            if handler is not None:
                handler(self, ctx, event)
            elif not get_topic(type(event)).startswith(NOT_DELIVERED):
                self.deliver(ctx, event)
        return 0

    # Workspace events ----------------------------------------------------------------------

    def _queue(
        self,
        ctx: PolicyContext,
        endpoint_id: UUID,
        workspace_id: Any,
        name: str,
        body: dict[str, Any],
        at: Any,
        redelivery_of: UUID | None = None,
    ) -> None:
        ctx.cur.execute(
            INSERT_DELIVERY,
            (
                delivery_id(endpoint_id, ctx.position, redelivery_of),
                endpoint_id,
                workspace_id,
                ctx.position,
                name,
                orjson.dumps(body).decode(),
                redelivery_of,
                at,
            ),
        )
        ctx.outbox(
            QUEUE_KIND,
            {"endpoint_id": str(endpoint_id)},
            key=f"{self.name}:{ctx.position}:{endpoint_id}",
        )

    def deliver(self, ctx: PolicyContext, event: Any) -> None:
        described = self.describe(event, ctx.position)
        if described is None:
            return
        name, payload = described
        workspace_id = payload.get("workspace_id")
        if workspace_id is None:
            return
        ctx.cur.execute(
            "SELECT endpoint_id FROM webhook_targets WHERE workspace_id = %s AND active"
            " AND NOT deleted AND events && %s::text[] ORDER BY endpoint_id",
            (workspace_id, [name, ALL_EVENTS]),
        )
        endpoints = [row[0] for row in ctx.cur.fetchall()]
        if endpoints:
            body = body_of(payload)
            for endpoint_id in endpoints:
                self._queue(ctx, endpoint_id, workspace_id, name, body, event.timestamp)

    # The endpoints' own events -------------------------------------------------------------

    def _set(self, ctx: PolicyContext, e: Any, assignments: str, values: list[Any]) -> None:
        ctx.cur.execute(
            f"UPDATE webhook_targets SET {assignments} WHERE endpoint_id = %s",
            [*values, e.originator_id],
        )

    def _cancel(self, ctx: PolicyContext, e: Any, why: str) -> None:
        ctx.cur.execute(CANCEL_PENDING, (e.timestamp, why, e.originator_id))

    @handles(WebhookEndpoint.Registered)
    def registered(self, ctx: PolicyContext, e: Any) -> None:
        ctx.cur.execute(
            "INSERT INTO webhook_targets (endpoint_id, workspace_id, url, events, secret, active)"
            " VALUES (%s, %s, %s, %s, %s, true) ON CONFLICT (endpoint_id) DO NOTHING",
            (e.originator_id, e.workspace_id, e.url, list(e.events), e.secret),
        )

    @handles(WebhookEndpoint.Updated)
    def updated(self, ctx: PolicyContext, e: Any) -> None:
        changes = e.changes
        assignments, values = [], []
        for key in ("url", "events", "active"):
            if key in changes:
                assignments.append(f"{key} = %s")
                values.append(list(changes[key]) if key == "events" else changes[key])
        if changes.get("active"):
            assignments.append("failing_since = NULL")
        if assignments:
            self._set(ctx, e, ", ".join(assignments), values)
        if changes.get("active") is False:
            self._cancel(ctx, e, "endpoint paused")

    @handles(WebhookEndpoint.SecretRotated)
    def secret_rotated(self, ctx: PolicyContext, e: Any) -> None:
        self._set(ctx, e, "secret = %s", [e.secret])

    @handles(WebhookEndpoint.Disabled)
    def disabled(self, ctx: PolicyContext, e: Any) -> None:
        self._set(ctx, e, "active = false", [])
        self._cancel(ctx, e, f"endpoint disabled: {e.reason}")

    @handles(WebhookEndpoint.Deleted)
    def deleted(self, ctx: PolicyContext, e: Any) -> None:
        self._set(ctx, e, "active = false, deleted = true", [])
        self._cancel(ctx, e, "endpoint deleted")

    @handles(WebhookEndpoint.Pinged)
    def pinged(self, ctx: PolicyContext, e: Any) -> None:
        ctx.cur.execute(
            "SELECT url, events FROM webhook_targets WHERE endpoint_id = %s AND NOT deleted",
            (e.originator_id,),
        )
        row = ctx.cur.fetchone()
        if row is None:
            return
        body = {
            "event": PING,
            "position": ctx.position,
            "time": e.timestamp.isoformat(),
            "actor": {"id": str(e.actor_id)},
            "resource": {"type": "webhook", "id": str(e.originator_id)},
            "workspace_id": str(e.workspace_id),
            "project_id": None,
            "version": e.originator_version,
            "data": {"url": row[0], "events": list(row[1])},
        }
        self._queue(ctx, e.originator_id, e.workspace_id, PING, body, e.timestamp)

    @handles(WebhookEndpoint.RedeliveryRequested)
    def redelivery_requested(self, ctx: PolicyContext, e: Any) -> None:
        ctx.cur.execute(
            "SELECT event, body FROM webhook_deliveries WHERE id = %s AND endpoint_id = %s",
            (e.delivery_id, e.originator_id),
        )
        row = ctx.cur.fetchone()
        if row is None:
            return
        self._queue(
            ctx, e.originator_id, e.workspace_id, row[0], row[1], e.timestamp, e.delivery_id
        )
