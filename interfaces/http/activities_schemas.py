"""Response models of the activity feed (a workspace's, and a project's)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from pydantic import BaseModel

from interfaces.http.pagination import Page, paginate


class ActivityOut(BaseModel):
    id: UUID
    workspace_id: UUID
    project_id: UUID | None
    user_id: UUID | None
    action: str
    object_type: str
    object_id: UUID
    details: dict[str, Any]
    created_at: datetime
    position: int


def feed_page(rows: list[dict[str, Any]], limit: int) -> Page[ActivityOut]:
    """Rows fetched with limit+1, newest first: the page and the cursor to the older ones."""
    data, cursor = paginate(rows, limit, lambda r: (r["position"],))
    return Page[ActivityOut](data=[ActivityOut(**r) for r in data], next_cursor=cursor)
