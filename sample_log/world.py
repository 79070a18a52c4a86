"""A realistic event log for the rebuild benchmark, made by the real domain aggregates.

``World`` (here) holds the aggregates and makes the setup, card, task and comment commands;
sample_log/mix.py adds time tracking and administration and ``generate(mapper, target,
sink)``, which drives the aggregates of every context the way the
application services do (same aggregates saved together, same order), encodes each event with
the application's mapper (personal fields encrypted per user) and hands the stored rows to
``sink`` in log order. About ``target`` events (it stops after the operation that reaches it):

- setup: users (+ their e-mail index), workspaces with members, two projects each, a board per
  project (4 columns, the last a done column, 30 cards), tasks (some with a parent);
- activity, chosen at random: mostly card moves, card edits and assignments; comments,
  replies, reactions; task status changes, edits, links; time entries recorded by hand and
  timers (start, pause, resume, stop); now and then members, projects, boards, columns and
  settings change, and cards, comments, tasks and entries are deleted;
- the end: a user is erased, a board, a project and a workspace are deleted.

Returns what a read model built from the log must hold (live cards, workspaces, ...).
"""

from __future__ import annotations

import random
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from domain.comments import Comment
from domain.identity import EmailIndex, User
from domain.kanban import Board, Card
from domain.projects import Project
from domain.tasks import Task, TaskGraph
from domain.time_tracking import TimeEntry, TimeTracker
from domain.workspaces import Workspace

Row = tuple[uuid.UUID, int, str, bytes]
Sink = Callable[[list[Row]], None]
FLUSH_ROWS = 20_000
REACTIONS = ("like", "love", "celebrate")
LABELS = ("bug", "feature", "chore", "ux", "backend", "frontend")


