"""The aggregates a Trello import plan (application/imports_trello.py) makes, pure: the
service saves them in one atomic append (application/imports.py).

Ids are deterministic: uuid5 of the workspace, the kind and the Trello id (``imported_id``;
the board's id with it for what is on the board), so the same export imported twice into one
workspace names the same project, and a second import finds it there and makes nothing; into
another workspace it makes a copy of its own.

What maps to what:

- the board → a project (status ``active``, owned by whoever imports) and its board;
- lists → columns in ``pos`` order; archived (closed) lists are skipped with their cards,
  unless ``include_archived_lists`` (then kept as ordinary columns);
- cards → cards in ``pos`` order within their column, with title, description, labels as
  tags (a label's name, or its colour when unnamed), due date, the first assignee matched
  by e-mail, and the archived state (``is_archived``);
- checklists → tasks of the project: cards have no subtasks, and tasks do (``parent_task_id``),
  so each checklist is a task named "<card>: <checklist>" whose subtasks are its items, in
  order, ``done`` when the item is complete (``todo`` otherwise); the parent is ``done`` when
  every item is. Items keep their due date and their member (matched by e-mail);
- ``commentCard`` actions → comments on their card, oldest first: by the matched member
  when the author is one, else by whoever imports, the text headed by the original author's
  name and the date;
- Trello members are matched to workspace members by e-mail (an export usually carries no
  e-mail: those are left unassigned and listed in the report).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from application.comments import MAX_CONTENT, sanitize
from domain.comments import Comment
from domain.kanban import Board, Card
from domain.projects import Project
from domain.shared import name_based_id
from domain.tasks import Task, TaskGraph

Progress = Callable[[int, int], None]


def imported_id(workspace_id: UUID, kind: str, trello_id: str) -> UUID:
    return name_based_id(f"import:trello:{kind}", f"{workspace_id}:{trello_id}")


def _when(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if value else None


def comment_html(text: str, author: str | None, date: str | None) -> str:
    """A comment's content: its text as paragraphs, headed by the original author and date
    when ``author`` is given (the author is not a workspace member)."""
    body = "".join(
        f"<p>{html.escape(part).replace(chr(10), '<br>')}</p>"
        for part in text.replace("\r\n", "\n").split("\n\n")
        if part.strip()
    )
    head = ""
    if author is not None:
        moment = _when(date)
        stamp = f" on {moment:%Y-%m-%d %H:%M} UTC" if moment else ""
        head = f"<p><strong>{html.escape(author or 'Someone')}</strong> wrote{stamp} (Trello):</p>"
    room = MAX_CONTENT - len(head) - 16
    if len(body) > room:  # cut, without half an entity or tag (the parser closes the <p>)
        cut = body[:room]
        if cut.rfind("&") > cut.rfind(";"):
            cut = cut[: cut.rfind("&")]
        if cut.rfind("<") > cut.rfind(">"):
            cut = cut[: cut.rfind("<")]
        body = cut + "…"
    return sanitize(head + body)


def match_members(
    plan: dict[str, Any], emails: dict[str, UUID]
) -> tuple[dict[str, UUID], list[dict[str, Any]]]:
    """Trello member id → workspace member's user id (by e-mail), and the unmatched."""
    matched: dict[str, UUID] = {}
    unmatched = []
    for member in plan["members"]:
        user_id = emails.get(member["email"]) if member["email"] else None
        if user_id is not None:
            matched[member["id"]] = user_id
            continue
        unmatched.append(
            {
                "trello_id": member["id"],
                "name": member["name"],
                "username": member["username"],
                "reason": "no workspace member has this e-mail"
                if member["email"]
                else "the export has no e-mail for this member",
            }
        )
    return matched, unmatched


