"""/auth: register, login, me."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from anyio import to_thread
from fastapi import APIRouter, status
from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

from application.errors import NotFound
from interfaces.http.deps import Conn, ContainerDep, CurrentUser, run_command
from projections.identity import get_user

router = APIRouter(prefix="/auth", tags=["auth"])

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=255)]


class RegisterBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: EmailStr = Field(max_length=255)
    password: str = Field(min_length=8, max_length=72, description="8 to 72 bytes (bcrypt's limit)")
    name: Name

    @field_validator("password")
    @classmethod
    def _bcrypt_limit(cls, value: str) -> str:
        if len(value.encode()) > 72:
            raise ValueError("password must be at most 72 bytes in UTF-8")
        return value


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    email: EmailStr = Field(max_length=255)
    password: str = Field(min_length=1, max_length=72)


class UserOut(BaseModel):
    id: UUID
    email: str
    name: str
    avatar_url: str | None = None
    role: str
    is_active: bool
    email_verified: bool
    created_at: datetime
    updated_at: datetime
    version: int


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "Bearer"  # noqa: S105
    expires_in: int
    user: UserOut


@router.post("/register", status_code=status.HTTP_201_CREATED, response_model=TokenOut)
async def register(body: RegisterBody, container: ContainerDep) -> TokenOut:
    identity = container.identity
    saved, _ = await run_command(container, identity.register, body.email, body.password, body.name)
    user = saved.value  # the new User aggregate: the answer needs no read-back
    pair = identity.tokens.issue(user.id)
    out = UserOut(
        id=user.id,
        email=user.email,
        name=user.name,
        avatar_url=user.avatar_url,
        role=user.role,
        is_active=user.is_active,
        email_verified=user.email_verified,
        created_at=user.created_on,
        updated_at=user.modified_on,
        version=user.version,
    )
    return TokenOut(access_token=pair.access_token, expires_in=pair.expires_in, user=out)


@router.post("/login", response_model=TokenOut)
async def login(body: LoginBody, container: ContainerDep, conn: Conn) -> TokenOut:
    user_id, pair = await to_thread.run_sync(
        container.identity.authenticate, body.email, body.password
    )
    user = await get_user(conn, user_id)
    if user is None:
        raise NotFound("user not found")
    return TokenOut(
        access_token=pair.access_token, expires_in=pair.expires_in, user=UserOut(**user)
    )


@router.get("/me", response_model=UserOut)
async def me(caller: CurrentUser) -> UserOut:
    return UserOut(**caller.row)
