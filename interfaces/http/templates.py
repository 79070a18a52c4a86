"""Project templates: CRUD, using one to start a project, search, categories, analytics (the
spec's nine endpoints under /templates)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from anyio import to_thread
from fastapi import Query, Response, status

from application.errors import Invalid, NotFound
from application.templates import analytics_report, phases_from_project
from interfaces.http.deps import Conn, ContainerDep, CurrentUser, IfMatch, run_command
from interfaces.http.idempotency import CommandRoute
from interfaces.http.pagination import (
    Page,
    PageQuery,
    decode_offset_cursor,
    decode_time_id_cursor,
    encode_cursor,
    paginate,
)
from interfaces.http.routers import ContextRouter
from interfaces.http.schemas import ACCEPTED, Line, accepted, set_etag
from interfaces.http.templates_schemas import (
    Highlights,
    TemplateAnalytics,
    TemplateCategories,
    TemplateCategory,
    TemplateCreate,
    TemplateOut,
    TemplateSearchHit,
    TemplateUpdate,
    TemplateUse,
    TemplateUseOut,
    highlighted,
    to_out,
)
from projections import templates_queries

router = ContextRouter(tags=["templates"], route_class=CommandRoute)
CategoryQuery = Annotated[Line | None, Query(max_length=100)]
TagQuery = Annotated[Line | None, Query(max_length=50)]
WORD = re.compile(r"\w+")
# Only a UUID is a template's id here: /templates/search and /templates/categories are other
# routes (a PUT to them is 405, not a template id that fails to parse).
TEMPLATE_ID = "{template_id:uuid}"
MAX_WORDS = 10


def prefix_query(text: str) -> str:
    """A to_tsquery expression: every word of ``text``, each as a prefix (as-you-type)."""
    words = WORD.findall(text)[:MAX_WORDS]
    if not words:
        raise Invalid(
            "q: give at least one word",
            errors=[
                {"field": "q", "location": "query", "message": "no word", "type": "value_error"}
            ],
        )
    return " & ".join(f"'{w[:64]}':*" for w in words)


async def _answer(
    conn: Conn,
    template_id: UUID,
    user_id: UUID,
    caught_up: bool,
    position: int | None,
    response: Response,
) -> Any:
    row = await templates_queries.get_template(conn, template_id, user_id) if caught_up else None
    if row is None:
        return accepted("templates", template_id, position)
    set_etag(response, row["version"])
    return to_out(row)


@router.get("/templates", response_model=Page[TemplateOut])
async def list_templates(
    caller: CurrentUser,
    conn: Conn,
    page: PageQuery,
    category: CategoryQuery = None,
    tag: TagQuery = None,
    created_by: UUID | None = None,
) -> Page[TemplateOut]:
    """Public templates and those of the caller's workspaces, oldest first."""
    rows = await templates_queries.list_templates(
        conn,
        caller.id,
        category=category,
        tag=tag,
        created_by=created_by,
        limit=page.limit + 1,
        after=decode_time_id_cursor(page.cursor),
    )
    data, next_cursor = paginate(rows, page.limit, lambda r: (r["created_at"], r["id"]))
    return Page[TemplateOut](data=[to_out(r) for r in data], next_cursor=next_cursor)


@router.post(
    "/templates",
    status_code=status.HTTP_201_CREATED,
    response_model=TemplateOut,
    responses=ACCEPTED,
)
async def create_template(
    body: TemplateCreate,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    response: Response,
) -> Any:
    phases: list[dict[str, Any]]
    if body.from_project_id is not None:
        project = await to_thread.run_sync(
            lambda: container.templates.readable_project(
                project_id=body.from_project_id, actor_id=caller.id
            )
        )
        milestones, tasks = await templates_queries.project_outline(conn, project.id)
        phases = phases_from_project(project.start_date, milestones, tasks)
    else:
        phases = [p.model_dump() for p in body.phases or []]
    saved, caught_up = await run_command(
        container,
        lambda: container.templates.create(
            workspace_id=body.workspace_id,
            actor_id=caller.id,
            name=body.name,
            description=body.description,
            category=body.category,
            tags=body.tags,
            is_public=body.is_public,
            phases=phases,
        ),
    )
    response.headers["Location"] = f"/api/v1/templates/{saved.value}"
    return await _answer(conn, saved.value, caller.id, caught_up, saved.position, response)


@router.get("/templates/categories", response_model=TemplateCategories)
async def template_categories(caller: CurrentUser, conn: Conn) -> TemplateCategories:
    """Categories of the templates the caller may see, with how many each."""
    rows = await templates_queries.categories(conn, caller.id)
    return TemplateCategories(data=[TemplateCategory(**r) for r in rows])


