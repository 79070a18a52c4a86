"""Milestone templates (beyond the spec: their CRUD under /milestone-templates) and applying
one to a project (the spec's POST /milestones/from-template)."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from anyio import to_thread
from fastapi import Query, Response, status

from application.errors import NotFound
from interfaces.http.deps import Conn, ContainerDep, CurrentUser, IfMatch, run_command
from interfaces.http.idempotency import CommandRoute
from interfaces.http.milestones import milestone_detail
from interfaces.http.milestones_schemas import (
    MilestonesFromTemplate,
    MilestonesFromTemplateOut,
    MilestoneTemplateCreate,
    MilestoneTemplateOut,
    MilestoneTemplateUpdate,
)
from interfaces.http.pagination import Page, PageQuery, decode_time_id_cursor, paginate
from interfaces.http.routers import ContextRouter
from interfaces.http.schemas import ACCEPTED, accepted, set_etag
from projections import milestones_queries

router = ContextRouter(tags=["milestones"], route_class=CommandRoute)
TEMPLATE_DATA = {"milestones_data": "milestones", "deliverables_data": "deliverables"}


def _template_fields(values: dict[str, Any]) -> dict[str, Any]:
    return {TEMPLATE_DATA.get(k, k): v for k, v in values.items()}


async def _template_answer(
    conn: Conn,
    template_id: UUID,
    user_id: UUID,
    caught_up: bool,
    position: int | None,
    response: Response,
) -> Any:
    row = (
        await milestones_queries.template_for_member(conn, template_id, user_id)
        if caught_up
        else None
    )
    if row is None:
        return accepted("milestone-templates", template_id, position)
    set_etag(response, row["version"])
    return MilestoneTemplateOut(**row)


@router.get("/milestone-templates", response_model=Page[MilestoneTemplateOut])
async def list_templates(
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    page: PageQuery,
    workspace_id: Annotated[
        UUID | None, Query(description="this workspace's templates and the public ones")
    ] = None,
) -> Page[MilestoneTemplateOut]:
    """Templates the caller may apply: public ones and those of their workspaces."""
    if workspace_id is not None:
        await to_thread.run_sync(
            lambda: container.milestones.readable_workspace(
                workspace_id=workspace_id, actor_id=caller.id
            )
        )
    rows = await milestones_queries.list_templates(
        conn,
        caller.id,
        workspace_id=workspace_id,
        limit=page.limit + 1,
        after=decode_time_id_cursor(page.cursor),
    )
    data, next_cursor = paginate(rows, page.limit, lambda r: (r["created_at"], r["id"]))
    return Page[MilestoneTemplateOut](
        data=[MilestoneTemplateOut(**r) for r in data], next_cursor=next_cursor
    )


@router.post(
    "/milestone-templates",
    status_code=status.HTTP_201_CREATED,
    response_model=MilestoneTemplateOut,
    responses=ACCEPTED,
)
async def create_template(
    body: MilestoneTemplateCreate,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    response: Response,
) -> Any:
    fields = _template_fields(body.model_dump())
    saved, caught_up = await run_command(
        container,
        lambda: container.milestones.create_template(actor_id=caller.id, **fields),
    )
    response.headers["Location"] = f"/api/v1/milestone-templates/{saved.value}"
    return await _template_answer(conn, saved.value, caller.id, caught_up, saved.position, response)


@router.get("/milestone-templates/{template_id}", response_model=MilestoneTemplateOut)
async def get_template(
    template_id: UUID, caller: CurrentUser, conn: Conn, response: Response
) -> MilestoneTemplateOut:
    row = await milestones_queries.template_for_member(conn, template_id, caller.id)
    if row is None:
        raise NotFound("milestone template not found")
    set_etag(response, row["version"])
    return MilestoneTemplateOut(**row)


@router.put(
    "/milestone-templates/{template_id}", response_model=MilestoneTemplateOut, responses=ACCEPTED
)
async def update_template(
    template_id: UUID,
    body: MilestoneTemplateUpdate,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    expected: IfMatch,
    response: Response,
) -> Any:
    fields = _template_fields(body.model_dump(exclude_unset=True))
    saved, caught_up = await run_command(
        container,
        lambda: container.milestones.update_template(
            template_id=template_id, actor_id=caller.id, expected_version=expected, **fields
        ),
    )
    return await _template_answer(conn, template_id, caller.id, caught_up, saved.position, response)


@router.delete("/milestone-templates/{template_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_template(
    template_id: UUID, caller: CurrentUser, container: ContainerDep, expected: IfMatch
) -> Response:
    await run_command(
        container,
        lambda: container.milestones.delete_template(
            template_id=template_id, actor_id=caller.id, expected_version=expected
        ),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/milestones/from-template",
    status_code=status.HTTP_201_CREATED,
    response_model=MilestonesFromTemplateOut,
    responses=ACCEPTED,
)
async def milestones_from_template(
    body: MilestonesFromTemplate, caller: CurrentUser, container: ContainerDep, conn: Conn
) -> Any:
    """Every milestone and deliverable of the template in the project, due dates from the
    start date and the offsets, all or nothing; the template's usage_count goes up by one."""
    saved, caught_up = await run_command(
        container,
        lambda: container.milestones.from_template(
            template_id=body.template_id,
            project_id=body.project_id,
            start_date=body.start_date,
            actor_id=caller.id,
        ),
    )
    details = []
    for milestone_id in saved.value if caught_up else []:
        detail = await milestone_detail(conn, milestone_id, caller.id)
        if detail is None:
            break
        details.append(detail)
    if len(details) != len(saved.value):
        return accepted("milestones", saved.value[0], saved.position)
    return MilestonesFromTemplateOut(
        template_id=body.template_id, project_id=body.project_id, milestones=details
    )