class World:
    def __init__(self, mapper: Any, target: int, sink: Sink, part: int = 0) -> None:
        self.part = part  # one of several generators writing at once: its own users and all
        self.mapper = mapper
        self.target = target
        self.sink = sink
        self.rng = random.Random(7 + part)
        self.events = 0
        self.topics: Counter[str] = Counter()
        self.pending: list[Row] = []
        self.users: list[User] = []
        self.indexes: dict[uuid.UUID, EmailIndex] = {}
        self.workspaces: list[dict[str, Any]] = []  # {"ws": Workspace, "members": [ids]}
        self.ws_by_id: dict[uuid.UUID, dict[str, Any]] = {}
        self.projects: list[dict[str, Any]] = []  # {"p", "ws", "board", "cards", "tasks", ...}
        self.comments: list[Comment] = []
        self.files: list[tuple[Any, dict[str, Any]]] = []  # (File, its project)
        self.trackers: dict[uuid.UUID, TimeTracker] = {}
        self.timers: dict[uuid.UUID, TimeEntry] = {}  # user -> open timer
        self.entries: list[TimeEntry] = []  # closed entries
        self.clock: dict[uuid.UUID, datetime] = {}
        self.base = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)

    # Saving ----------------------------------------------------------------------------------

    def save(self, *aggregates: Any) -> None:
        encode = self.mapper.to_stored_event
        for aggregate in aggregates:
            for event in aggregate.collect_events():
                stored = encode(event)
                self.pending.append(
                    (stored.originator_id, stored.originator_version, stored.topic, stored.state)
                )
                self.topics[stored.topic] += 1
                self.events += 1
        if len(self.pending) >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.sink(self.pending)
            self.pending = []

    # Helpers ---------------------------------------------------------------------------------

    def pick(self, seq: list[Any]) -> Any:
        return seq[self.rng.randrange(len(seq))]

    def recent(self, seq: list[Any], n: int = 5000) -> Any:
        return seq[self.rng.randrange(max(0, len(seq) - n), len(seq))]

    def live_project(self) -> dict[str, Any]:
        while True:
            project = self.pick(self.projects)
            if not project["p"].deleted:
                return project

    def member(self, project: dict[str, Any]) -> uuid.UUID:
        return self.pick(project["ws"]["members"])

    def words(self, n: int) -> str:
        return " ".join(f"w{self.rng.randrange(5000)}" for _ in range(n))

    def tick(self, user_id: uuid.UUID, seconds: int) -> datetime:
        now = self.clock.get(user_id, self.base) + timedelta(seconds=seconds)
        self.clock[user_id] = now
        return now

    def tracker(self, user_id: uuid.UUID) -> TimeTracker:
        if user_id not in self.trackers:
            self.trackers[user_id] = TimeTracker(user_id=user_id)
        return self.trackers[user_id]

    # Setup -----------------------------------------------------------------------------------

    def register(self, i: int) -> User:
        email = f"user{i}.{self.part}@bench.example"
        user = User(email=email, name=f"User {i}", password_hash=f"$2b$04$hash{i:06d}")
        index = EmailIndex(email=email, user_id=user.id)
        self.save(user, index)
        self.indexes[user.id] = index
        self.users.append(user)
        return user

    def create_workspace(self, i: int, members: int) -> None:
        owner = self.pick(self.users).id
        ws = Workspace(
            name=f"Workspace {i}", description=self.words(6), settings={}, owner_id=owner
        )
        ws.update(actor_id=owner, settings={"theme": "dark", "week_start": 1})
        ids = [owner]
        for user in self.rng.sample(self.users, members):
            if user.id not in ws.members:
                ws.add_member(owner, user.id, self.pick(["admin", "member", "member", "viewer"]))
                ids.append(user.id)
        self.save(ws)
        self.workspaces.append({"ws": ws, "members": ids})
        self.ws_by_id[ws.id] = self.workspaces[-1]
        for j in range(2):
            self.create_project(self.workspaces[-1], f"{i}.{j}")

    def create_project(self, ws: dict[str, Any], label: str) -> None:
        owner = ws["ws"].owner_id
        p = Project(
            workspace_id=ws["ws"].id,
            name=f"Project {label}",
            description=self.words(8),
            status="active",
            priority=self.pick(["low", "medium", "high"]),
            start_date=self.base.date(),
            end_date=None,
            budget=Decimal("25000.00"),
            owner_id=owner,
            settings={},
            actor_id=owner,
        )
        for user_id in ws["members"][1:3]:
            p.add_member(owner, user_id, "contributor")
        self.save(p)
        board = Board(
            workspace_id=p.workspace_id,
            project_id=p.id,
            name=f"Board {label}",
            description=None,
            settings={},
            actor_id=owner,
        )
        columns = []
        for name, done in (("To do", False), ("Doing", False), ("Review", False), ("Done", True)):
            column_id = uuid.uuid4()
            board.add_column(owner, column_id, name, "#336699", None, done)
            columns.append(column_id)
        self.save(board)
        project = {"p": p, "ws": ws, "board": board, "columns": columns, "cards": []}
        project["tasks"] = []
        project["graph"] = None
        self.projects.append(project)
        for _ in range(30):
            self.create_card(project)
        for _ in range(15):
            self.create_task(project)

    # Cards -----------------------------------------------------------------------------------

    def create_card(self, project: dict[str, Any]) -> None:
        board, actor = project["board"], self.member(project)
        card = Card(
            workspace_id=board.workspace_id,
            project_id=board.project_id,
            board_id=board.id,
            title=f"Card {self.words(3)}",
            description=self.words(12),
            priority=self.pick(["low", "medium", "high", "urgent"]),
            due_date=None,
            estimated_hours=Decimal(self.rng.randrange(1, 40)),
            assignee_id=None,
            labels=self.rng.sample(LABELS, 2),
            actor_id=actor,
        )
        board.place_card(actor, card.id, self.pick(project["columns"][:3]), None)
        self.save(card, board)
        project["cards"].append(card)

    def move_card(self, project: dict[str, Any]) -> None:
        board, card = project["board"], self.pick(project["cards"])
        column = self.pick(project["columns"])
        position = self.rng.randrange(len(project["cards"]) // 4 + 1)
        if board.move_card(self.member(project), card.id, column, position):
            self.save(board)

    def edit_card(self, project: dict[str, Any]) -> None:
        card = self.pick(project["cards"])
        field = self.pick(["title", "description", "priority", "labels", "estimated_hours", "due"])
        if field == "title":
            fields: dict[str, Any] = {"title": f"Card {self.words(3)}"}
        elif field == "description":
            fields = {"description": self.words(15)}
        elif field == "priority":
            fields = {"priority": self.pick(["low", "medium", "high", "urgent"])}
        elif field == "labels":
            fields = {"labels": self.rng.sample(LABELS, self.rng.randrange(1, 4))}
        elif field == "estimated_hours":
            fields = {"estimated_hours": Decimal(self.rng.randrange(1, 80)) / 2}
        else:
            fields = {"due_date": self.base + timedelta(days=self.rng.randrange(1, 90))}
        card.edit(self.member(project), **fields)
        self.save(card)

    def assign_card(self, project: dict[str, Any]) -> None:
        card = self.pick(project["cards"])
        card.edit(self.member(project), assignee_id=self.member(project))
        self.save(card)

    def delete_card(self, project: dict[str, Any]) -> None:
        if len(project["cards"]) < 10:
            return
        card = project["cards"].pop(self.rng.randrange(len(project["cards"])))
        actor = self.member(project)
        card.delete(actor)
        project["board"].remove_card(actor, card.id)
        self.save(card, project["board"])

    # Tasks -----------------------------------------------------------------------------------

    def create_task(self, project: dict[str, Any]) -> None:
        p, actor = project["p"], self.member(project)
        tasks = project["tasks"]
        parent = self.pick(tasks) if tasks and self.rng.random() < 0.2 else None
        task = Task(
            workspace_id=p.workspace_id,
            project_id=p.id,
            title=f"Task {self.words(3)}",
            description=self.words(10),
            status="todo",
            priority=self.pick(["low", "medium", "high", "urgent"]),
            estimated_hours=Decimal(self.rng.randrange(1, 24)),
            assignee_id=None,
            due_date=None,
            tags=["bench"],
            milestone_id=None,
            parent_task_id=parent.id if parent else None,
            dependencies=[],
            actor_id=actor,
        )
        changed: list[Any] = [task]
        if parent is not None:
            graph = project["graph"] or TaskGraph(p.workspace_id, p.id, actor)
            project["graph"] = graph
            graph.link(actor, task.id, parent.id, [])
            changed.append(graph)
        self.save(*changed)
        tasks.append(task)

    def task_status(self, project: dict[str, Any]) -> None:
        task = self.pick(project["tasks"])
        task.change_status(
            self.member(project), self.pick(["todo", "in_progress", "review", "done"])
        )
        self.save(task)

    def task_update(self, project: dict[str, Any]) -> None:
        task, actor = self.pick(project["tasks"]), self.member(project)
        if self.rng.random() < 0.3:
            task.assign(actor, self.member(project))
        else:
            task.update(actor, title=f"Task {self.words(3)}", priority=self.pick(["low", "high"]))
        self.save(task)

    def task_link(self, project: dict[str, Any]) -> None:
        """Make one task depend on another (the service: graph and task saved together)."""
        tasks, actor, p = project["tasks"], self.member(project), project["p"]
        task, other = self.pick(tasks), self.pick(tasks)
        graph = project["graph"] or TaskGraph(p.workspace_id, p.id, actor)
        deps = [*task.dependencies, other.id] if other.id not in task.dependencies else []
        if other is task or graph.dependency_cycle(str(task.id), [str(d) for d in deps]):
            return
        project["graph"] = graph
        graph.link(actor, task.id, task.parent_task_id, deps)
        task.change_dependencies(actor, deps)
        self.save(task, graph)

    def delete_task(self, project: dict[str, Any]) -> None:
        """A task nothing hangs on (no subtasks, no dependents), as the service deletes it."""
        tasks, actor, p = project["tasks"], self.member(project), project["p"]
        task = self.pick(tasks)
        graph = project["graph"] or TaskGraph(p.workspace_id, p.id, actor)
        if len(tasks) < 8 or graph.children_of(task.id) or graph.dependents_of({str(task.id)}):
            return
        project["graph"] = graph
        graph.remove(actor, task.id)
        task.delete(actor)
        tasks.remove(task)
        self.save(task, graph)

    # Comments --------------------------------------------------------------------------------

    def comment(self, project: dict[str, Any]) -> None:
        p, actor, roll = project["p"], self.member(project), self.rng.random()
        parent = None
        if roll < 0.7:
            kind, target = "card", self.pick(project["cards"]).id
        elif roll < 0.95:
            kind, target = "task", self.pick(project["tasks"]).id
        else:
            kind, target = "project", p.id
        if self.comments and self.rng.random() < 0.2:
            parent = self.recent(self.comments, 50)
            if parent.deleted or parent.project_id != p.id:
                parent = None
            else:
                kind, target = parent.commentable_type, parent.commentable_id
        comment = Comment(
            workspace_id=p.workspace_id,
            project_id=p.id,
            commentable_type=kind,
            commentable_id=target,
            parent_comment_id=parent.id if parent else None,
            content=self.words(12),
            actor_id=actor,
        )
        self.save(comment)
        self.comments.append(comment)

    def comment_activity(self, roll: float) -> None:
        if not self.comments:
            return
        comment = self.recent(self.comments)
        if comment.deleted:
            return
        actor = self.pick(self.ws_by_id[comment.workspace_id]["members"])
        reaction = self.pick(REACTIONS)
        if roll < 0.6:
            if not comment.has_reaction(actor, reaction):
                comment.react(actor, reaction)
        elif roll < 0.75:
            mine = comment.reactions.get(str(actor))
            if mine:
                comment.unreact(actor, mine[0])
        elif roll < 0.95:
            comment.edit(comment.author_id, self.words(10))
        else:
            comment.delete(comment.author_id, moderator=False)
        self.save(comment)
