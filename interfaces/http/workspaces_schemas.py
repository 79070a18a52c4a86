"""Request and response models of the workspace endpoints (members and invitations too)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator

from interfaces.http.schemas import TEXT_BLOCK, JsonObject, Name, Strict

Description = Annotated[str, StringConstraints(max_length=10_000), TEXT_BLOCK]


class WorkspaceCreate(Strict):
    name: Name
    description: Description | None = None
    settings: JsonObject = Field(default_factory=dict)


class WorkspaceUpdate(Strict):
    name: Name | None = None
    description: Description | None = None
    settings: JsonObject | None = None


class WorkspaceOut(BaseModel):
    id: UUID
    name: str
    description: str | None
    owner_id: UUID
    settings: dict[str, Any]
    is_active: bool
    created_at: datetime
    updated_at: datetime
    version: int
    role: str = Field(description="the caller's role in this workspace")


def to_out(row: dict[str, Any]) -> WorkspaceOut:
    return WorkspaceOut(**row, role=row["my_role"])


Role = Literal["owner", "admin", "member", "viewer"]


class WorkspaceMemberOut(BaseModel):
    user_id: UUID
    role: str
    joined_at: datetime
    name: str
    email: str
    avatar_url: str | None = None


class WorkspaceMemberAdd(Strict):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={  # exactly one of them given (present and not null)
            "oneOf": [
                {"required": [name], "properties": {name: {"not": {"type": "null"}}}}
                for name in ("user_id", "email")
            ]
        },
    )
    user_id: UUID | None = None
    email: EmailStr | None = Field(default=None, max_length=254)
    role: Role = "member"

    @model_validator(mode="after")
    def _one_of(self) -> WorkspaceMemberAdd:
        if (self.user_id is None) == (self.email is None):
            raise ValueError("give exactly one of user_id or email")
        return self


class MemberRole(Strict):
    role: Role


class InviteCreate(Strict):
    email: EmailStr = Field(max_length=254)
    role: Role = "member"


class InviteOut(BaseModel):
    invite_id: UUID
    workspace_id: UUID
    email: str
    role: str
    expires_at: datetime
    token: str = Field(description="single-use; also sent to the invitee by e-mail")
    accept_url: str
