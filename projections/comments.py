"""Comments read model."""

from __future__ import annotations

from projections.base import Projection


class CommentsProjection(Projection):
    name = "comments"
    tables = ("comments", "comment_reactions", "card_comments")
