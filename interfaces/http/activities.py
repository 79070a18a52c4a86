"""/workspaces/{id}/activities: the workspace's activity feed, newest first. Members only."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import Query

from application.errors import Invalid, NotFound
from interfaces.http.activities_schemas import ActivityOut, feed_page
from interfaces.http.deps import Conn, CurrentUser
from interfaces.http.pagination import Page, PageQuery, decode_int_cursor
from interfaces.http.routers import ContextRouter
from interfaces.http.schemas import Line
from projections import activities_queries, workspaces_queries

router = ContextRouter(prefix="/workspaces", tags=["activities"])


def _aware(value: datetime | None) -> datetime | None:
    """Timestamps without a zone are taken as UTC."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


@router.get("/{workspace_id}/activities", response_model=Page[ActivityOut])
async def list_workspace_activities(
    workspace_id: UUID,
    caller: CurrentUser,
    conn: Conn,
    page: PageQuery,
    project_id: UUID | None = None,
    user_id: UUID | None = None,
    object_type: Annotated[Line | None, Query(min_length=1, max_length=50)] = None,
    since: Annotated[datetime | None, Query(description="inclusive, ISO 8601")] = None,
    until: Annotated[datetime | None, Query(description="exclusive, ISO 8601")] = None,
) -> Page[ActivityOut]:
    """Who did what in the workspace, newest first; filter by project, user, object type and
    a time window."""
    since, until = _aware(since), _aware(until)
    if since is not None and until is not None and since > until:
        raise Invalid(
            "since must not be after until",
            errors=[{"field": "since", "message": "must not be after until", "type": "range"}],
        )
    if await workspaces_queries.get_for_member(conn, workspace_id, caller.id) is None:
        raise NotFound("workspace not found")
    rows = await activities_queries.list_activities(
        conn,
        workspace_id,
        limit=page.limit + 1,
        before=decode_int_cursor(page.cursor),
        project_id=project_id,
        user_id=user_id,
        object_type=object_type,
        since=since,
        until=until,
    )
    return feed_page(rows, page.limit)
