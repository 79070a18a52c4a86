"""Reading WorkSync's own workspace export (application/exports_format.py, ``format_version``
1) back into a workspace, pure: the aggregates the service saves in one atomic append
(application/imports.py).

What comes back: projects (name, description, status, priority, dates, budget, settings,
owner, members), their boards, columns (order, colour, WIP limit, done), cards (order in
their column, title, description, priority, due date, estimate, assignee, labels, archived
state), tasks (status, priority, estimate, assignee, due date, tags, parent, dependencies) and
comments (on cards, tasks and projects, with their threads). People are kept when they are
members of the target workspace (owner, project members, assignees, creators and comment
authors), else the importer stands in for them (and assignees are left out). Not imported:
time entries, milestones and deliverables (tasks lose their milestone), resource allocations,
team members, files and attachments, reactions, and the history (each object is made as it
is now, by one event per aggregate and its changes).

Ids are uuid5 of the target workspace, the kind and the exported id, as for Trello: an
export imported twice into one workspace makes nothing the second time.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from application.comments import sanitize
from application.exports_format import FORMAT, FORMAT_VERSION
from application.imports_trello import CONTROL, MAX_NAME, BadImport
from domain.comments import Comment
from domain.kanban import CARD_PRIORITIES, Board, Card
from domain.projects import PROJECT_PRIORITIES, PROJECT_STATUSES, Project
from domain.shared import name_based_id
from domain.tasks import Task, TaskGraph

KINDS = ("projects", "project_members", "boards", "columns", "cards", "tasks", "comments")


def worksync_id(workspace_id: UUID, kind: str, old_id: Any) -> UUID:
    return name_based_id(f"import:worksync:{kind}", f"{workspace_id}:{old_id}")


def check_worksync(doc: Any) -> dict[str, list[dict[str, Any]]]:
    """The collections of a WorkSync export this import reads (BadImport otherwise)."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise BadImport(f"this is not a WorkSync workspace export (format {FORMAT!r})")
    if doc.get("format_version") != FORMAT_VERSION:
        raise BadImport(f"format_version {doc.get('format_version')!r} is not {FORMAT_VERSION}")
    collections = doc.get("collections")
    if not isinstance(collections, dict):
        raise BadImport("collections must be an object")
    out = {}
    for kind in KINDS:
        rows = collections.get(kind, [])
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise BadImport(f"collections.{kind} must be an array of objects")
        out[kind] = rows
    return out


