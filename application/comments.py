"""Comments use cases: on cards, tasks and projects. Content is sanitized (nh3, a small safe set
of tags) before it reaches the domain, so the log never holds a script or an event handler."""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import UUID

import nh3

from application.access import live_project, require
from application.adapters.store import EventStore, Saved, check_version
from application.authorization import Action, allowed, authorize
from application.errors import NotFound
from application.tasks import invalid, live_task
from domain.comments import Comment
from domain.kanban import Card
from domain.projects import Project

MAX_CONTENT = 20_000
ALLOWED_TAGS = frozenset(
    {"b", "i", "em", "strong", "code", "pre", "a", "ul", "ol", "li", "p", "br", "blockquote"}
)
ALLOWED_ATTRIBUTES = {"*": set(), "a": {"href"}}  # "*": no generic attributes (title, lang)
URL_SCHEMES = frozenset({"http", "https", "mailto"})
# Character references (&#1;) decode to control characters, which the API refuses as text.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def sanitize(content: str) -> str:
    """Safe HTML: allowed tags kept, scripts and styles dropped with their content, every
    other tag and every attribute but a[href] (http, https, mailto) stripped."""
    clean = nh3.clean(
        content,
        tags=set(ALLOWED_TAGS),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    clean = CONTROL_CHARACTERS.sub("", clean).strip()
    if not nh3.clean(clean, tags=set()).strip():
        raise invalid("content", "the content is empty once unsafe markup is removed")
    if len(clean) > MAX_CONTENT:
        raise invalid("content", f"the content is longer than {MAX_CONTENT} characters")
    return clean


@dataclass(frozen=True)
class Target:
    """The object a comment is on, and the caller's role where it lives."""

    type: str
    id: UUID
    workspace_id: UUID
    project_id: UUID
    role: str


class CommentsService:
    def __init__(self, store: EventStore) -> None:
        self.store = store

    def target(self, type_: str, object_id: UUID, actor_id: UUID, action: Action) -> Target:
        """A live card, task or project the caller may act on, or NotFound/Forbidden."""
        if type_ == "card":
            card = self.store.load(Card, object_id, "card")
            if card.deleted:
                raise NotFound("card not found")
            role = require(self.store, card.workspace_id, actor_id, action, "card")
            project = self.store.load(Project, card.project_id, "card")
            if project.deleted:
                raise NotFound("card not found")
            return Target(type_, object_id, card.workspace_id, card.project_id, role)
        if type_ == "task":
            task = live_task(self.store, object_id, actor_id, action)
            role = require(self.store, task.workspace_id, actor_id, action, "task")
            return Target(type_, object_id, task.workspace_id, task.project_id, role)
        if type_ == "project":
            project = live_project(self.store, object_id, actor_id, action)
            role = require(self.store, project.workspace_id, actor_id, action, "project")
            return Target(type_, object_id, project.workspace_id, project.id, role)
        raise NotFound(f"no comments on a {type_}")

    def _comment(self, comment_id: UUID, actor_id: UUID, action: Action) -> tuple[Comment, Target]:
        """A live comment, in a live thread, on a live object the caller may act on."""
        comment = self.store.load(Comment, comment_id, "comment")
        ancestor: Comment | None = comment
        while ancestor is not None:
            if ancestor.deleted:
                raise NotFound("comment not found")
            parent_id = ancestor.parent_comment_id
            ancestor = self.store.load(Comment, parent_id) if parent_id else None
        target = self.target(comment.commentable_type, comment.commentable_id, actor_id, action)
        return comment, target

    def create(
        self,
        *,
        commentable_type: str,
        commentable_id: UUID,
        actor_id: UUID,
        content: str,
        parent_comment_id: UUID | None = None,
    ) -> Saved:
        content = sanitize(content)

        def command() -> tuple[UUID, list[Comment]]:
            target = self.target(commentable_type, commentable_id, actor_id, Action.COMMENT_WRITE)
            if parent_comment_id is not None:
                self._check_parent(parent_comment_id, commentable_type, commentable_id)
            comment = Comment(
                workspace_id=target.workspace_id,
                project_id=target.project_id,
                commentable_type=commentable_type,
                commentable_id=commentable_id,
                parent_comment_id=parent_comment_id,
                content=content,
                actor_id=actor_id,
            )
            return comment.id, [comment]

        return self.store.run(command)

    def _check_parent(self, parent_id: UUID, commentable_type: str, commentable_id: UUID) -> None:
        try:
            parent = self.store.load(Comment, parent_id)
        except NotFound:
            parent = None
        if parent is None or parent.deleted or not parent.is_on(commentable_type, commentable_id):
            raise invalid("parent_comment_id", "the parent must be a comment on the same object")

    def edit(
        self, *, comment_id: UUID, actor_id: UUID, expected_version: int | None, content: str
    ) -> Saved:
        """Only the author edits (and only while their role may write comments)."""
        content = sanitize(content)

        def command() -> tuple[None, list[Comment]]:
            comment, _ = self._comment(comment_id, actor_id, Action.COMMENT_WRITE)
            check_version(comment, expected_version)
            comment.edit(actor_id, content)
            return None, [comment]

        return self.store.run(command)

    def delete(self, *, comment_id: UUID, actor_id: UUID, expected_version: int | None) -> Saved:
        """The author (with a role that writes comments) or a moderator (owner, admin)."""

        def command() -> tuple[None, list[Comment]]:
            comment, target = self._comment(comment_id, actor_id, Action.COMMENT_READ)
            moderator = allowed(target.role, Action.COMMENT_MODERATE)
            if not moderator:
                authorize(target.role, Action.COMMENT_WRITE, what="comment")
            check_version(comment, expected_version)
            comment.delete(actor_id, moderator=moderator)
            return None, [comment]

        return self.store.run(command)

    def react(self, *, comment_id: UUID, actor_id: UUID, reaction: str) -> Saved:
        def command() -> tuple[None, list[Comment]]:
            comment, _ = self._comment(comment_id, actor_id, Action.COMMENT_WRITE)
            comment.react(actor_id, reaction)
            return None, [comment]

        return self.store.run(command)

    def unreact(self, *, comment_id: UUID, actor_id: UUID, reaction: str) -> Saved:
        def command() -> tuple[None, list[Comment]]:
            comment, _ = self._comment(comment_id, actor_id, Action.COMMENT_WRITE)
            comment.unreact(actor_id, reaction)
            return None, [comment]

        return self.store.run(command)
