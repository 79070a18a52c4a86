"""/analytics: the dashboard, a project's figures, time tracked, resource utilization and
milestone delivery (application/analytics.py, analytics_reports.py).

Every member of a workspace (viewers too) reads its analytics; a workspace or project outside
the caller's workspaces is 404. Ranges are local days (``from``, ``to``, inclusive) in the
caller's time zone (``tz``, else their time tracking setting): ``from`` after ``to``, or a
range over 366 days, is 422.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import Query

from application import analytics, analytics_reports
from application.analytics import Period, TimeGroup
from interfaces.http.analytics_schemas import (
    AnalyticsDashboardOut,
    AnalyticsMilestonesOut,
    AnalyticsProjectOut,
    AnalyticsTimeOut,
    AnalyticsUtilizationOut,
)
from interfaces.http.deps import Conn, ContainerDep, CurrentUser
from interfaces.http.resources_schemas import Day
from interfaces.http.routers import ContextRouter
from interfaces.http.time_tracking_schemas import TimeZoneName

router = ContextRouter(prefix="/analytics", tags=["analytics"])

From = Annotated[Day | None, Query(alias="from", description="first local day (inclusive)")]
To = Annotated[Day | None, Query(alias="to", description="last local day (inclusive)")]
Tz = Annotated[
    TimeZoneName | None,
    Query(description="an IANA time zone; default: your time tracking setting"),
]


@router.get("/dashboard", response_model=AnalyticsDashboardOut)
async def dashboard(
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    workspace_id: UUID | None = None,
    tz: Tz = None,
) -> Any:
    """Your workspaces (or one): open, done and overdue tasks and cards, overdue milestones,
    hours tracked this week, milestones due in the next 14 days, people over-allocated."""
    return AnalyticsDashboardOut(
        **await analytics.dashboard(
            conn, caller.id, container.time_tracking.now(), workspace_id=workspace_id, tz=tz
        )
    )


@router.get(
    "/projects/{project_id}", response_model=AnalyticsProjectOut, response_model_by_alias=True
)
async def project(
    project_id: UUID,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    date_from: From = None,
    date_to: To = None,
    tz: Tz = None,
) -> Any:
    """Tasks and cards by status, completion, throughput per week, cycle time, estimated
    against tracked hours, milestones, and the burn-down over the range (default: the last 12
    weeks)."""
    return AnalyticsProjectOut(
        **await analytics.project(
            conn,
            caller.id,
            container.time_tracking.now(),
            project_id,
            date_from=date_from,
            date_to=date_to,
            tz=tz,
        )
    )


@router.get("/time-tracking", response_model=AnalyticsTimeOut, response_model_by_alias=True)
async def time_tracking(
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    group_by: TimeGroup = "user",
    date_from: From = None,
    date_to: To = None,
    workspace_id: UUID | None = None,
    project_id: UUID | None = None,
    user_id: UUID | None = None,
    tz: Tz = None,
) -> Any:
    """Hours, billable hours and amounts over the range (default: the last 30 days), grouped
    by user, project, day or ISO week in your time zone: your own time, and everyone's in the
    workspaces you manage. An entry counts in the day it started."""
    return AnalyticsTimeOut(
        **await analytics_reports.time_tracking(
            conn,
            caller.id,
            container.time_tracking.now(),
            group_by=group_by,
            date_from=date_from,
            date_to=date_to,
            workspace_id=workspace_id,
            project_id=project_id,
            user_id=user_id,
            tz=tz,
        )
    )


@router.get(
    "/resource-utilization",
    response_model=AnalyticsUtilizationOut,
    response_model_by_alias=True,
)
async def resource_utilization(
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    workspace_id: UUID | None = None,
    user_id: UUID | None = None,
    date_from: From = None,
    date_to: To = None,
) -> Any:
    """Per workspace (yours with team members, or one), person and ISO week: capacity,
    allocated and tracked hours (weeks of the workspace's time zone)."""
    return AnalyticsUtilizationOut(
        **await analytics_reports.resource_utilization(
            conn,
            caller.id,
            container.time_tracking.now(),
            workspace_id=workspace_id,
            user_id=user_id,
            date_from=date_from,
            date_to=date_to,
        )
    )


@router.get("/milestones", response_model=AnalyticsMilestonesOut, response_model_by_alias=True)
async def milestones(
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    period: Period = "week",
    date_from: From = None,
    date_to: To = None,
    workspace_id: UUID | None = None,
    project_id: UUID | None = None,
    tz: Tz = None,
) -> Any:
    """Milestones completed per week or month and on time, the on-time rate, those due in the
    range and met, and those overdue today."""
    return AnalyticsMilestonesOut(
        **await analytics_reports.milestones(
            conn,
            caller.id,
            container.time_tracking.now(),
            period=period,
            date_from=date_from,
            date_to=date_to,
            workspace_id=workspace_id,
            project_id=project_id,
            tz=tz,
        )
    )
