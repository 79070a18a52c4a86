"""The workspace activity feed: one row per workspace-scoped event (who did what to what).

It is a projection of the whole log, so it covers every context as it is added: the object
type and action come from the event's class (``Workspace.Updated`` -> workspace, updated).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from uuid import UUID

import orjson
from eventsourcing.utils import get_topic
from psycopg import Cursor

from projections.base import Projection, actor_of, copy_rows, json_dumps, row_id

# Shared with the real-time names (interfaces/realtime/names.py): identity events are not
# workspace activity and are never published (personal data); the task graph's and the
# milestone plan's link bookkeeping is already visible as the tasks' and milestones' own events.
SKIPPED_TOPICS = (
    "domain.identity:",
    "domain.tasks:TaskGraph.",
    "domain.milestones_plan:MilestonePlan.",
    "domain.webhooks:",  # an admin's configuration (URLs): not for every member's feed
)
# Derived figures with no actor (sent in real time, kept in their own table): not activity.
NOT_ACTIVITY = (
    "domain.resources:Workload.UtilizationUpdated",
    "domain.resources:Workload.Created",
    "domain.templates:ProjectTemplate.UseCounted",
)
# Event fields that are not details: the envelope, and secrets never shown.
# eventsourcing's bookkeeping (originator_topic: the class a Created event makes) is not data.
META = {
    "originator_id",
    "originator_version",
    "originator_topic",
    "timestamp",
    "actor_id",
    "workspace_id",
}
SECRET = {"password_hash", "token_hash", "email_hash", "secret"}
NOT_DETAILS = frozenset(META | SECRET)


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _as_before(value: Any) -> Any:
    """orjson's ``default``: what ``_jsonable`` makes of the values orjson leaves to it."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return list(value)
    raise TypeError


def details_json(event: Any) -> str:
    """The event's details as JSON text: its fields but the envelope and secrets, with ids,
    decimals and datetimes as strings (``_jsonable``). One orjson call; a value it cannot
    write as ``_jsonable`` would (a key that is not a string, an integer past 64 bits) takes
    the long way."""
    details = {k: v for k, v in vars(event).items() if k not in NOT_DETAILS}
    try:
        return orjson.dumps(
            details, default=_as_before, option=orjson.OPT_PASSTHROUGH_DATETIME
        ).decode()
    except TypeError:
        return json_dumps({k: _jsonable(v) for k, v in details.items()}).decode()


@lru_cache(maxsize=1024)
def _describe(cls: type) -> tuple[str, str]:
    aggregate, _, event_name = cls.__qualname__.rpartition(".")
    return _snake(aggregate), _snake(event_name.lstrip("_"))


def describe(event: Any) -> tuple[str, str]:
    """(object_type, action) from the event class, e.g. Workspace.Created."""
    return _describe(type(event))


@lru_cache(maxsize=1024)
def _topic_starts(cls: type, prefix: str) -> bool:
    return get_topic(cls).startswith(prefix)


def workspace_of(event: Any) -> UUID | None:
    workspace_id = getattr(event, "workspace_id", None)
    if workspace_id is not None:
        return workspace_id
    if _topic_starts(type(event), "domain.workspaces:Workspace."):
        return event.originator_id
    return None


def project_of(event: Any) -> UUID | None:
    """The project an event concerns: its ``project_id``, or the project itself."""
    project_id = getattr(event, "project_id", None)
    if project_id is not None:
        return project_id
    if _topic_starts(type(event), "domain.projects:Project."):
        return event.originator_id
    return None


INSERT = (
    "INSERT INTO activities (id, workspace_id, project_id, user_id, action, object_type,"
    " object_id, details, created_at, position) VALUES (%s, %s, %s, %s, %s, %s, %s,"
    " %s::jsonb, %s, %s)"
)
COLUMNS = (
    "id",
    "workspace_id",
    "project_id",
    "user_id",
    "action",
    "object_type",
    "object_id",
    "details",
    "created_at",
    "position",
)


class ActivitiesProjection(Projection):
    name = "activities"
    tables = ("activities",)
    append_only = ("activities",)

    def handles_topic(self, topic: str) -> bool:
        return (
            topic.startswith("domain.")
            and not topic.startswith(SKIPPED_TOPICS)
            and topic not in NOT_ACTIVITY
        )

    def row(self, event: Any, position: int) -> tuple | None:
        """The activity row for an event, or None for an event outside any workspace."""
        workspace_id = workspace_of(event)
        if workspace_id is None:
            return None
        object_type, action = describe(event)
        return (
            row_id("activity", position),
            workspace_id,
            project_of(event),
            actor_of(event),
            action,
            object_type,
            event.originator_id,
            details_json(event),
            event.timestamp,
            position,
        )

    def apply(self, cur: Cursor, event: Any, position: int) -> None:
        row = self.row(event, position)
        if row is not None:
            cur.execute(INSERT, row, prepare=True)

    def apply_batch(self, cur: Cursor, events: Sequence[tuple[Any, int]]) -> None:
        rows = [row for event, position in events if (row := self.row(event, position))]
        copy_rows(cur, "activities", COLUMNS, rows)