def build_trello(
    plan: dict[str, Any],
    *,
    workspace_id: UUID,
    actor_id: UUID,
    emails: dict[str, UUID],
    include_archived_lists: bool = False,
    progress: Progress | None = None,
) -> tuple[dict[str, Any], list[Any]]:
    """(what was made: ids, counts, report; the aggregates to save, in order)."""

    board_key = plan["board"]["id"]

    def ident(kind: str, trello_id: str) -> UUID:  # within the board: copies stay apart
        if kind in ("project", "board"):
            return imported_id(workspace_id, kind, trello_id)
        return imported_id(workspace_id, kind, f"{board_key}/{trello_id}")

    members, unmatched = match_members(plan, emails)
    names = {m["id"]: m["name"] or m["username"] for m in plan["members"]}
    source = plan["board"]
    project = Project._create(
        Project.Created,
        id=ident("project", source["id"]),
        workspace_id=workspace_id,
        name=source["name"],
        description=source["desc"],
        status="active",
        priority="medium",
        start_date=None,
        end_date=None,
        budget=None,
        owner_id=actor_id,
        settings={"imported_from": "trello", "trello_board_id": source["id"]},
        actor_id=actor_id,
    )
    scope = {"workspace_id": workspace_id, "project_id": project.id}
    board = Board._create(
        Board.Created,
        id=ident("board", source["id"]),
        **scope,
        name=source["name"],
        description=source["desc"],
        settings={},
        actor_id=actor_id,
    )
    counts = dict.fromkeys(
        ("columns", "cards", "archived_cards", "tasks", "subtasks", "done_subtasks", "comments"),
        0,
    )
    skipped_lists: list[str] = []
    columns: dict[str, UUID] = {}
    for lst in plan["lists"]:
        if lst["closed"] and not include_archived_lists:
            skipped_lists.append(lst["name"])
            continue
        columns[lst["id"]] = ident("list", lst["id"])
        board.add_column(
            actor_id=actor_id,
            column_id=columns[lst["id"]],
            name=lst["name"],
            color=None,
            wip_limit=None,
            is_done_column=False,
        )
        counts["columns"] += 1
    cards: dict[str, Card] = {}
    titles: dict[str, str] = {}
    more_members = 0
    placed: dict[str, list[UUID]] = {}
    skipped_cards = 0
    total = len(plan["cards"])
    for done, spec in enumerate(plan["cards"], 1):
        if progress is not None and (done % 50 == 0 or done == total):
            progress(done, total)
        if spec["list"] not in columns:
            skipped_cards += 1
            continue
        assignees = [members[m] for m in spec["members"] if m in members]
        more_members += len(assignees) > 1
        card = Card._create(
            Card.Created,
            id=ident("card", spec["id"]),
            **scope,
            board_id=board.id,
            title=spec["name"],
            description=spec["desc"],
            priority="medium",
            due_date=_when(spec["due"]),
            estimated_hours=None,
            assignee_id=assignees[0] if assignees else None,
            labels=list(spec["labels"]),
            actor_id=actor_id,
        )
        placed.setdefault(spec["list"], []).append(card.id)
        if spec["closed"]:
            card.edit(actor_id=actor_id, is_archived=True)
            counts["archived_cards"] += 1
        cards[spec["id"]] = card
        titles[spec["id"]] = spec["name"]
        counts["cards"] += 1

    for list_id, card_ids in placed.items():  # in pos order, after what is there
        board.append_cards(actor_id=actor_id, column_id=columns[list_id], card_ids=card_ids)

    tasks: list[Task] = []
    graph = TaskGraph(actor_id=actor_id, **scope)
    for checklist in plan["checklists"]:
        if checklist["card"] not in cards:
            continue
        card_title = titles[checklist["card"]]
        items = checklist["items"]
        parent = Task._create(
            Task.Created,
            id=ident("checklist", checklist["id"]),
            **scope,
            title=f"{card_title}: {checklist['name']}"[:255],
            description=f"Checklist “{checklist['name']}” of the card “{card_title}” (Trello).",
            status="done" if items and all(i["done"] for i in items) else "todo",
            priority="medium",
            estimated_hours=None,
            assignee_id=None,
            due_date=None,
            tags=[],
            milestone_id=None,
            parent_task_id=None,
            dependencies=[],
            actor_id=actor_id,
        )
        tasks.append(parent)
        counts["tasks"] += 1
        for item in items:
            child = Task._create(
                Task.Created,
                id=ident("checkItem", item["id"]),
                **scope,
                title=item["name"],
                description=None,
                status="done" if item["done"] else "todo",
                priority="medium",
                estimated_hours=None,
                assignee_id=members.get(item["member"]) if item["member"] else None,
                due_date=_when(item["due"]),
                tags=[],
                milestone_id=None,
                parent_task_id=parent.id,
                dependencies=[],
                actor_id=actor_id,
            )
            graph.link(actor_id, child.id, parent.id, [])
            tasks.append(child)
            counts["subtasks"] += 1
            counts["done_subtasks"] += item["done"]

    comments: list[Comment] = []
    for spec in plan["comments"]:
        card = cards.get(spec["card"])
        if card is None:
            continue
        author = members.get(spec["author"]) if spec["author"] else None
        original = None if author else (spec["author_name"] or names.get(spec["author"] or ""))
        comments.append(
            Comment._create(
                Comment.Created,
                id=ident("comment", spec["id"]),
                **scope,
                commentable_type="card",
                commentable_id=card.id,
                parent_comment_id=None,
                content=comment_html(
                    spec["text"], None if author else (original or ""), spec["date"]
                ),
                actor_id=author or actor_id,
            )
        )
        counts["comments"] += 1

    made = [project, board, *cards.values(), *tasks]
    if graph.pending_events[1:]:
        made.append(graph)
    made += comments
    report = {
        "unmatched_members": unmatched,
        "skipped_lists": skipped_lists,
        "skipped_cards": skipped_cards,
        "cards_with_more_members": more_members,
    }
    result = {"project_id": project.id, "board_id": board.id, "counts": counts, "report": report}
    return result, made
