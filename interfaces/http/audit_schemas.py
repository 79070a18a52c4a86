"""Response models of the audit endpoints: an object's history and its state at a point."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel

ObjectType = Literal["workspace", "project", "board", "card", "task", "comment"]


class AuditEvent(BaseModel):
    version: int
    event: str
    at: datetime
    actor_id: UUID | None
    data: dict[str, Any]


class AuditTrail(BaseModel):
    object_type: str
    object_id: UUID
    events: list[AuditEvent]


class AuditState(BaseModel):
    object_type: str
    as_of_version: int
    state: dict[str, Any]
