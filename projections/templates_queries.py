"""Project templates read queries: what a caller may see (public templates and their
workspaces'), lists, full-text search, categories, analytics, and a project's outline (to
save it as a template)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from uuid import UUID

from psycopg import AsyncConnection

from projections.queries import fetch_all, fetch_one

SUMMARY_COLUMNS = (
    "t.id, t.workspace_id, t.name, t.description, t.category, t.tags, t.is_public,"
    " t.created_by, t.usage_count, t.version, t.created_at, t.updated_at"
)
TEMPLATE_COLUMNS = f"{SUMMARY_COLUMNS}, t.template_data"
# Visible to %(user)s: public, or of one of their workspaces.
VISIBLE = (
    "(t.is_public OR t.workspace_id IN"
    " (SELECT m.workspace_id FROM workspace_members m WHERE m.user_id = %(user)s))"
)
# ts_headline marks matches with these (characters no name or description may contain: the
# API refuses them), so the caller can escape the text and then mark it up safely.
MARK_START, MARK_STOP = "\x01", "\x02"
HEADLINE = f"StartSel={MARK_START}, StopSel={MARK_STOP}"


def _filters(category: str | None, tag: str | None, created_by: UUID | None = None) -> str:
    where = ""
    if category is not None:
        where += " AND t.category = %(category)s"
    if tag is not None:
        where += " AND t.tags @> ARRAY[%(tag)s]::text[]"
    if created_by is not None:
        where += " AND t.created_by = %(created_by)s"
    return where


async def get_template(
    conn: AsyncConnection, template_id: UUID, user_id: UUID
) -> dict[str, Any] | None:
    """The template if the caller may see it."""
    return await fetch_one(
        conn,
        f"SELECT {TEMPLATE_COLUMNS} FROM project_templates t WHERE t.id = %(id)s AND {VISIBLE}",
        {"id": template_id, "user": user_id},
    )


async def list_templates(
    conn: AsyncConnection,
    user_id: UUID,
    *,
    category: str | None,
    tag: str | None,
    created_by: UUID | None,
    limit: int,
    after: tuple[datetime, UUID] | None = None,
) -> list[dict[str, Any]]:
    """Templates the caller may see, oldest first, keyset-paginated on (created_at, id)."""
    params: dict[str, Any] = {
        "user": user_id,
        "category": category,
        "tag": tag,
        "created_by": created_by,
        "limit": limit,
    }
    query = f"SELECT {TEMPLATE_COLUMNS} FROM project_templates t WHERE {VISIBLE}"
    query += _filters(category, tag, created_by)
    if after is not None:
        query += " AND (t.created_at, t.id) > (%(at)s, %(after)s)"
        params.update(at=after[0], after=after[1])
    query += " ORDER BY t.created_at, t.id LIMIT %(limit)s"
    return await fetch_all(conn, query, params)


async def search(
    conn: AsyncConnection,
    user_id: UUID,
    tsquery: str,
    *,
    category: str | None,
    tag: str | None,
    limit: int,
    offset: int,
) -> list[dict[str, Any]]:
    """Visible templates matching ``tsquery`` (to_tsquery syntax, English), best first
    (ts_rank over the weighted vector; ties by id), with highlighted name and description
    (computed for the page's rows only); a summary of each (how many phases and tasks, not
    the phases themselves: GET the template for those)."""
    params = {
        "q": tsquery,
        "user": user_id,
        "category": category,
        "tag": tag,
        "limit": limit,
        "offset": offset,
    }
    query = (
        "WITH q AS (SELECT to_tsquery('english', %(q)s) AS q),"
        " hits AS (SELECT t.id, ts_rank(t.search, q.q) AS rank FROM project_templates t, q"
        f" WHERE t.search @@ q.q AND {VISIBLE}{_filters(category, tag)}"
        " ORDER BY rank DESC, t.id LIMIT %(limit)s OFFSET %(offset)s)"
        f" SELECT {SUMMARY_COLUMNS}, h.rank,"
        " jsonb_array_length(t.template_data -> 'phases') AS phase_count,"
        " (SELECT count(*) FROM template_tasks k WHERE k.template_id = t.id) AS task_count,"
        f" ts_headline('english', t.name, q.q, '{HEADLINE}, HighlightAll=true') AS name_hl,"
        " ts_headline('english', coalesce(t.description, ''), q.q,"
        f" '{HEADLINE}, MaxFragments=2, MaxWords=25, MinWords=8') AS description_hl"
        " FROM hits h JOIN project_templates t ON t.id = h.id, q ORDER BY h.rank DESC, t.id"
    )
    return await fetch_all(conn, query, params)


async def categories(conn: AsyncConnection, user_id: UUID) -> list[dict[str, Any]]:
    """Each category of the visible templates with how many there are, by name."""
    return await fetch_all(
        conn,
        "SELECT t.category, count(*) AS count FROM project_templates t"
        f" WHERE t.category IS NOT NULL AND {VISIBLE} GROUP BY t.category ORDER BY t.category",
        {"user": user_id},
    )


async def analytics(conn: AsyncConnection, template_id: UUID, today: date) -> dict[str, Any]:
    """Uses per ISO week (UTC), projects made and completed, their milestones' on-time
    figures, and the template's estimated hours against the tracked hours of the tasks it
    created (only tasks with time tracked and an estimate)."""
    params = {"id": template_id, "today": today}
    weeks = await fetch_all(
        conn,
        "SELECT (date_trunc('week', u.used_at AT TIME ZONE 'UTC'))::date AS week_start,"
        " count(*) AS uses FROM template_usage u WHERE u.template_id = %(id)s"
        " GROUP BY 1 ORDER BY 1",
        params,
    )
    projects = await fetch_one(
        conn,
        "SELECT count(*) AS uses, count(p.id) AS projects,"
        " count(*) FILTER (WHERE p.status = 'completed') AS completed"
        " FROM template_usage u LEFT JOIN projects p ON p.id = u.project_id"
        " WHERE u.template_id = %(id)s",
        params,
    )
    milestones = await fetch_one(
        conn,
        "SELECT count(*) FILTER (WHERE ms.status = 'completed') AS completed,"
        " count(*) FILTER (WHERE ms.status = 'completed'"
        "  AND (ms.completed_at AT TIME ZONE 'UTC')::date <= ms.due_date) AS on_time,"
        " count(*) FILTER (WHERE ms.status NOT IN ('completed', 'cancelled')"
        "  AND ms.due_date < %(today)s) AS overdue"
        " FROM milestones ms WHERE ms.project_id IN"
        " (SELECT u.project_id FROM template_usage u WHERE u.template_id = %(id)s)",
        params,
    )
    estimates = await fetch_one(
        conn,
        "SELECT count(*) AS tasks, coalesce(sum(h.hours::numeric), 0) AS estimated_hours,"
        " coalesce(sum(t.actual_hours), 0) AS tracked_hours"
        " FROM template_usage u CROSS JOIN LATERAL jsonb_each_text(u.task_hours) AS h(task_id, hours)"
        " JOIN tasks t ON t.id = h.task_id::uuid"
        " WHERE u.template_id = %(id)s AND h.hours IS NOT NULL AND t.actual_hours > 0",
        params,
    )
    assert projects is not None
    assert milestones is not None
    assert estimates is not None
    return {"weeks": weeks, "projects": projects, "milestones": milestones, "estimates": estimates}


async def project_outline(
    conn: AsyncConnection, project_id: UUID
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A project's milestones and tasks (top-level and subtasks alike), in creation order."""
    milestones = await fetch_all(
        conn,
        "SELECT id, title, description, due_date FROM milestones WHERE project_id = %s"
        " ORDER BY due_date, id",
        (project_id,),
    )
    tasks = await fetch_all(
        conn,
        "SELECT id, milestone_id, title, description, estimated_hours, tags, dependencies"
        " FROM tasks WHERE project_id = %s ORDER BY created_at, id",
        (project_id,),
    )
    return milestones, tasks
