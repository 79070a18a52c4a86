"""Request and response models of the comment endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, Field, StringConstraints

from interfaces.http.files_schemas import AttachmentSummary
from interfaces.http.schemas import TEXT_BLOCK, Strict

Content = Annotated[
    str,
    StringConstraints(min_length=1, max_length=20_000),
    TEXT_BLOCK,
    Field(description="HTML; only a small safe set of tags is kept"),
]
Reaction = Literal["like", "love", "laugh", "wow", "sad", "celebrate"]


class CommentCreate(Strict):
    content: Content
    parent_comment_id: UUID | None = Field(
        default=None, description="reply to this comment (on the same object)"
    )


class CommentUpdate(Strict):
    content: Content


class ReactionCreate(Strict):
    reaction: Reaction


class ReactionSummary(BaseModel):
    reaction: str
    count: int
    reacted: bool = Field(description="whether the caller reacted so")


class CommentOut(BaseModel):
    id: UUID
    workspace_id: UUID
    commentable_type: str
    commentable_id: UUID
    user_id: UUID | None
    content: str
    parent_comment_id: UUID | None
    is_edited: bool
    edited_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
    reactions: list[ReactionSummary]
    attachments: list[AttachmentSummary] = Field(
        default_factory=list, description="files attached to it, oldest first"
    )
