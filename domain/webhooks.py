"""Webhooks: a workspace's endpoints (URL, the event names wanted, a signing secret).

An endpoint is registered, updated, paused or resumed by an admin, disabled by the delivery
job when it has failed for a day (``disable``), deleted; a ``ping`` and a redelivery by hand
are recorded on it too, so that the webhooks policy delivers them from the log like any
other event. The secret is in the events (it signs every delivery); projections never show
it (``SECRET`` fields in projections/activities.py).
"""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.shared import Gone, RuleBroken

ALL_EVENTS = "*"
PING = "ping"
UPDATABLE = ("url", "events", "description", "active")


def delivery_id(endpoint_id: UUID, position: int, attempt_of: UUID | None = None) -> UUID:
    """The id of the delivery of the event at ``position`` to an endpoint (the same on every
    re-run of the policy), or of a redelivery of ``attempt_of`` recorded at ``position``."""
    source = f"{endpoint_id}:{position}:{attempt_of or ''}"
    return uuid.uuid5(uuid.NAMESPACE_URL, f"worksync:webhook-delivery:{source}")


def _check_events(events: list[str]) -> None:
    if not events:
        raise RuleBroken("an endpoint wants at least one event (or '*')")
    if len(set(events)) != len(events):
        raise RuleBroken("events must not repeat a name")


class WebhookEndpoint(Aggregate):
    @event("Registered")
    def __init__(
        self,
        workspace_id: UUID,
        url: str,
        events: list[str],
        secret: str,
        description: str | None,
        actor_id: UUID,
    ) -> None:
        _check_events(events)
        self.workspace_id = workspace_id
        self.url = url
        self.events = list(events)
        self.secret = secret
        self.description = description
        self.active = True
        self.disabled_reason: str | None = None
        self.created_by = actor_id
        self.deleted = False

    def _check_live(self) -> None:
        if self.deleted:
            raise Gone("webhook not found")

    def _scope(self, actor_id: UUID | None) -> dict[str, Any]:
        return {"actor_id": actor_id, "workspace_id": self.workspace_id}

    def update(self, actor_id: UUID, **fields: Any) -> None:
        """Change the URL, the events, the description, or ``active`` (resume / pause)."""
        self._check_live()
        unknown = set(fields) - set(UPDATABLE)
        if unknown:
            raise RuleBroken(f"not an updatable field: {', '.join(sorted(unknown))}")
        if "events" in fields:
            _check_events(fields["events"])
        changes = {k: v for k, v in fields.items() if getattr(self, k) != v}
        if changes:
            self._updated(**self._scope(actor_id), changes=changes)

    @event("Updated")
    def _updated(self, actor_id: UUID, workspace_id: UUID, changes: dict[str, Any]) -> None:
        for key, value in changes.items():
            setattr(self, key, value)
        if changes.get("active"):
            self.disabled_reason = None

    def rotate_secret(self, actor_id: UUID, secret: str) -> None:
        self._check_live()
        self._secret_rotated(**self._scope(actor_id), secret=secret)

    @event("SecretRotated")
    def _secret_rotated(self, actor_id: UUID, workspace_id: UUID, secret: str) -> None:
        self.secret = secret

    def disable(self, reason: str, failing_since: str) -> None:
        """The delivery job gives up on an endpoint that has failed for a day (no actor)."""
        self._check_live()
        if self.active:
            self._disabled(**self._scope(None), reason=reason, failing_since=failing_since)

    @event("Disabled")
    def _disabled(
        self, actor_id: None, workspace_id: UUID, reason: str, failing_since: str
    ) -> None:
        self.active = False
        self.disabled_reason = reason

    def ping(self, actor_id: UUID) -> None:
        self._check_live()
        self._pinged(**self._scope(actor_id))

    @event("Pinged")
    def _pinged(self, actor_id: UUID, workspace_id: UUID) -> None:
        pass

    def redeliver(self, actor_id: UUID, delivery_id: UUID) -> None:
        self._check_live()
        self._redelivery_requested(**self._scope(actor_id), delivery_id=delivery_id)

    @event("RedeliveryRequested")
    def _redelivery_requested(self, actor_id: UUID, workspace_id: UUID, delivery_id: UUID) -> None:
        pass

    def delete(self, actor_id: UUID) -> None:
        self._check_live()
        self._deleted(**self._scope(actor_id))

    @event("Deleted")
    def _deleted(self, actor_id: UUID, workspace_id: UUID) -> None:
        self.deleted = True
        self.active = False