@router.get("/templates/search", response_model=Page[TemplateSearchHit])
async def search_templates(
    caller: CurrentUser,
    conn: Conn,
    page: PageQuery,
    q: Annotated[Line, Query(min_length=1, max_length=200, description="words; prefixes match")],
    category: CategoryQuery = None,
    tag: TagQuery = None,
) -> Page[TemplateSearchHit]:
    """Full-text search over name, tags, description and task titles (weighted in that
    order), best first, with the matches highlighted."""
    offset = decode_offset_cursor(page.cursor)
    rows = await templates_queries.search(
        conn,
        caller.id,
        prefix_query(q),
        category=category,
        tag=tag,
        limit=page.limit + 1,
        offset=offset,
    )
    next_cursor = encode_cursor(offset + page.limit) if len(rows) > page.limit else None
    hits = [
        TemplateSearchHit(
            **{**r, "tags": r["tags"] or []},
            highlights=Highlights(
                name=highlighted(r["name_hl"]) or "",
                description=highlighted(r["description_hl"]) if r["description"] else None,
            ),
        )
        for r in rows[: page.limit]
    ]
    return Page[TemplateSearchHit](data=hits, next_cursor=next_cursor)


@router.get(f"/templates/{TEMPLATE_ID}", response_model=TemplateOut)
async def get_template(
    template_id: UUID, caller: CurrentUser, conn: Conn, response: Response
) -> TemplateOut:
    row = await templates_queries.get_template(conn, template_id, caller.id)
    if row is None:
        raise NotFound("template not found")
    set_etag(response, row["version"])
    return to_out(row)


@router.put(f"/templates/{TEMPLATE_ID}", response_model=TemplateOut, responses=ACCEPTED)
async def update_template(
    template_id: UUID,
    body: TemplateUpdate,
    caller: CurrentUser,
    container: ContainerDep,
    conn: Conn,
    expected: IfMatch,
    response: Response,
) -> Any:
    fields = body.model_dump(exclude_unset=True)
    saved, caught_up = await run_command(
        container,
        lambda: container.templates.update(
            template_id=template_id, actor_id=caller.id, expected_version=expected, **fields
        ),
    )
    return await _answer(conn, template_id, caller.id, caught_up, saved.position, response)


@router.delete(f"/templates/{TEMPLATE_ID}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_template(
    template_id: UUID, caller: CurrentUser, container: ContainerDep, expected: IfMatch
) -> Response:
    await run_command(
        container,
        lambda: container.templates.delete(
            template_id=template_id, actor_id=caller.id, expected_version=expected
        ),
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    f"/templates/{TEMPLATE_ID}/use",
    status_code=status.HTTP_201_CREATED,
    response_model=TemplateUseOut,
    responses=ACCEPTED,
)
async def use_template(
    template_id: UUID,
    body: TemplateUse,
    caller: CurrentUser,
    container: ContainerDep,
    response: Response,
) -> Any:
    """Start a project from the template in one all-or-nothing command: the project, a
    milestone per phase (due on the phase's last working day), the tasks with their
    dependencies, optionally a board with the default columns."""
    saved, caught_up = await run_command(
        container,
        lambda: container.templates.use(
            template_id=template_id,
            actor_id=caller.id,
            workspace_id=body.workspace_id,
            project_name=body.project_name,
            start_date=body.start_date,
            description=body.description,
            create_board=body.create_board,
            board_name=body.board_name,
        ),
    )
    made = saved.value
    if not caught_up:
        return accepted("projects", made["project_id"], saved.position)
    response.headers["Location"] = f"/api/v1/projects/{made['project_id']}"
    return TemplateUseOut(template_id=template_id, **made)


@router.get(f"/templates/{TEMPLATE_ID}/analytics", response_model=TemplateAnalytics)
async def template_analytics(
    template_id: UUID, caller: CurrentUser, container: ContainerDep, conn: Conn
) -> TemplateAnalytics:
    """Uses per week, projects made and completed, their milestones' on-time rate, and the
    template's estimates against the time tracked on the tasks it created."""
    template = await to_thread.run_sync(
        lambda: container.templates.readable(template_id=template_id, actor_id=caller.id)
    )
    today = datetime.now(UTC).date()
    figures = await templates_queries.analytics(conn, template_id, today)
    row = await templates_queries.get_template(conn, template_id, caller.id)
    usage_count = row["usage_count"] if row is not None else template.usage_count
    return TemplateAnalytics(**analytics_report(template_id, usage_count, figures))
