"""Request and response models of the notification endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StringConstraints, model_validator

from interfaces.http.schemas import Strict, not_null

NotificationType = Literal[
    "assigned",
    "mention",
    "comment",
    "reply",
    "workspace_added",
    "project_added",
    "due_soon",
    "milestone_completed",
    "milestone_overdue",
    "resource_conflict",
    "export_ready",
    "webhook_disabled",
]
Digest = Literal["immediate", "hourly", "daily", "off"]
Order = Literal["unread", "time"]
UnsubscribeToken = Annotated[
    str, StringConstraints(min_length=43, max_length=43, pattern=r"^[A-Za-z0-9_-]{43}$")
]


class NotificationOut(BaseModel):
    id: UUID
    user_id: UUID
    workspace_id: UUID | None
    type: str
    title: str
    message: str | None
    data: dict[str, Any]
    is_read: bool
    read_at: datetime | None
    created_at: datetime


class NotificationPage(BaseModel):
    data: list[NotificationOut]
    next_cursor: str | None = None
    unread_count: int = Field(description="the caller's unread notifications, whatever the filter")


class MarkedRead(BaseModel):
    marked: int = Field(description="how many were unread and are now read")
    unread_count: int


class NoNulls(Strict):
    """A field may be left out, never null."""

    @model_validator(mode="after")
    def _present_not_null(self) -> NoNulls:
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} may not be null")
        return self


class TypeSwitches(NoNulls):
    """On or off per notification type; types left out keep their setting."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=not_null(*NotificationType.__args__),  # type: ignore[attr-defined]
    )
    assigned: StrictBool | None = None
    mention: StrictBool | None = None
    comment: StrictBool | None = None
    reply: StrictBool | None = None
    workspace_added: StrictBool | None = None
    project_added: StrictBool | None = None
    due_soon: StrictBool | None = None
    milestone_completed: StrictBool | None = None
    milestone_overdue: StrictBool | None = None
    resource_conflict: StrictBool | None = None
    export_ready: StrictBool | None = None

    def changes(self) -> dict[str, bool]:
        return self.model_dump(exclude_unset=True)


class PreferencesUpdate(NoNulls):
    """Only what is present changes."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra=not_null("in_app", "email", "digest")
    )
    in_app: TypeSwitches | None = Field(default=None, description="types shown in the app")
    email: TypeSwitches | None = Field(default=None, description="types sent by e-mail")
    digest: Digest | None = Field(
        default=None,
        description="e-mail at once, in an hourly or daily digest (UTC hours), or never",
    )


class PreferencesOut(BaseModel):
    in_app: dict[str, bool]
    email: dict[str, bool]
    digest: str
    digest_until: datetime | None = None


class Unsubscribed(BaseModel):
    digest: str = "off"


def to_out(row: dict[str, Any]) -> NotificationOut:
    return NotificationOut(**{**row, "data": row["data"] or {}})
