"""Request and response models of the kanban endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from interfaces.http.schemas import (
    TEXT_BLOCK,
    TEXT_LINE,
    JsonObject,
    Name,
    Strict,
    cents,
    stripped_line,
)

Text = Annotated[str, StringConstraints(max_length=20_000), TEXT_BLOCK]
Color = Annotated[str, StringConstraints(pattern=r"^#[0-9A-Fa-f]{6}$")]
Reason = stripped_line(3, 500)
Label = Annotated[str, StringConstraints(max_length=50), TEXT_LINE]
Priority = Literal["low", "medium", "high", "urgent"]
Hours = cents(3)
Position = Annotated[int, Field(ge=0, le=100_000)]


class ColumnSpec(Strict):
    name: Name
    color: Color | None = None
    wip_limit: int | None = Field(default=None, ge=1, le=10_000)
    is_done_column: bool = False


class BoardCreate(Strict):
    name: Name
    description: Text | None = None
    settings: JsonObject = Field(default_factory=dict)
    columns: list[ColumnSpec] = Field(default_factory=list, max_length=50)


class BoardUpdate(Strict):
    name: Name | None = None
    description: Text | None = None
    settings: JsonObject | None = None


class ColumnCreate(ColumnSpec):
    position: Position | None = Field(default=None, description="default: last")


class ColumnUpdate(Strict):
    name: Name | None = None
    color: Color | None = None
    wip_limit: int | None = Field(default=None, ge=1, le=10_000)
    is_done_column: bool | None = None


class ColumnPosition(Strict):
    position: Position


class CardFields(Strict):
    title: Name
    description: Text | None = None
    priority: Priority = "medium"
    due_date: datetime | None = None
    estimated_hours: Hours | None = None
    assignee_id: UUID | None = None
    labels: list[Label] = Field(default_factory=list, max_length=50)


class CardCreate(CardFields):
    position: Position | None = Field(default=None, description="default: last")
    wip_override_reason: Reason | None = Field(
        default=None, description="exceed the column's WIP limit, with a reason"
    )


class CardUpdate(Strict):
    title: Name | None = None
    description: Text | None = None
    priority: Priority | None = None
    due_date: datetime | None = None
    estimated_hours: Hours | None = None
    assignee_id: UUID | None = None
    labels: list[Label] | None = Field(default=None, max_length=50)
    is_archived: bool | None = Field(default=None, description="archive or restore the card")


def _at_most_one(*names: str) -> dict[str, Any]:
    """JSON Schema: no two of ``names`` both given (present and not null)."""
    given = {"not": {"type": "null"}}
    pairs = [(a, b) for i, a in enumerate(names) for b in names[i + 1 :]]
    return {
        "not": {
            "anyOf": [{"required": [a, b], "properties": {a: given, b: given}} for a, b in pairs]
        }
    }


class CardMove(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra=_at_most_one("position", "before_card_id", "after_card_id"),
    )
    column_id: UUID
    position: Position | None = Field(
        default=None, description="index in the target column; default: last"
    )
    before_card_id: UUID | None = None
    after_card_id: UUID | None = None
    wip_override_reason: Reason | None = None

    @model_validator(mode="after")
    def _one_target(self) -> CardMove:
        given = [
            x for x in (self.position, self.before_card_id, self.after_card_id) if x is not None
        ]
        if len(given) > 1:
            raise ValueError("give at most one of position, before_card_id, after_card_id")
        return self


class CardOut(BaseModel):
    id: UUID
    board_id: UUID
    column_id: UUID | None
    project_id: UUID | None
    title: str
    description: str | None
    position: int
    priority: str
    due_date: datetime | None
    estimated_hours: float | None
    actual_hours: float | None
    assignee_id: UUID | None
    created_by: UUID | None
    labels: list[Any]
    is_archived: bool = False
    attachments: list[Any] = Field(
        description="the card's attachments: id, file_id, name, mime_type, file_size,"
        " attached_by, attached_at"
    )
    attachments_count: int = 0
    completed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class ColumnOut(BaseModel):
    id: UUID
    board_id: UUID
    name: str
    position: int
    color: str | None
    wip_limit: int | None
    is_done_column: bool
    created_at: datetime
    updated_at: datetime
    version: int
    card_count: int | None = None


class ColumnWithCards(ColumnOut):
    cards: list[CardOut]


class BoardOut(BaseModel):
    id: UUID
    project_id: UUID
    workspace_id: UUID
    name: str
    description: str | None
    settings: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    version: int
    role: str = Field(description="the caller's role in the board's workspace")


class BoardDetail(BoardOut):
    columns: list[ColumnWithCards]


class CardActivityOut(BaseModel):
    id: UUID
    card_id: UUID
    user_id: UUID | None
    action: str
    details: dict[str, Any]
    created_at: datetime
    position: int