def _name(value: Any, where: str) -> str:
    """A name as the API takes it: one line, 1 to 255 characters (else BadImport)."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_NAME:
        raise BadImport(f"{where} must be a name of 1 to {MAX_NAME} characters")
    if CONTROL.search(value) or "\n" in value or "\t" in value or "\r" in value:
        raise BadImport(f"{where} has control characters")
    return value


def _text(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or CONTROL.search(value) or len(value) > 100_000:
        raise BadImport(f"{where} must be text without control characters")
    return value


def _choice(value: Any, allowed: tuple[str, ...], where: str) -> str:
    if value not in allowed:
        raise BadImport(f"{where} must be one of {', '.join(allowed)}")
    return value


def _decimal(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _moment(value: Any) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _day(value: Any) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _color(value: Any) -> str | None:
    if value is not None and not (isinstance(value, str) and len(value) <= 7):
        raise BadImport("columns[].color must be a colour such as #1f6feb")
    return value


def build_worksync(
    rows: dict[str, list[dict[str, Any]]],
    *,
    workspace_id: UUID,
    actor_id: UUID,
    members: set[UUID],
) -> tuple[dict[str, Any], list[Any]]:
    """(what was made: counts; the aggregates to save). A malformed row is BadImport."""
    try:
        return _build(rows, workspace_id, actor_id, members)
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise BadImport(f"the WorkSync export is malformed: {type(e).__name__} {e}") from None


def _build(
    rows: dict[str, list[dict[str, Any]]], workspace_id: UUID, actor_id: UUID, members: set[UUID]
) -> tuple[dict[str, Any], list[Any]]:
    def new(kind: str, old: Any) -> UUID:
        return worksync_id(workspace_id, kind, old)

    def person(user: Any) -> UUID | None:
        return UUID(user) if user and UUID(user) in members else None

    projects: dict[str, Project] = {}
    for row in rows["projects"]:
        owner = person(row["owner_id"]) or actor_id
        projects[row["id"]] = Project._create(
            Project.Created,
            id=new("project", row["id"]),
            workspace_id=workspace_id,
            name=_name(row["name"], "projects[].name"),
            description=_text(row["description"], "projects[].description"),
            status=_choice(row["status"], PROJECT_STATUSES, "projects[].status"),
            priority=_choice(row["priority"], PROJECT_PRIORITIES, "projects[].priority"),
            start_date=_day(row["start_date"]),
            end_date=_day(row["end_date"]),
            budget=_decimal(row["budget"]),
            owner_id=owner,
            settings=row["settings"] or {},
            actor_id=person(row["owner_id"]) or actor_id,
        )
    for row in sorted(rows["project_members"], key=lambda r: (r["joined_at"] or "", r["id"])):
        project, user = projects.get(row["project_id"]), person(row["user_id"])
        if project is not None and user is not None and str(user) not in project.members:
            project.add_member(actor_id=actor_id, user_id=user, role=row["role"])

    boards: dict[str, Board] = {}
    for row in rows["boards"]:
        project = projects[row["project_id"]]
        boards[row["id"]] = Board._create(
            Board.Created,
            id=new("board", row["id"]),
            workspace_id=workspace_id,
            project_id=project.id,
            name=_name(row["name"], "boards[].name"),
            description=_text(row["description"], "boards[].description"),
            settings=row["settings"] or {},
            actor_id=actor_id,
        )
    column_board: dict[str, Board] = {}
    for row in sorted(rows["columns"], key=lambda r: (r["board_id"], r["position"])):
        board = boards[row["board_id"]]
        board.add_column(
            actor_id=actor_id,
            column_id=new("column", row["id"]),
            name=_name(row["name"], "columns[].name"),
            color=_color(row["color"]),
            wip_limit=None if row["wip_limit"] is None else int(row["wip_limit"]),
            is_done_column=bool(row["is_done_column"]),
        )
        column_board[row["id"]] = board
    cards: dict[str, Card] = {}
    placed: dict[str, tuple[Board, list[UUID]]] = {}
    for row in sorted(rows["cards"], key=lambda r: (r["column_id"] or "", r["position"])):
        board = boards[row["board_id"]]
        card = Card._create(
            Card.Created,
            id=new("card", row["id"]),
            workspace_id=workspace_id,
            project_id=board.project_id,
            board_id=board.id,
            title=_name(row["title"], "cards[].title"),
            description=_text(row["description"], "cards[].description"),
            priority=_choice(row["priority"], CARD_PRIORITIES, "cards[].priority"),
            due_date=_moment(row["due_date"]),
            estimated_hours=_decimal(row["estimated_hours"]),
            assignee_id=person(row["assignee_id"]),
            labels=[_name(label, "cards[].labels[]")[:50] for label in row["labels"] or []],
            actor_id=person(row["created_by"]) or actor_id,
        )
        if row["column_id"] is not None:
            placed.setdefault(row["column_id"], (board, []))[1].append(card.id)
        if row.get("is_archived"):
            card.edit(actor_id=actor_id, is_archived=True)
        cards[row["id"]] = card

    for column, (board, card_ids) in placed.items():  # in order; as full as exported
        limit = board.column(new("column", column))["wip_limit"]
        over = limit is not None and len(card_ids) > limit
        board.append_cards(
            actor_id=actor_id,
            column_id=new("column", column),
            card_ids=card_ids,
            override_reason="over its WIP limit in the imported export" if over else None,
        )

    tasks: dict[str, Task] = {}
    graphs: dict[UUID, TaskGraph] = {}
    for row in rows["tasks"]:
        project = projects[row["project_id"]]
        tasks[row["id"]] = Task._create(
            Task.Created,
            id=new("task", row["id"]),
            workspace_id=workspace_id,
            project_id=project.id,
            title=_name(row["title"], "tasks[].title"),
            description=_text(row["description"], "tasks[].description"),
            status=row["status"],
            priority=row["priority"],
            estimated_hours=_decimal(row["estimated_hours"]),
            assignee_id=person(row["assignee_id"]),
            due_date=_moment(row["due_date"]),
            tags=[_name(tag, "tasks[].tags[]") for tag in row["tags"] or []],
            milestone_id=None,
            parent_task_id=new("task", row["parent_task_id"]) if row["parent_task_id"] else None,
            dependencies=[new("task", d) for d in row["dependencies"] or []],
            actor_id=person(row["created_by"]) or actor_id,
        )
    for task in tasks.values():
        if task.parent_task_id is None and not task.dependencies:
            continue
        graph = graphs.get(task.project_id)
        if graph is None:
            graph = graphs[task.project_id] = TaskGraph(
                workspace_id=workspace_id, project_id=task.project_id, actor_id=actor_id
            )
        graph.link(actor_id, task.id, task.parent_task_id, list(task.dependencies))

    comments: list[Comment] = []
    targets = {"card": cards, "task": tasks, "project": projects}
    by_id = {row["id"]: row for row in rows["comments"]}

    def depth(row: dict[str, Any]) -> int:  # parents before their replies
        n, seen = 0, set()
        while row["parent_comment_id"] in by_id and row["id"] not in seen:
            seen.add(row["id"])
            row, n = by_id[row["parent_comment_id"]], n + 1
        return n

    for row in sorted(rows["comments"], key=lambda r: (depth(r), r["created_at"], r["id"])):
        target = targets[row["commentable_type"]].get(row["commentable_id"])
        if target is None:
            continue
        project_id = target.id if isinstance(target, Project) else target.project_id
        parent = row["parent_comment_id"]
        comments.append(
            Comment._create(
                Comment.Created,
                id=new("comment", row["id"]),
                workspace_id=workspace_id,
                project_id=project_id,
                commentable_type=row["commentable_type"],
                commentable_id=target.id,
                parent_comment_id=new("comment", parent) if parent in by_id else None,
                content=sanitize(row["content"]),
                actor_id=person(row["user_id"]) or actor_id,
            )
        )
    made = [*projects.values(), *boards.values(), *cards.values(), *tasks.values()]
    made += [*graphs.values(), *comments]
    counts = {
        "projects": len(projects),
        "boards": len(boards),
        "columns": len(column_board),
        "cards": len(cards),
        "tasks": len(tasks),
        "comments": len(comments),
    }
    return {"counts": counts, "project_ids": [p.id for p in projects.values()]}, made
