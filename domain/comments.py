"""Comments: one unified kind of comment on a card, a task or a project, with threads,
edits by the author, deletion by the author or a moderator, and reactions (one per user per
reaction). Content arrives already sanitized: the domain stores what it is given."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from domain.shared import Gone, Missing, NotPermitted, RuleBroken

COMMENTABLE_TYPES = ("card", "task", "project")
REACTIONS = ("like", "love", "laugh", "wow", "sad", "celebrate")


class Comment(Aggregate):
    @event("Created")
    def __init__(
        self,
        workspace_id: UUID,
        project_id: UUID,
        commentable_type: str,
        commentable_id: UUID,
        parent_comment_id: UUID | None,
        content: str,
        actor_id: UUID,
    ) -> None:
        if commentable_type not in COMMENTABLE_TYPES:
            raise RuleBroken(f"comments cannot be attached to a {commentable_type!r}")
        self.workspace_id = workspace_id
        self.project_id = project_id
        self.commentable_type = commentable_type
        self.commentable_id = commentable_id
        self.parent_comment_id = parent_comment_id
        self.content = content
        self.author_id = actor_id
        self.is_edited = False
        self.reactions: dict[str, list[str]] = {}  # user id -> reactions, in order given
        self.deleted = False

    def _check_live(self) -> None:
        if self.deleted:
            raise Gone("comment not found")

    def is_on(self, commentable_type: str, commentable_id: UUID) -> bool:
        return (self.commentable_type, self.commentable_id) == (commentable_type, commentable_id)

    def _scope(self, actor_id: UUID) -> dict[str, Any]:
        return {
            "actor_id": actor_id,
            "workspace_id": self.workspace_id,
            "project_id": self.project_id,
            "commentable_type": self.commentable_type,
            "commentable_id": self.commentable_id,
        }

    def edit(self, actor_id: UUID, content: str) -> None:
        """Only the author may edit; an edit that changes nothing is not recorded."""
        self._check_live()
        if actor_id != self.author_id:
            raise NotPermitted("only the author may edit a comment")
        if content != self.content:
            self._edited(**self._scope(actor_id), content=content)

    @event("Edited")
    def _edited(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        project_id: UUID,
        commentable_type: str,
        commentable_id: UUID,
        content: str,
    ) -> None:
        self.content = content
        self.is_edited = True

    def delete(self, actor_id: UUID, *, moderator: bool) -> None:
        """The author may delete their comment; a moderator may delete anyone's."""
        self._check_live()
        if actor_id != self.author_id and not moderator:
            raise NotPermitted("only the author or a workspace owner or admin may delete it")
        self._deleted(**self._scope(actor_id))

    @event("Deleted")
    def _deleted(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        project_id: UUID,
        commentable_type: str,
        commentable_id: UUID,
    ) -> None:
        self.deleted = True

    def has_reaction(self, user_id: UUID, reaction: str) -> bool:
        return reaction in self.reactions.get(str(user_id), [])

    def react(self, actor_id: UUID, reaction: str) -> None:
        self._check_live()
        if reaction not in REACTIONS:
            raise RuleBroken(f"unknown reaction {reaction!r}")
        if self.has_reaction(actor_id, reaction):
            raise RuleBroken(f"you have already reacted with {reaction!r}", reaction=reaction)
        self._reaction_added(**self._scope(actor_id), reaction=reaction)

    @event("ReactionAdded")
    def _reaction_added(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        project_id: UUID,
        commentable_type: str,
        commentable_id: UUID,
        reaction: str,
    ) -> None:
        self.reactions.setdefault(str(actor_id), []).append(reaction)

    def unreact(self, actor_id: UUID, reaction: str) -> None:
        self._check_live()
        if not self.has_reaction(actor_id, reaction):
            raise Missing(f"you have not reacted with {reaction!r}")
        self._reaction_removed(**self._scope(actor_id), reaction=reaction)

    @event("ReactionRemoved")
    def _reaction_removed(
        self,
        actor_id: UUID,
        workspace_id: UUID,
        project_id: UUID,
        commentable_type: str,
        commentable_id: UUID,
        reaction: str,
    ) -> None:
        mine = self.reactions[str(actor_id)]
        mine.remove(reaction)
        if not mine:
            del self.reactions[str(actor_id)]
