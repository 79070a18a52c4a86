"""/audit: an object's history from the log, and its state at a version or a moment."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from anyio import to_thread
from fastapi import Query

from application.errors import Invalid
from interfaces.http.audit_schemas import AuditState, AuditTrail, ObjectType
from interfaces.http.deps import ContainerDep, CurrentUser
from interfaces.http.routers import ContextRouter

router = ContextRouter(prefix="/audit", tags=["audit"])


@router.get("/{object_type}/{object_id}", response_model=AuditTrail | AuditState)
async def audit(
    object_type: ObjectType,
    object_id: UUID,
    caller: CurrentUser,
    container: ContainerDep,
    version: Annotated[int | None, Query(ge=1)] = None,
    as_of: Annotated[
        datetime | None, Query(description="ISO timestamp; the state at that moment")
    ] = None,
) -> Any:
    """Without parameters: every event of the object (who, when, what). With ``version`` or
    ``as_of``: the object's state at that point, rebuilt from the log."""
    audit_service = container.audit
    if version is not None and as_of is not None:
        raise Invalid("give either version or as_of, not both")
    if version is None and as_of is None:
        events = await to_thread.run_sync(
            lambda: audit_service.history(
                object_type=object_type, object_id=object_id, actor_id=caller.id
            )
        )
        return AuditTrail(object_type=object_type, object_id=object_id, events=events)
    if as_of is not None and as_of.tzinfo is None:
        raise Invalid("as_of needs a time zone (e.g. 2026-01-31T12:00:00Z)")
    state = await to_thread.run_sync(
        lambda: audit_service.state(
            object_type=object_type,
            object_id=object_id,
            actor_id=caller.id,
            version=version,
            as_of=as_of,
        )
    )
    return AuditState(**state)
