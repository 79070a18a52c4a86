"""Resource planning: conflicts (listed, resolved or ignored by managers), utilization, the
capacity forecast and the allocation optimizer (OR-Tools CP-SAT in a worker thread, applied
only with ``apply: true`` as one bulk command). Who may do what is as in
``interfaces/http/resources.py``.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from anyio import to_thread
from fastapi import Query, Response

from application import resources_reports
from application.authorization import Action
from application.resources_optimizer import optimize
from interfaces.http.deps import Conn, ContainerDep, CurrentUser, IfMatch, run_command
from interfaces.http.idempotency import CommandRoute
from interfaces.http.pagination import Page, PageQuery, decode_time_id_cursor, paginate
from interfaces.http.resources import WS, answer_row, now_utc
from interfaces.http.resources_schemas import (
    ConflictOut,
    ConflictResolve,
    Day,
    ForecastOut,
    OptimizeOut,
    OptimizeRequest,
    UtilizationOut,
)
from interfaces.http.routers import ContextRouter
from interfaces.http.schemas import ACCEPTED
from projections import resources_queries

router = ContextRouter(tags=["resources"], route_class=CommandRoute)

# Conflicts ------------------------------------------------------------------------------------


@router.get(f"{WS}/conflicts", response_model=Page[ConflictOut])
async def list_conflicts(
    workspace_id: UUID,
    caller: CurrentUser,
    conn: Conn,
    page: PageQuery,
    status_: Annotated[
        str | None, Query(alias="status", pattern="^(active|resolved|ignored)$")
    ] = None,
    user_id: UUID | None = None,
    date_from: Annotated[Day | None, Query(alias="from")] = None,
    date_to: Annotated[Day | None, Query(alias="to", description="inclusive")] = None,
) -> Page[ConflictOut]:
    """Conflicts in the order they were detected: a member's allocated hours over their
    capacity in consecutive weeks, with the allocations, the dates and the largest excess."""
    await resources_reports.scope(conn, workspace_id, caller.id, Action.RESOURCES_READ)
    rows = await resources_queries.list_conflicts(
        conn,
        workspace_id,
        status=status_,
        user_id=user_id,
        date_from=date_from,
        date_to=date_to,
        limit=page.limit + 1,
        after=decode_time_id_cursor(page.cursor),
    )
    data, cursor = paginate(rows, page.limit, lambda r: (r["detected_at"], r["id"]))
    return Page[ConflictOut](data=[ConflictOut(**r) for r in data], next_cursor=cursor)


@router.put("/conflicts/{conflict_id}/resolve", response_model=ConflictOut, responses=ACCEPTED)
async def resolve_conflict(
    conflict_id: UUID,
    body: ConflictResolve,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    expected: IfMatch,
    response: Response,
) -> Any:
    """Resolve or ignore an active conflict, with details (managers). 409 when it is no
    longer active. A conflict whose cause goes away resolves by itself."""
    found = resources_reports.readable(
        await resources_queries.conflict(conn, conflict_id, caller.id), "conflict"
    )
    saved, caught_up = await run_command(
        container,
        lambda: container.resources.close_conflict(
            conflict_id=conflict_id,
            workspace_id=found["workspace_id"],
            user_id=found["user_id"],
            actor_id=caller.id,
            status=body.status,
            details=body.details,
            expected=expected,
        ),
    )
    row = await resources_queries.conflict(conn, conflict_id, caller.id) if caught_up else None
    return answer_row(row, "conflicts", conflict_id, saved.position, response)


# Utilization, forecast, optimization -----------------------------------------------------------


@router.get(f"{WS}/utilization", response_model=UtilizationOut, response_model_by_alias=True)
async def utilization(
    workspace_id: UUID,
    caller: CurrentUser,
    conn: Conn,
    user_id: UUID | None = None,
    date_from: Annotated[Day | None, Query(alias="from", description="its week's Monday")] = None,
    date_to: Annotated[Day | None, Query(alias="to", description="its week's Sunday")] = None,
) -> Any:
    """Per team member and week: capacity, allocated and tracked hours, utilization
    (allocated / capacity) and efficiency (tracked / allocated), with sums over the period
    (at most 53 weeks; default the last four weeks and this one)."""
    report = await resources_reports.utilization(
        conn,
        workspace_id,
        caller.id,
        now=now_utc(),
        user_id=user_id,
        date_from=date_from,
        date_to=date_to,
    )
    return UtilizationOut(**report)


@router.get(f"{WS}/capacity-forecast", response_model=ForecastOut)
async def capacity_forecast(
    workspace_id: UUID,
    caller: CurrentUser,
    conn: Conn,
    weeks: Annotated[int, Query(ge=1, le=52)] = 12,
    start_date: Annotated[Day | None, Query(description="default: today")] = None,
) -> Any:
    """The next weeks, per active team member and per skill: capacity, allocated, free and
    over (hours)."""
    return ForecastOut(
        **await resources_reports.forecast(
            conn, workspace_id, caller.id, now=now_utc(), weeks=weeks, start_date=start_date
        )
    )


@router.post(f"{WS}/optimize-allocations", response_model=OptimizeOut)
async def optimize_allocations(
    workspace_id: UUID,
    body: OptimizeRequest,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
) -> Any:
    """A plan that moves hours from over-allocated members to members with the required
    skills and free capacity, within each allocation's dates, with the fewest changes
    (OR-Tools CP-SAT, within ``time_limit_seconds``), and what it could not fix and why.
    With ``apply: true`` (managers) the plan is applied as one bulk command."""
    people, demands, first, last = await resources_reports.optimizer_inputs(
        conn, workspace_id, caller.id, now=now_utc(), weeks=body.weeks, start_date=body.start_date
    )
    plan = await to_thread.run_sync(
        lambda: optimize(people, demands, first, last, time_limit=body.time_limit_seconds)
    )
    position, applied = None, False
    if body.apply and plan.changes:
        # The plan names the versions it was made from: a change meanwhile is a 409.
        saved, _ = await run_command(
            container,
            lambda: container.resources.bulk_update(
                workspace_id=workspace_id, actor_id=caller.id, changes=plan.changes
            ),
        )
        position, applied = saved.position, True
    return OptimizeOut(
        status=plan.status,
        optimal=plan.optimal,
        applied=applied,
        position=position,
        start_date=first,
        end_date=last,
        over_allocation_before=float(plan.over_before),
        over_allocation_after=float(plan.over_after),
        moves=[vars(m) for m in plan.moves],
        unfixed=[vars(u) for u in plan.unfixed],
        changes=len(plan.changes),
        solve_seconds=round(plan.seconds, 3),
    )
